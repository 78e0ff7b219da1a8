/**
 * The client side of XEP-0114 (Jabber Component Protocol): a `Component` connects to an XMPP server's
 * component port, authenticates with `<handshake/>` and then exchanges stanzas with the server as the
 * domain it was given. Behind the stream it hosts a small `EjabberdNode` serving that one domain, so a
 * `GenModule` written for tsjabberd (IQ handlers with every discipline, hooks, routes, stanza errors)
 * runs on the component unchanged:
 *
 *   server router -> component stream -> socket -> node.ejabberd_router.route -> module
 *   module -> ctx.route -> node router (no local route) -> "s2s" = the component stream -> server
 */
import { createHash, randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { connect as netConnect, type Socket } from 'node:net';
import { type ConnectionOptions, connect as tlsConnect } from 'node:tls';
import { type Jid, parse } from '@tsjabberd/jid';
import {
  EjabberdNode,
  type EjabberdRouter,
  type GenModule,
  type Logger,
  MemoryLogger,
  type PacketTrace,
  type S2sManager,
  stanza_error,
} from '@tsjabberd/router';
import {
  crypt,
  element_to_string,
  get_attr_s,
  replace_tag_attr,
  type XmlElement,
} from '@tsjabberd/xml-stanza';
import { XmlStream } from '@tsjabberd/xml-stream';

export const NS_COMPONENT = 'jabber:component:accept';
const NS_STREAMS = 'urn:ietf:params:xml:ns:xmpp-streams';

/** XEP-0114's handshake: lowercase hex SHA-1 of the stream id followed by the shared secret. */
export function handshake_digest(streamId: string, secret: string): string {
  return createHash('sha1')
    .update(streamId + secret, 'utf8')
    .digest('hex');
}

export interface ComponentOptions {
  /** The server to connect to (its component listener). */
  host: string;
  port: number;
  /** The component's domain: the server routes every packet for it (and its subdomains' JIDs) here. */
  domain: string;
  /** The secret shared with the server (`component_secret`, ejabberd_service's `password`). */
  secret: string;
  /** TLS from the first byte (the component port is usually plain TCP on loopback). */
  tls?: boolean | ConnectionOptions;
  /** Reconnect after a lost connection (default true). */
  reconnect?: boolean;
  /** First reconnect delay in ms (default 500); doubles each failed attempt. */
  backoffMin?: number;
  /** Largest reconnect delay in ms (default 30 000). */
  backoffMax?: number;
  /** The delay is multiplied by a random factor in [1 - jitter, 1] (default 0.3). */
  jitter?: number;
  /**
   * Whether to keep retrying after the server refused the component itself (stream errors
   * `not-authorized`: wrong secret, `conflict`: domain already connected, `host-unknown`: domain not
   * configured). Default false: these are configuration errors; an `error` event is emitted and
   * the component stops.
   */
  retryOnAuthError?: boolean;
  /** How long the connect + handshake may take, in ms (default 10 000). */
  connectTimeout?: number;
  log?: Logger;
  /** The hosted node (default: a new `EjabberdNode` with `hosts: [domain]`). */
  node?: (s2s: (router: EjabberdRouter, trace: PacketTrace) => S2sManager) => EjabberdNode;
}

export interface ComponentEvents {
  /** The handshake succeeded: stanzas flow. */
  online: [];
  /** The connection was lost (or closed by `stop()`). */
  offline: [reason: string];
  /** A connection attempt failed or the server refused the component; `condition` is the stream error's. */
  error: [error: Error & { condition?: string }];
  /** A reconnect is scheduled in `delay` ms (attempt counts failed attempts since the last success). */
  reconnecting: [delay: number, attempt: number];
  /** A stanza arrived from the server (before it is routed into the node). */
  stanza: [packet: XmlElement];
}

const AUTH_ERRORS = new Set(['not-authorized', 'conflict', 'host-unknown']);

type Status = 'idle' | 'connecting' | 'online' | 'waiting' | 'stopped';

/**
 * An external component: `await component.start()` connects (and keeps reconnecting); modules are
 * started with `component.start_module(mod, opts)`, before or after connecting.
 */
export class Component extends EventEmitter<ComponentEvents> {
  readonly domain: string;
  readonly node: EjabberdNode;
  private readonly options: ComponentOptions;
  private socket: Socket | undefined;
  private status: Status = 'idle';
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;
  /** True while the domain is routed to ejabberd_local by us (not by a module). */
  private localRoute = false;
  private nodeStarted = false;
  /** Rejects the pending `start()` when `stop()` comes first. */
  private abandon: ((e: Error) => void) | undefined;

  constructor(options: ComponentOptions) {
    super();
    this.options = options;
    this.domain = options.domain.toLowerCase();
    const s2s = (router: EjabberdRouter, trace: PacketTrace): S2sManager => ({
      route: (from, to, packet) => this.send_out(router, trace, from, to, packet),
    });
    this.node =
      options.node?.(s2s) ??
      new EjabberdNode({ hosts: [this.domain], log: options.log ?? new MemoryLogger(), s2s });
  }

  get online(): boolean {
    return this.status === 'online';
  }

  /**
   * `gen_mod:start_module(Domain, Module, Opts)` on the hosted node. The component's domain is routed
   * to ejabberd_local (IQ handlers, hooks) unless a module registers a route for the domain itself:
   * mod_echo does, with `{ host: <the component's domain> }`.
   */
  async start_module<O extends object>(module: GenModule<O>, opts: Partial<O> = {}): Promise<O> {
    await this.start_node();
    if (this.localRoute) {
      await this.node.ejabberd_router.unregister_route(this.domain);
      this.localRoute = false;
    }
    try {
      return await this.node.gen_mod.start_module(this.domain, module, opts);
    } finally {
      await this.ensure_local_route();
    }
  }

  async stop_module(name: string): Promise<void> {
    await this.node.gen_mod.stop_module(this.domain, name);
    await this.ensure_local_route();
  }

  private async start_node(): Promise<void> {
    if (this.nodeStarted) return;
    this.nodeStarted = true;
    await this.ensure_local_route();
  }

  private async ensure_local_route(): Promise<void> {
    if (this.node.ejabberd_router.is_my_route(this.domain)) return;
    await this.node.ejabberd_router.register_route(this.domain, this.node.ejabberd_local);
    this.localRoute = true;
  }

  /** Connects; resolves once online, or rejects if the first attempt fails for good (auth errors). */
  async start(): Promise<void> {
    if (this.status !== 'idle' && this.status !== 'stopped') return;
    await this.start_node();
    this.status = 'connecting';
    this.attempt = 0;
    await new Promise<void>((resolve, reject) => {
      const onOnline = () => {
        this.off('error', onError);
        this.abandon = undefined;
        resolve();
      };
      this.abandon = (e) => {
        this.off('online', onOnline);
        this.off('error', onError);
        reject(e);
      };
      const onError = (e: Error & { condition?: string }) => {
        if (this.status === 'stopped') {
          this.off('online', onOnline);
          this.off('error', onError);
          this.abandon = undefined;
          reject(e);
        }
      };
      this.once('online', onOnline);
      this.on('error', onError);
      this.connect();
    });
  }

  /** Closes the stream, stops reconnecting and stops every module. */
  async stop(): Promise<void> {
    this.halt();
    await this.node.gen_mod.stop_all();
    if (this.localRoute) await this.node.ejabberd_router.unregister_route(this.domain);
    this.localRoute = false;
    this.nodeStarted = false;
  }

  /** Stops connecting without touching the node. */
  private halt(): void {
    const was = this.status;
    this.status = 'stopped';
    const abandon = this.abandon;
    this.abandon = undefined;
    abandon?.(new Error(`component ${this.domain} stopped before it was online`));
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const socket = this.socket;
    this.socket = undefined;
    if (socket !== undefined) {
      if (was === 'online') socket.end('</stream:stream>');
      socket.destroy();
      if (was === 'online') this.emit('offline', 'stopped');
    }
  }

  /** For tests: drop the TCP connection as a network failure would (the component reconnects). */
  drop(): void {
    this.socket?.destroy();
  }

  private connect(): void {
    const { host, port, tls } = this.options;
    const socket: Socket = tls
      ? tlsConnect({ host, port, servername: host, ...(typeof tls === 'object' ? tls : {}) })
      : netConnect({ host, port });
    this.socket = socket;
    socket.setNoDelay(true);
    let streamId: string | undefined;
    let failed = false;
    const timeout = setTimeout(
      () => fail(new Error(`no handshake with ${host}:${port} after ${this.connectTimeout()} ms`)),
      this.connectTimeout(),
    );
    const fail = (error: Error & { condition?: string }) => {
      if (failed || this.socket !== socket) return;
      failed = true;
      clearTimeout(timeout);
      const wasOnline = this.status === 'online';
      this.socket = undefined;
      socket.destroy();
      if (this.status === 'stopped') return;
      if (wasOnline) this.emit('offline', error.message);
      const fatal = error.condition !== undefined && AUTH_ERRORS.has(error.condition);
      const retry = this.options.reconnect !== false && (!fatal || this.options.retryOnAuthError === true);
      if (!retry) this.status = 'stopped';
      else this.status = 'waiting';
      this.emit('error', error);
      if (retry) this.schedule();
    };
    const parser = new XmlStream({
      xmlstreamstart: (_name, attrs) => {
        streamId = attrs.find(([k]) => k === 'id')?.[1];
        if (streamId === undefined) {
          fail(new Error('the server opened its stream without an id: no handshake possible'));
          return;
        }
        socket.write(`<handshake>${handshake_digest(streamId, this.options.secret)}</handshake>`);
      },
      xmlstreamelement: (el) => {
        if (el[1] === 'handshake' && this.status !== 'online') {
          clearTimeout(timeout);
          this.status = 'online';
          this.attempt = 0;
          this.emit('online');
          return;
        }
        if (el[1] === 'stream:error' || (el[1] === 'error' && get_attr_s('xmlns', el[2]) === NS_STREAMS)) {
          const children = el[3].filter((c): c is XmlElement => c[0] === 'xmlelement');
          const condition = children.find(
            (c) => c[1] !== 'text' && get_attr_s('xmlns', c[2]) === NS_STREAMS,
          )?.[1];
          const text = children
            .find((c) => c[1] === 'text')?.[3]
            .map((n) => (n[0] === 'xmlcdata' ? n[1] : ''))
            .join('');
          const err: Error & { condition?: string } = new Error(
            `stream error from ${host}:${port}: ${condition ?? 'undefined-condition'}${text ? ` (${text})` : ''}`,
          );
          err.condition = condition ?? 'undefined-condition';
          fail(err);
          return;
        }
        if (this.status === 'online') this.receive(el);
      },
      xmlstreamend: () => fail(new Error(`${host}:${port} closed the stream`)),
      xmlstreamerror: (e) => fail(new Error(`bad XML from ${host}:${port}: ${e.reason}`)),
    });
    socket.once(tls ? 'secureConnect' : 'connect', () => {
      socket.write(
        `<?xml version='1.0'?><stream:stream xmlns='${NS_COMPONENT}' xmlns:stream='http://etherx.jabber.org/streams' to='${crypt(this.domain)}'>`,
      );
    });
    socket.on('data', (d: Buffer) => parser.write(d));
    socket.on('error', (e) => fail(e));
    socket.on('close', () => fail(new Error(`connection to ${host}:${port} closed`)));
  }

  private connectTimeout(): number {
    return this.options.connectTimeout ?? 10_000;
  }

  /** Exponential backoff, bounded, with jitter. */
  private schedule(): void {
    const min = this.options.backoffMin ?? 500;
    const max = this.options.backoffMax ?? 30_000;
    const jitter = Math.min(Math.max(this.options.jitter ?? 0.3, 0), 1);
    const base = Math.min(max, min * 2 ** this.attempt);
    const delay = Math.round(base * (1 - jitter * Math.random()));
    this.attempt++;
    this.emit('reconnecting', delay, this.attempt);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.status !== 'waiting') return;
      this.status = 'connecting';
      this.connect();
    }, delay);
  }

  /** A stanza from the server: into the node's router, as ejabberd_service does with its stanzas. */
  private receive(el: XmlElement): void {
    if (el[1] !== 'message' && el[1] !== 'presence' && el[1] !== 'iq') return;
    this.emit('stanza', el);
    let from: Jid;
    let to: Jid;
    try {
      from = parse(get_attr_s('from', el[2]));
      to = parse(get_attr_s('to', el[2]));
    } catch (e) {
      this.node.log.warning(`component: dropping a stanza with a bad address: ${String(e)}`);
      return;
    }
    const packet: XmlElement = ['xmlelement', el[1], el[2].filter(([k]) => k !== 'xmlns'), el[3]];
    this.node.ejabberd_router.route(from, to, packet);
  }

  /** The node's s2s: every packet for a domain the node does not serve goes out on the stream. */
  private send_out(router: EjabberdRouter, trace: PacketTrace, from: Jid, to: Jid, packet: XmlElement): void {
    const socket = this.socket;
    if (this.status !== 'online' || socket === undefined) {
      trace.end(packet, 'component stream (offline: bounced)');
      router.route_error(
        from,
        to,
        packet,
        stanza_error('remote-server-not-found', `the component ${this.domain} is not connected`),
      );
      return;
    }
    trace.end(packet, `component stream to ${this.options.host}:${this.options.port}`);
    const out = replace_tag_attr('to', to.toString(), replace_tag_attr('from', from.toString(), packet));
    socket.write(element_to_string(out));
  }
}

/** A random secret, for tests and examples. */
export function random_secret(): string {
  return randomBytes(12).toString('hex');
}
