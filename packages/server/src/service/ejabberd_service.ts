import { createHash, timingSafeEqual } from 'node:crypto';
import type { Socket } from 'node:net';
import { type Jid, nameprep, parse } from '@tsjabberd/jid';
import type { EjabberdNode, Logger, RouteProcess } from '@tsjabberd/router';
import { make_error_reply, stanza_error } from '@tsjabberd/router';
import { crypt, get_attr_s, type XmlAttr, type XmlElement } from '@tsjabberd/xml-stanza';
import { Shaper } from '../c2s/shaper.js';
import { accessAllows, shaperFor } from '../config/acl.js';
import type { ServerConfig, ServiceListenerConfig } from '../config/types.js';
import { NS_STREAM, XmppStreamIn } from '../net/xmpp_stream_in.js';

/** XEP-0114: the namespace of a component's stream to the server. */
export const NS_COMPONENT = 'jabber:component:accept';

/** The content namespaces a routed stanza may carry from the stream it came in on. */
const STREAM_CONTENT_NAMESPACES = ['jabber:client', 'jabber:server', NS_COMPONENT];

/** What a component connection needs from the server around it. */
export interface ServiceContext {
  node: EjabberdNode;
  config: ServerConfig;
  listener: ServiceListenerConfig;
  log: Logger;
  /** Every open component connection, so shutdown can close them. */
  connections: Set<ServiceConnection>;
}

type State = 'wait_for_stream' | 'wait_for_handshake' | 'registering' | 'established' | 'closed';

function el(name: string, attrs: XmlAttr[] = [], children: XmlElement[] = []): XmlElement {
  return ['xmlelement', name, attrs, children];
}

function cdataOf(packet: XmlElement): string {
  let s = '';
  for (const child of packet[3]) if (child[0] === 'xmlcdata') s += child[1];
  return s;
}

function parseJid(s: string): Jid | undefined {
  try {
    return parse(s);
  } catch {
    return undefined;
  }
}

/**
 * ejabberd_service: one external component connection (XEP-0114, `jabber:component:accept`).
 *
 * The component opens a stream to its own domain; the server answers with a stream id; the component
 * proves the shared secret with `<handshake>` = hex SHA-1(stream id + secret). From then on the
 * component's domains are global routes leading to this connection (ejabberd's `global_routes: true`:
 * every host of the listener's `hosts` when the component connected for one of them), and what the
 * component sends is routed with the `from` it names, which must be in one of its domains
 * (`check_from`). When the connection ends the routes go, and packets for the domain bounce again.
 */
export class ServiceConnection extends XmppStreamIn<State> implements RouteProcess {
  /** The domain the component asked for in its stream header. */
  private domain = '';
  /** The domains it is routed as, once the handshake is done. */
  private routes: string[] = [];
  private registered = false;
  private password = '';
  /** Stanzas the component sent while its routes were being registered. */
  private readonly early: XmlElement[] = [];

  constructor(
    socket: Socket,
    private readonly ctx: ServiceContext,
  ) {
    super(socket, {
      log: ctx.log,
      logPrefix: 'service',
      namespace: NS_COMPONENT,
      // A conflict here is two components claiming one domain: worth a warning.
      quietErrors: ['system-shutdown'],
      overflowReason: 'Too many stanzas queued for a component that does not read',
      listener: ctx.listener,
    });
    ctx.connections.add(this);
  }

  /** How the packet trace names this route. */
  get name(): string {
    return `component ${this.domain}`;
  }

  /** The domains routed to this component (empty before the handshake). */
  get domains(): readonly string[] {
    return this.registered ? this.routes : [];
  }

  protected identity(): string {
    return this.domain;
  }

  protected streamHeader(): string {
    return (
      `<?xml version='1.0'?><stream:stream xmlns:stream='${NS_STREAM}' xmlns='${NS_COMPONENT}' id='${this.streamId}'` +
      `${this.domain === '' ? '' : ` from='${crypt(this.domain)}'`}>`
    );
  }

  protected streamEnd(): void {
    this.close('the component closed its stream');
  }

