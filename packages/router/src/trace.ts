import type { Jid } from '@tsjabberd/jid';
import type { XmlElement } from '@tsjabberd/xml-stanza';
import type { Logger } from './logger.js';

/**
 * The packet trace, for learners: with `TSJABBERD_TRACE=1` (or `enabled = true`) every routed packet
 * logs the path it took through the modules, e.g.
 *
 *   trace: message romeo@example.net/orchard -> juliet@localhost: router -> local -> sm -> session juliet@localhost/balcony
 *
 * Each `route` call starts a path for its packet; modules add steps; the module where the packet ends
 * (a session, a handler, a hook, a bounce) closes it. When disabled every call returns at once.
 */
export class PacketTrace {
  enabled: boolean;
  private readonly paths = new WeakMap<XmlElement, { head: string; steps: string[] }>();

  constructor(
    private readonly log: Logger,
    enabled = process.env.TSJABBERD_TRACE === '1',
  ) {
    this.enabled = enabled;
  }

  begin(packet: XmlElement, from: Jid, to: Jid, step: string): void {
    if (!this.enabled) return;
    this.paths.set(packet, { head: `${packet[1]} ${from.toString()} -> ${to.toString()}`, steps: [step] });
  }

  step(packet: XmlElement, step: string): void {
    if (!this.enabled) return;
    this.paths.get(packet)?.steps.push(step);
  }

  /** A hook replaced the packet by `next`: the path goes on with it. */
  follow(packet: XmlElement, next: XmlElement): void {
    if (!this.enabled) return;
    const path = this.paths.get(packet);
    if (path === undefined) return;
    this.paths.delete(packet);
    this.paths.set(next, path);
  }

  /** The packet's journey ends at `where`; the path is logged. */
  end(packet: XmlElement, where: string): void {
    if (!this.enabled) return;
    const path = this.paths.get(packet);
    if (path === undefined) return;
    this.paths.delete(packet);
    path.steps.push(where);
    this.log.info(`trace: ${path.head}: ${path.steps.join(' -> ')}`);
  }
}
