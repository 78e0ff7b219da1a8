import type { Jid } from '@tsjabberd/jid';
import type { XmlElement } from '@tsjabberd/xml-stanza';
import { EjabberdHooks } from './ejabberd_hooks.js';
import { EjabberdLocal } from './ejabberd_local.js';
import { EjabberdRouter } from './ejabberd_router.js';
import { S2sDisabled, type S2sManager } from './ejabberd_s2s.js';
import { EjabberdSm } from './ejabberd_sm.js';
import { GenIqHandler } from './gen_iq_handler.js';
import { GenMod } from './gen_mod.js';
import { consoleLogger, type Logger } from './logger.js';
import { type ClusterTransport, type GlobalRouteTable, MemoryGlobalRouteTable } from './route_table.js';
import { PacketTrace } from './trace.js';

export interface NodeOptions {
  /** The node's name in the cluster (ejabberd's Erlang node name). Default `tsjabberd@localhost`. */
  node?: string;
  /** The virtual hosts this server serves. */
  hosts: string[];
  log?: Logger;
  /** Log each packet's path through the modules (default: `TSJABBERD_TRACE=1`). */
  trace?: boolean;
  /** The cluster's shared route table (default: one in memory, for a single node). */
  global?: GlobalRouteTable;
  /** How packets reach other nodes of the cluster. */
  cluster?: ClusterTransport;
  /** Longest an IQ handler may take before `internal-server-error` is sent for it, in ms. */
  iqTimeout?: number;
  /** Whether an account exists (until the auth back ends exist: every user does). */
  userExists?: (luser: string, lserver: string) => boolean;
  /** Replaces the S2S manager (default: every remote packet bounces with remote-server-not-found). */
  s2s?: (router: EjabberdRouter, trace: PacketTrace) => S2sManager;
}

/**
 * One ejabberd node: "Each ejabberd node have following modules: router, local router, session
 * manager, S2S manager" (Developers Guide), plus the hooks, the IQ handler registry and gen_mod that
 * connect modules to them. Property names are ejabberd's module names, so `node.ejabberd_router.route`
 * reads as `ejabberd_router:route`.
 */
export class EjabberdNode {
  readonly name: string;
  readonly hosts: readonly string[];
  readonly log: Logger;
  readonly trace: PacketTrace;
  readonly ejabberd_hooks: EjabberdHooks;
  readonly ejabberd_router: EjabberdRouter;
  readonly ejabberd_local: EjabberdLocal;
  readonly ejabberd_sm: EjabberdSm;
  readonly ejabberd_s2s: S2sManager;
  readonly gen_iq_handler: GenIqHandler;
  readonly gen_mod: GenMod;

  constructor(options: NodeOptions) {
    this.name = options.node ?? 'tsjabberd@localhost';
    this.hosts = options.hosts.map((h) => h.toLowerCase());
    this.log = options.log ?? consoleLogger();
    this.trace = new PacketTrace(this.log, options.trace);
    this.ejabberd_hooks = new EjabberdHooks(this.log);
    this.ejabberd_router = new EjabberdRouter(this.name, {
      log: this.log,
      trace: this.trace,
      hooks: this.ejabberd_hooks,
      global: options.global ?? new MemoryGlobalRouteTable(),
      cluster: options.cluster,
    });
    this.ejabberd_s2s =
      options.s2s?.(this.ejabberd_router, this.trace) ??
      new S2sDisabled(this.ejabberd_router, this.trace, this.hosts);
    this.ejabberd_router.s2s = this.ejabberd_s2s;
    this.gen_iq_handler = new GenIqHandler({
      router: this.ejabberd_router,
      log: this.log,
      trace: this.trace,
      timeout: options.iqTimeout,
    });
    this.ejabberd_sm = new EjabberdSm({
      node: this.name,
      router: this.ejabberd_router,
      iq: this.gen_iq_handler,
      hooks: this.ejabberd_hooks,
      trace: this.trace,
      log: this.log,
      userExists: options.userExists,
    });
    this.ejabberd_local = new EjabberdLocal({
      router: this.ejabberd_router,
      sm: this.ejabberd_sm,
      iq: this.gen_iq_handler,
      hooks: this.ejabberd_hooks,
      trace: this.trace,
    });
    this.gen_mod = new GenMod(this);
  }

  /** Registers each host's route to ejabberd_local, here and in the cluster's global table. */
  async start(): Promise<void> {
    for (const host of this.hosts) {
      await this.ejabberd_router.register_route(host, this.ejabberd_local);
      this.ejabberd_hooks.add(
        'local_send_to_resource_hook',
        host,
        this.ejabberd_local.bounce_resource_packet,
        100,
      );
    }
  }

  /** Stops every module and withdraws the hosts' routes. */
  async stop(): Promise<void> {
    await this.gen_mod.stop_all();
    for (const host of this.hosts) {
      this.ejabberd_hooks.delete(
        'local_send_to_resource_hook',
        host,
        this.ejabberd_local.bounce_resource_packet,
        100,
      );
      await this.ejabberd_router.unregister_route(host);
    }
  }

  /** `ejabberd_router:route(From, To, Packet)`. */
  route(from: Jid, to: Jid, packet: XmlElement): void {
    this.ejabberd_router.route(from, to, packet);
  }
}