  /** The routes go at once, so nothing more is routed into the closing stream. */
  protected onClosing(): void {
    this.unregister();
  }

  protected onClosed(): void {
    this.unregister();
    this.early.length = 0;
    this.ctx.connections.delete(this);
  }

  /** ejabberd_service:terminate: the component's routes go (once). */
  private unregister(): void {
    if (!this.registered) return;
    this.registered = false;
    const router = this.ctx.node.ejabberd_router;
    for (const domain of this.routes) {
      router
        .unregister_route(domain)
        .catch((e) =>
          this.ctx.log.error(`service ${this.who()}: unregistering ${domain} failed: ${String(e)}`),
        );
    }
    this.ctx.log.info(`service ${this.who()}: component disconnected; ${this.routes.join(', ')} unrouted`);
  }

  // ---- RouteProcess: packets for the component's domains ------------------------------------------

  route(from: Jid, to: Jid, packet: XmlElement): void {
    const router = this.ctx.node.ejabberd_router;
    if (this.state !== 'established' || this.closing) {
      router.route_error(
        from,
        to,
        packet,
        stanza_error('service-unavailable', `${to.lserver} is disconnecting`),
      );
      return;
    }
    // ejabberd_service handle_info({route, ...}): the listener's access rule, on the sender.
    if (!accessAllows(this.ctx.config, this.ctx.listener.access, from.luser, from.lserver)) {
      router.route_error(from, to, packet, stanza_error('not-allowed', 'Access denied by service policy'));
      return;
    }
    const attrs: XmlAttr[] = [
      ['from', from.toString()],
      ['to', to.toString()],
    ];
    for (const attr of packet[2]) {
      if (attr[0] === 'from' || attr[0] === 'to') continue;
      if (attr[0] === 'xmlns' && STREAM_CONTENT_NAMESPACES.includes(attr[1])) continue;
      attrs.push(attr);
    }
    this.sendElement(['xmlelement', packet[1], attrs, packet[3]]);
  }

  // ---- input -----------------------------------------------------------------------------------

  protected streamStart(name: string, attrs: XmlAttr[]): void {
    if (!this.validStreamRoot(name, attrs)) return;
    const rawTo = get_attr_s('to', attrs);
    const to = rawTo === '' ? 'error' : nameprep(rawTo);
    if (to === 'error' || to === '') {
      this.streamError(
        'host-unknown',
        rawTo === '' ? 'The stream header has no to' : `${rawTo} is not a domain`,
      );
      return;
    }
    const { listener, config } = this.ctx;
    this.domain = to;
    const configured = Object.keys(listener.hosts);
    if (config.hosts.includes(to)) {
      // ejabberd: is_my_host(Domain) -> serr_conflict.
      this.streamError('conflict', 'Unable to register route on existing local domain');
      return;
    }
    if (Object.hasOwn(listener.hosts, to)) {
      this.password = listener.hosts[to];
      this.routes = configured;
    } else if (configured.length === 0 && listener.password !== undefined) {
      // No `hosts`: the listener's password admits any domain (ejabberd's `global` entry).
      this.password = listener.password;
      this.routes = [to];
    } else {
      this.streamError('host-unknown', `${to} is not a component domain configured on this listener`);
      return;
    }
    const taken = this.takenRoute();
    if (taken !== undefined) {
      this.streamError('conflict', `${taken} is already connected or served here`);
      return;
    }
    const shaper = shaperFor(config, listener.shaper, '', to);
    this.shaper = shaper === undefined ? undefined : new Shaper(shaper);
    this.state = 'wait_for_handshake';
    this.sendHeader();
  }

  /** A domain of this component that some other process already routes on this node. */
  private takenRoute(): string | undefined {
    const router = this.ctx.node.ejabberd_router;
    return this.routes.find((d) => this.ctx.config.hosts.includes(d) || router.is_my_route(d));
  }

