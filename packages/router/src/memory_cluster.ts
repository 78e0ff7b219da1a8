import type { Jid } from '@tsjabberd/jid';
import type { XmlElement } from '@tsjabberd/xml-stanza';
import type { EjabberdNode } from './ejabberd_node.js';
import { type ClusterTransport, MemoryGlobalRouteTable } from './route_table.js';

/**
 * Several nodes in one process sharing one global route table: a cluster for tests and for learning how
 * the global table works. A real cluster replaces the table (Redis) and the transport (a network).
 */
export class MemoryCluster implements ClusterTransport {
  readonly global = new MemoryGlobalRouteTable();
  private readonly nodes = new Map<string, EjabberdNode>();

  join(node: EjabberdNode): void {
    this.nodes.set(node.name, node);
  }

  leave(name: string): void {
    this.nodes.delete(name);
  }

  send(node: string, from: Jid, to: Jid, packet: XmlElement): boolean {
    const target = this.nodes.get(node);
    if (target === undefined) return false;
    // Asynchronously, as a message between nodes would arrive.
    queueMicrotask(() => target.ejabberd_router.route_from_cluster(from, to, packet));
    return true;
  }
}
