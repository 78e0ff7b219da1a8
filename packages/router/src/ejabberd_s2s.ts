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

/**
 * Until federation exists: every packet for another server bounces with `remote-server-not-found`.
 * A subdomain of a served host (`echo.localhost` under `localhost`) is a service of this server whose
 * component or module is not running: as ejabberd_s2s does (`is_service`), it bounces with
 * `service-unavailable`, never going out over federation.
 */
export class S2sDisabled implements S2sManager {
  constructor(
    private readonly router: EjabberdRouter,
    private readonly trace: PacketTrace,
    private readonly hosts: readonly string[] = [],
  ) {}

  route(from: Jid, to: Jid, packet: XmlElement): void {
    if (this.hosts.some((host) => to.lserver.endsWith(`.${host}`))) {
      this.trace.end(
        packet,
        `s2s (bounced: service-unavailable, ${to.lserver} is a local service not running)`,
      );
      this.router.route_error(
        from,
        to,
        packet,
        stanza_error('service-unavailable', `${to.lserver} is not available now`),
      );
      return;
    }
    this.trace.end(packet, `s2s (bounced: remote-server-not-found for ${to.lserver})`);
    this.router.route_error(
      from,
      to,
      packet,
      stanza_error('remote-server-not-found', `No route to ${to.lserver}: federation is not enabled`),
    );
  }
}