  protected element(packet: XmlElement): void {
    if (this.state === 'closed' || this.closing) return;
    switch (this.state) {
      case 'wait_for_handshake':
        this.handshake(packet);
        return;
      case 'registering':
        this.early.push(packet);
        if (this.early.length > this.ctx.listener.max_fsm_queue)
          this.streamError('policy-violation', 'Too many stanzas before the handshake completed');
        return;
      case 'established':
        this.stanza(packet);
        return;
      default:
        return;
    }
  }

  private handshake(packet: XmlElement): void {
    if (packet[1] !== 'handshake') {
      this.streamError('not-authorized', `<${packet[1]}/> before the handshake`);
      return;
    }
    const expected = createHash('sha1')
      .update(this.streamId + this.password)
      .digest('hex');
    const given = Buffer.from(cdataOf(packet).trim().toLowerCase());
    if (given.length !== expected.length || !timingSafeEqual(given, Buffer.from(expected))) {
      this.ctx.log.info(`service ${this.who()}: failed handshake`);
      this.streamError('not-authorized', 'Invalid handshake');
      return;
    }
    const taken = this.takenRoute();
    if (taken !== undefined) {
      this.streamError('conflict', `${taken} is already connected or served here`);
      return;
    }
    this.state = 'registering';
    this.register().catch((e) => {
      this.ctx.log.error(`service ${this.who()}: registering routes failed: ${String(e)}`);
      this.streamError('internal-server-error', 'The routes could not be registered');
    });
  }

  /** ejabberd_service:handle_auth_success: every route, then `<handshake/>`. */
  private async register(): Promise<void> {
    const router = this.ctx.node.ejabberd_router;
    const done: string[] = [];
    try {
      for (const domain of this.routes) {
        await router.register_route(domain, this);
        done.push(domain);
        if ((this.state as State) === 'closed' || this.closing) break;
      }
    } catch (e) {
      for (const d of done) await router.unregister_route(d).catch(() => {});
      if (router.is_my_route(this.routes[done.length] ?? '')) {
        // Another connection took it between the check and now.
        this.streamError('conflict', `${this.routes[done.length]} is already connected`);
        return;
      }
      throw e;
    }
    this.registered = true;
    if ((this.state as State) === 'closed' || this.closing) {
      this.unregister();
      return;
    }
    this.negotiated();
    this.ctx.log.info(
      `service ${this.who()}: component authenticated; routing ${this.routes.join(', ')} to it`,
    );
    this.sendElement(el('handshake'));
    for (const p of this.early.splice(0)) this.stanza(p);
  }

  /** ejabberd_service:handle_authenticated_packet. */
  private stanza(packet: XmlElement): void {
    if (this.state !== 'established' || this.closing) return;
    const name = packet[1];
    if (name !== 'message' && name !== 'presence' && name !== 'iq') {
      this.streamError('unsupported-stanza-type', `<${name}/> is not a stanza`);
      return;
    }
    const fromAttr = get_attr_s('from', packet[2]);
    const toAttr = get_attr_s('to', packet[2]);
    const from = fromAttr === '' ? undefined : parseJid(fromAttr);
    if (from === undefined) {
      this.bounce(packet, fromAttr === '' ? "Missing 'from' attribute" : `${fromAttr} is not a valid JID`);
      return;
    }
    if (this.ctx.listener.check_from && !this.routes.includes(from.lserver)) {
      this.streamError('invalid-from', `Improper domain part of 'from' attribute: ${fromAttr}`);
      return;
    }
    const to = toAttr === '' ? undefined : parseJid(toAttr);
    if (to === undefined) {
      this.bounce(packet, toAttr === '' ? "Missing 'to' attribute" : `${toAttr} is not a valid JID`);
      return;
    }
    const attrs = packet[2].filter((a) => !(a[0] === 'xmlns' && a[1] === NS_COMPONENT));
    this.ctx.node.route(from, to, ['xmlelement', name, attrs, packet[3]]);
  }

  /** A jid-malformed error back to the component (never for an error or a result). */
  private bounce(packet: XmlElement, text: string): void {
    const type = get_attr_s('type', packet[2]);
    if (type === 'error' || type === 'result') return;
    this.sendElement(make_error_reply(packet, stanza_error('jid-malformed', text)));
  }
}
