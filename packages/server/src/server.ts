import { createServer as createTcpServer, type Server as NetServer, type Socket } from 'node:net';
import { createSecureContext, createServer as createTlsServer, type SecureContext } from 'node:tls';
import { parse } from '@tsjabberd/jid';
import { mod_cputime } from '@tsjabberd/mod_cputime';
import { consoleLogger, EjabberdNode, type GenModule, type Logger } from '@tsjabberd/router';
import { authFor, type EjabberdAuth } from './auth/ejabberd_auth.js';
import { AuthThrottle } from './auth/throttle.js';
import { C2sConnection, type C2sContext } from './c2s/ejabberd_c2s.js';
import { ensureCertificate } from './config/certs.js';
import type { AnyListenerConfig, ServerConfig } from './config/types.js';
import { commandsFor } from './control.js';
import { httpServer } from './http/ejabberd_http.js';
import { ejabberd_xmlrpc } from './http/ejabberd_xmlrpc.js';
import { type HttpHandler, mod_http_api } from './http/mod_http_api.js';
import type { ServerEnv } from './modules/env.js';
import { mod_announce } from './modules/mod_announce.js';
import { mod_blocking } from './modules/mod_blocking.js';
import { mod_disco } from './modules/mod_disco.js';
import { mod_last } from './modules/mod_last.js';
import { mod_offline } from './modules/mod_offline.js';
import { mod_ping, type PingTargets } from './modules/mod_ping.js';
import { mod_private } from './modules/mod_private.js';
import { mod_register } from './modules/mod_register.js';
import { mod_roster } from './modules/mod_roster.js';
import { mod_vcard } from './modules/mod_vcard.js';
import { mod_version } from './modules/mod_version.js';
import { ServiceConnection, type ServiceContext } from './service/ejabberd_service.js';
import { KeyedQueue } from './storage/keyed_queue.js';
import { openStorage } from './storage/open.js';
import type { Storage } from './storage/storage.js';

export interface ServerOptions {
  config: ServerConfig;
  /** Default: SQLite in `config.data_dir`. */
  storage?: Storage;
  log?: Logger;
  /** Modules a configuration may name, besides the built-in ones (mod_cputime, your own, ...). */
  extraModules?: ModuleTable;
}

/** Modules by the name a configuration gives them; each validates its own options. */
// biome-ignore lint/suspicious/noExplicitAny: modules of every option type share the table
export type ModuleTable = Record<string, GenModule<any>>;

/** The certificate, its key, and the context STARTTLS upgrades with. */
interface TlsMaterial {
  cert: string;
  key: string;
  context: SecureContext;
}

/** Where a listener ended up (a configured port 0 gets a free one). */
export interface BoundListener {
  config: AnyListenerConfig;
  port: number;
}

/**
 * A running tsjabberd: the ejabberd node (router, sm, local, hooks, modules), the storage, the auth
 * back end and the c2s listeners, as ejabberd's application starts them.
 */
export class TsjabberdServer {
  readonly connections = new Set<C2sConnection>();
  /** The XEP-0114 component connections (ejabberd_service). */
  readonly components = new Set<ServiceConnection>();
  readonly listeners: BoundListener[] = [];
  private readonly servers: NetServer[] = [];
  /** Changes to one roster run one at a time, whoever makes them (mod_roster, the roster commands). */
  readonly rosters = new KeyedQueue();
  private stopped = false;

  private constructor(
    readonly config: ServerConfig,
    readonly node: EjabberdNode,
    readonly storage: Storage,
    readonly auth: EjabberdAuth,
    readonly log: Logger,
    readonly certificatePath: string | undefined,
  ) {}

  static async start(options: ServerOptions): Promise<TsjabberdServer> {
    const { config } = options;
    const log = options.log ?? consoleLogger(config.loglevel);
    const storage = options.storage ?? (await openStorage('sqlite', config.data_dir, log));
    const auth = authFor(config, storage, log);
    const node = new EjabberdNode({ hosts: config.hosts, log });
    auth.hooks = node.ejabberd_hooks;
    await node.start();
    let tls: TlsMaterial | undefined;
    let certificatePath: string | undefined;
    const needsTls = config.listen.some((l) => l.tls || l.starttls);
    if (needsTls) {
      const cert = await ensureCertificate(config, log);
      tls = {
        cert: cert.cert,
        key: cert.key,
        context: createSecureContext({ cert: cert.cert, key: cert.key }),
      };
      certificatePath = cert.path;
    }
    const server = new TsjabberdServer(config, node, storage, auth, log, certificatePath);
    await server.startModules(options.extraModules ?? {});
    for (const listener of config.listen) await server.listen(listener, tls);
    return server;
  }

