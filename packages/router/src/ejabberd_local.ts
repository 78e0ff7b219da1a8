import type { Jid } from '@tsjabberd/jid';
import type { XmlElement } from '@tsjabberd/xml-stanza';
import type { EjabberdHooks } from './ejabberd_hooks.js';
import type { EjabberdRouter } from './ejabberd_router.js';
import type { EjabberdSm } from './ejabberd_sm.js';
import type { GenIqHandler } from './gen_iq_handler.js';
import type { RouteProcess } from './route_table.js';
import { stanza_error, stanza_type } from './stanza_errors.js';
import type { PacketTrace } from './trace.js';

export interface LocalDeps {
  router: EjabberdRouter;
  sm: EjabberdSm;
  iq: GenIqHandler;
  hooks: EjabberdHooks;
  trace: PacketTrace;
}

/**
 * ejabberd_local: the route of every domain this server hosts. "If destination JID has a non-empty user
 * part, then it routed to the session manager, else it is processed depending on it's content."
 * (Developers Guide) An IQ to the server's own JID goes to the handlers registered for the
 * `ejabberd_local` component; everything else to `local_send_to_resource_hook`, whose last function
 * (`bounce_resource_packet`) answers what no module took.
 */
export class EjabberdLocal implements RouteProcess {
  readonly traces = true;

  constructor(private readonly deps: LocalDeps) {}

  route(from: Jid, to: Jid, packet: XmlElement): void {
    const { trace } = this.deps;
    trace.step(packet, 'local');
    if (to.luser !== '') {
      this.deps.sm.route(from, to, packet);
      return;
    }
    if (packet[1] === 'iq' && to.lresource === '') {
      this.deps.iq.handle('ejabberd_local', from, to, packet);
      return;
    }
    const type = stanza_type(packet);
    if (type === 'result' || type === 'error') {
      trace.end(packet, `local (dropped: ${type} to the server)`);
      return;
    }
    trace.step(packet, 'local_send_to_resource_hook');
    this.deps.hooks.run('local_send_to_resource_hook', to.lserver, [from, to, packet]);
  }

  /**
   * The last function of `local_send_to_resource_hook` (seq 100): presence to the server and headlines
   * are dropped, anything else nobody handled gets `item-not-found`, as ejabberd answers.
   */
  readonly bounce_resource_packet = (from: Jid, to: Jid, packet: XmlElement): 'stop' | undefined => {
    const { trace } = this.deps;
    const name = packet[1];
    if (
      to.lresource === '' &&
      (name === 'presence' || (name === 'message' && stanza_type(packet) === 'headline'))
    ) {
      trace.end(packet, `local (dropped: ${name} to ${to.lserver})`);
      return undefined;
    }
    trace.end(packet, 'local (bounced: item-not-found)');
    this.deps.router.route_error(
      from,
      to,
      packet,
      stanza_error('item-not-found', 'No available resource found'),
    );
    return 'stop';
  };
}
