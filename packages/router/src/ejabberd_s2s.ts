import type { Jid } from '@tsjabberd/jid';
import type { XmlElement } from '@tsjabberd/xml-stanza';
import type { EjabberdRouter } from './ejabberd_router.js';
import { stanza_error } from './stanza_errors.js';
import type { PacketTrace } from './trace.js';

/**
 * ejabberd_s2s: where the router sends packets for domains it has no route for. Federation (outgoing
 * s2s connections, dialback, TLS) comes in a later issue behind this same interface.
 */
export interface S2sManager {
  route(from: Jid, to: Jid, packet: XmlElement): void;
}

/** Until federation exists: every packet for another server bounces with `remote-server-not-found`. */
export class S2sDisabled implements S2sManager {
  constructor(
    private readonly router: EjabberdRouter,
    private readonly trace: PacketTrace,
  ) {}

  route(from: Jid, to: Jid, packet: XmlElement): void {
    this.trace.end(packet, `s2s (bounced: remote-server-not-found for ${to.lserver})`);
    this.router.route_error(
      from,
      to,
      packet,
      stanza_error('remote-server-not-found', `No route to ${to.lserver}: federation is not enabled`),
    );
  }
}
