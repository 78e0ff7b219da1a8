import type { Jid } from '@tsjabberd/jid';
import type { XmlElement } from '@tsjabberd/xml-stanza';

/**
 * What a route leads to: in ejabberd a process that receives `{route, From, To, Packet}`; here an object
 * with a `route` method (ejabberd_local, a service such as mod_echo, a component connection, ...).
 */
export interface RouteProcess {
  route(from: Jid, to: Jid, packet: XmlElement): void;
  /** How the packet trace names it when a packet ends here (default: `route <domain>`). */
  readonly name?: string;
  /** It adds its own steps to the packet trace and ends it (as ejabberd_local does). */
  readonly traces?: boolean;
}

/**
 * The global route table: which node of a cluster owns each domain. Every node sees the same table, so
 * it lives in a shared store (in-memory here; Redis in a later issue), and every call is asynchronous.
 */
export interface GlobalRouteTable {
  register(domain: string, node: string): Promise<void>;
  unregister(domain: string, node: string): Promise<void>;
  /** The nodes that own `domain` (usually one; empty when nobody does). */
  lookup(domain: string): Promise<string[]>;
  /** Every domain with its owning nodes. */
  all(): Promise<[domain: string, nodes: string[]][]>;
}

/** The global table in one process's memory: a single node, or several nodes in tests. */
export class MemoryGlobalRouteTable implements GlobalRouteTable {
  private readonly routes = new Map<string, string[]>();

  async register(domain: string, node: string): Promise<void> {
    const nodes = this.routes.get(domain) ?? [];
    if (!nodes.includes(node)) this.routes.set(domain, [...nodes, node]);
  }

  async unregister(domain: string, node: string): Promise<void> {
    const nodes = (this.routes.get(domain) ?? []).filter((n) => n !== node);
    if (nodes.length === 0) this.routes.delete(domain);
    else this.routes.set(domain, nodes);
  }

  async lookup(domain: string): Promise<string[]> {
    return this.routes.get(domain) ?? [];
  }

  async all(): Promise<[string, string[]][]> {
    return [...this.routes];
  }
}

/**
 * How a packet reaches the router of another node of the cluster (Erlang distribution in ejabberd).
 * `send` answers false when the node cannot be reached.
 */
export interface ClusterTransport {
  send(node: string, from: Jid, to: Jid, packet: XmlElement): boolean;
}
