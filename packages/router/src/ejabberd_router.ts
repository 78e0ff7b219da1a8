import type { Jid } from '@tsjabberd/jid';
import type { XmlElement } from '@tsjabberd/xml-stanza';
import type { EjabberdHooks } from './ejabberd_hooks.js';
import { GLOBAL } from './ejabberd_hooks.js';
import type { S2sManager } from './ejabberd_s2s.js';
import type { Logger } from './logger.js';
import type { ClusterTransport, GlobalRouteTable, RouteProcess } from './route_table.js';
import { make_error_reply, stanza_error, stanza_type } from './stanza_errors.js';
import type { PacketTrace } from './trace.js';

/** What a `filter_packet` hook folds over: the packet and its addresses, or `'drop'`. */
export type FilterAcc = [from: Jid, to: Jid, packet: XmlElement] | 'drop';

export interface RouterDeps {
  log: Logger;
  trace: PacketTrace;
  hooks: EjabberdHooks;
  global: GlobalRouteTable;
  cluster?: ClusterTransport;
}

/** A short description of a packet for logs: `message id=x from a@b to c@d`. */
export function describePacket(from: Jid, to: Jid, packet: XmlElement): string {
  let id = '';
  for (const [k, v] of packet[2]) if (k === 'id') id = ` id=${v}`;
  const type = stanza_type(packet);
  return `<${packet[1]}${type === '' ? '' : ` type=${type}`}${id}> from ${from.toString()} to ${to.toString()}`;
}

/**
 * ejabberd_router: routes every packet by the domain of its destination. "First, domain of packet
 * destination searched in local table, and if it found, then the packet is routed to appropriate
 * process. If no, then it searches in global table, and is routed to the appropriate ejabberd node or
 * process. If it does not exists in either tables, then it sent to the S2S manager." (Developers Guide)
 *
 * The local table is this node's own: a `Map`, looked up synchronously on every packet. The global
 * table is shared by the cluster and asynchronous; it is consulted only for domains this node does not
 * serve itself.
 */
export class EjabberdRouter {
  private readonly localRoutes = new Map<string, RouteProcess>();
  /** Set by the node once the S2S manager exists (they need each other). */
  s2s!: S2sManager;

  constructor(
    /** This node's name, as the global table knows it. */
    readonly node: string,
    private readonly deps: RouterDeps,
  ) {}

  /** `ejabberd_router:route(From, To, Packet)`. */
  route(from: Jid, to: Jid, packet: XmlElement): void {
    this.deps.trace.begin(packet, from, to, 'router');
    if (this.deps.hooks.count('filter_packet', GLOBAL) === 0) {
      this.do_route(from, to, packet);
      return;
    }
    const filtered = this.deps.hooks.run_fold<FilterAcc>('filter_packet', GLOBAL, [from, to, packet], []);
    if (filtered instanceof Promise) {
      filtered.then((acc) => this.filtered(acc, packet));
    } else {
      this.filtered(filtered, packet);
    }
  }

  private filtered(acc: FilterAcc | 'stopped', packet: XmlElement): void {
    if (acc === 'drop' || acc === 'stopped') {
      this.deps.trace.end(packet, 'filter_packet (dropped)');
      return;
    }
    if (acc[2] !== packet) this.deps.trace.follow(packet, acc[2]);
    this.do_route(acc[0], acc[1], acc[2]);
  }

  private do_route(from: Jid, to: Jid, packet: XmlElement): void {
    const process = this.localRoutes.get(to.lserver);
    if (process !== undefined) {
      this.deliver(process, from, to, packet);
      return;
    }
    this.deps.global.lookup(to.lserver).then(
      (nodes) => this.route_global(nodes, from, to, packet),
      (e) => {
        this.deps.log.error(
          `router: global route lookup for ${to.lserver} failed (${String(e)}); ${describePacket(from, to, packet)} goes to s2s`,
        );
        this.s2s.route(from, to, packet);
      },
    );
  }

