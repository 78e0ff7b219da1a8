/**
 * mod_ping (XEP-0199): the server answers pings, and (with `send_pings`) pings clients that have been
 * silent for `ping_interval` seconds; one that does not answer within `ping_ack_timeout` is
 * disconnected, so dead connections do not keep sessions alive.
 */
import { type GenModule, iq_error, iq_result, stanza_error } from '@tsjabberd/router';

export const NS_PING = 'urn:xmpp:ping';

export interface PingOptions {
  send_pings: boolean;
  ping_interval: number;
  ping_ack_timeout: number;
}

/** What mod_ping needs from the connections of the host (the c2s listeners provide it). */
export interface PingTargets {
  idle(host: string, seconds: number): { ping(id: string): void; lastActivity: number; timeout(): void }[];
}

function seconds(value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new Error(`expected a number of seconds, got ${JSON.stringify(value)}`);
  }
  return value;
}

export function mod_ping(targets?: PingTargets): GenModule<PingOptions> {
  const timers = new Map<string, NodeJS.Timeout>();
  return {
    name: 'mod_ping',
    options: {
      send_pings: {
        default: false,
        validate(value) {
          if (typeof value !== 'boolean')
            throw new Error(`expected true or false, got ${JSON.stringify(value)}`);
          return value;
        },
      },
      ping_interval: { default: 60, validate: seconds },
      ping_ack_timeout: { default: 32, validate: seconds },
    },
    start(host, opts, ctx) {
      ctx.add_iq_handler('ejabberd_local', NS_PING, (_from, _to, iq) =>
        iq.type === 'get' ? iq_result(iq) : iq_error(iq, stanza_error('bad-request')),
      );
      if (!opts.send_pings || targets === undefined) return;
      let seq = 0;
      const timer = setInterval(
        () => {
          for (const client of targets.idle(host, opts.ping_interval)) {
            const sent = Date.now();
            client.ping(`ping-${++seq}`);
            // Any data from the client (the pong included) updates lastActivity.
            setTimeout(() => {
              if (client.lastActivity < sent) client.timeout();
            }, opts.ping_ack_timeout * 1000).unref();
          }
        },
        (opts.ping_interval * 1000) / 2,
      );
      timer.unref();
      timers.set(host, timer);
    },
    stop(host) {
      clearInterval(timers.get(host));
      timers.delete(host);
    },
  };
}