  private async startModules(extra: ModuleTable): Promise<void> {
    const targets: PingTargets = {
      idle: (host, seconds) =>
        [...this.connections]
          .filter((c) => c.boundJid?.lserver === host && Date.now() - c.lastActivity >= seconds * 1000)
          .map((c) => ({
            ping: (id: string) => c.ping(parse(host), id),
            get lastActivity() {
              return c.lastActivity;
            },
            timeout: () => c.streamError('connection-timeout', 'No answer to a ping'),
          })),
    };
    const env: ServerEnv = {
      storage: this.storage,
      auth: this.auth,
      config: this.config,
      rosters: this.rosters,
    };
    const known: ModuleTable = {
      mod_announce: mod_announce(env),
      mod_blocking: mod_blocking(env),
      mod_cputime,
      mod_disco,
      mod_last: mod_last(env),
      mod_offline: mod_offline(env),
      mod_ping: mod_ping(targets),
      mod_private: mod_private(env),
      mod_register: mod_register(env),
      mod_roster: mod_roster(env),
      mod_vcard: mod_vcard(env),
      mod_version,
      ...extra,
    };
    for (const host of this.config.hosts) {
      for (const [name, opts] of Object.entries(this.config.modules)) {
        const module = known[name];
        if (module === undefined) {
          throw new Error(
            `modules: ${name} is not a module this server knows (${Object.keys(known).sort().join(', ')})`,
          );
        }
        await this.node.gen_mod.start_module(host, module, opts);
      }
    }
  }

  private async listen(listener: AnyListenerConfig, tls: TlsMaterial | undefined): Promise<void> {
    let accept: (socket: Socket, directTls: boolean) => void = () => {};
    let http: NetServer | undefined;
    if (listener.module === 'ejabberd_http') {
      const commands = commandsFor(this);
      const handlers: Record<string, HttpHandler> = {};
      const ctx = {
        config: this.config,
        auth: this.auth,
        commands,
        log: this.log,
        maxBodySize: listener.max_body_size,
      };
      for (const [path, handler] of Object.entries(listener.request_handlers))
        handlers[path] = handler === 'ejabberd_xmlrpc' ? ejabberd_xmlrpc(ctx) : mod_http_api(ctx);
      http = httpServer(listener, handlers, tls);
    } else if (listener.module === 'ejabberd_service') {
      const ctx: ServiceContext = {
        node: this.node,
        config: this.config,
        listener,
        log: this.log,
        connections: this.components,
      };
      accept = (socket) => new ServiceConnection(socket, ctx);
    } else {
      const ctx: C2sContext = {
        node: this.node,
        config: this.config,
        listener,
        secureContext: tls?.context,
        credentials: (host) => this.auth.credentials(host),
        throttle: new AuthThrottle(),
        log: this.log,
        connections: this.connections,
      };
      accept = (socket, directTls) => new C2sConnection(socket, ctx, directTls);
    }
    const server = http
      ? http
      : listener.tls
        ? createTlsServer({ cert: tls?.cert, key: tls?.key }, (socket) => accept(socket, true))
        : createTcpServer((socket) => accept(socket, false));
    server.on('error', (e) => this.log.error(`listener ${listener.ip}:${listener.port}: ${e.message}`));
    if (listener.tls)
      server.on('tlsClientError', (e) =>
        this.log.debug(`listener ${listener.port}: TLS handshake failed: ${e.message}`),
      );
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: listener.port, host: listener.ip, ipv6Only: false }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : listener.port;
    this.servers.push(server);
    this.listeners.push({ config: listener, port });
    this.log.info(
      `listening: ${listener.module} on ${listener.ip}:${port}${listener.tls ? ' (direct TLS)' : listener.starttls ? ' (STARTTLS)' : ''}`,
    );
  }

  /** `tsjabberd status`: what is running. */
  status(): { hosts: string[]; listeners: { port: number; tls: boolean }[]; sessions: number } {
    return {
      hosts: [...this.config.hosts],
      listeners: this.listeners.map((l) => ({ port: l.port, tls: l.config.tls })),
      sessions: this.node.ejabberd_sm.connected_users_number(),
    };
  }

  /**
   * What the `stop` command (`tsjabberdctl stop`) asks for. Embedded, the server stops; the
   * `tsjabberd start` process replaces it with its own shutdown, which also ends the process.
   */
  stopRequested: (reason: string) => void = (reason) => {
    this.log.info(`${reason}: stopping`);
    void this.stop();
  };

  /** Closes every stream with `system-shutdown`, stops the modules, flushes storage. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const server of this.servers) {
      server.close();
      // An HTTP server keeps its keep-alive connections open otherwise.
      if ('closeAllConnections' in server && typeof server.closeAllConnections === 'function')
        server.closeAllConnections();
    }
    for (const connection of [...this.connections])
      connection.streamError('system-shutdown', 'The server is shutting down');
    for (const component of [...this.components])
      component.streamError('system-shutdown', 'The server is shutting down');
    await new Promise((resolve) => setTimeout(resolve, 50));
    await this.node.stop();
    this.auth.close();
    await this.storage.close();
    this.log.info('stopped');
  }
}