  private route_global(nodes: string[], from: Jid, to: Jid, packet: XmlElement): void {
    // The local table may have gained the route while the lookup ran.
    const process = this.localRoutes.get(to.lserver);
    if (process !== undefined) {
      this.deliver(process, from, to, packet);
      return;
    }
    const remote = nodes.filter((n) => n !== this.node);
    if (remote.length === 0) {
      this.s2s.route(from, to, packet);
      return;
    }
    // Several nodes serving one domain share its packets by sender, so one conversation stays in order.
    const node = remote.length === 1 ? remote[0] : remote[hash(from.toString()) % remote.length];
    this.deps.trace.end(packet, `cluster node ${node}`);
    if (this.deps.cluster?.send(node, from, to, packet) !== true) {
      this.deps.log.warning(
        `router: node ${node} owns ${to.lserver} but cannot be reached; bouncing ${describePacket(from, to, packet)}`,
      );
      this.route_error(from, to, packet, stanza_error('service-unavailable', `${to.lserver} is unreachable`));
    }
  }

  /** A packet forwarded by another node: only this node's own routes apply (no second global lookup). */
  route_from_cluster(from: Jid, to: Jid, packet: XmlElement): void {
    this.deps.trace.begin(packet, from, to, 'router (from cluster)');
    const process = this.localRoutes.get(to.lserver);
    if (process !== undefined) this.deliver(process, from, to, packet);
    else
      this.route_error(
        from,
        to,
        packet,
        stanza_error('service-unavailable', `${to.lserver} is not served here`),
      );
  }

  private deliver(process: RouteProcess, from: Jid, to: Jid, packet: XmlElement): void {
    const { trace } = this.deps;
    if (trace.enabled && process.traces !== true) trace.end(packet, process.name ?? `route ${to.lserver}`);
    try {
      process.route(from, to, packet);
    } catch (e) {
      this.deps.log.error(
        `router: the route for ${to.lserver} failed on ${describePacket(from, to, packet)}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`,
      );
    }
  }

  /**
   * `ejabberd_router:route_error`: bounces `packet` (which went from `from` to `to`) back to its sender
   * with `error` (RFC 6120 section 8.3.1), from the address it was sent to. An error or a result is
   * never answered with an error: that is how error loops between two servers are avoided.
   */
  route_error(from: Jid, to: Jid, packet: XmlElement, error: XmlElement): void {
    const type = stanza_type(packet);
    if (type === 'error' || type === 'result') {
      this.deps.log.debug(
        `router: not bouncing ${describePacket(from, to, packet)}: it is itself an ${type}`,
      );
      return;
    }
    this.route(to, from, make_error_reply(packet, error));
  }

  /**
   * `ejabberd_router:register_route(Domain)`: `process` receives every packet for `domain`, on this node
   * (local table) and, through the global table, from every node of the cluster.
   */
  async register_route(domain: string, process: RouteProcess): Promise<void> {
    const had = this.localRoutes.get(domain) === process;
    this.register_local_route(domain, process);
    try {
      await this.deps.global.register(domain, this.node);
    } catch (e) {
      if (!had) this.unregister_local_route(domain);
      throw e;
    }
  }

  /** `ejabberd_router:unregister_route(Domain)`. */
  async unregister_route(domain: string): Promise<void> {
    this.unregister_local_route(domain);
    await this.deps.global.unregister(domain, this.node);
  }

  /** `ejabberd_router:register_local_route(Domain)`: a route only this node knows. */
  register_local_route(domain: string, process: RouteProcess): void {
    const existing = this.localRoutes.get(domain);
    if (existing !== undefined && existing !== process) {
      throw new Error(`router: ${domain} is already routed on node ${this.node}; unregister it first`);
    }
    this.localRoutes.set(domain, process);
  }

  /** `ejabberd_router:unregister_local_route(Domain)`. */
  unregister_local_route(domain: string): void {
    this.localRoutes.delete(domain);
  }

  /** `ejabberd_router:is_my_route(Domain)`: served by this node. */
  is_my_route(domain: string): boolean {
    return this.localRoutes.has(domain);
  }

  /** `ejabberd_router:dirty_get_all_routes()`: the domains this node routes itself. */
  dirty_get_all_routes(): string[] {
    return [...this.localRoutes.keys()];
  }
}

/** A small string hash (FNV-1a), to spread senders over the nodes of a shared domain. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}
