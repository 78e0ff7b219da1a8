/**
 * mod_last (XEP-0012 Last Activity, jabber:iq:last). The server's JID answers how long the module has
 * been running on the host (the server's uptime). A user's bare JID answers, to the user and to contacts
 * whose presence subscription lets them see the user's ('from' or 'both', asked through
 * `roster_get_jid_info`): 0 seconds while the user has an available resource, otherwise the seconds
 * since the last logout with its status text. The logout is recorded from `unset_presence_hook`.
 * Presence probes for a user with no available resource are answered here for subscribed contacts
 * (`presence_probe_hook`): `<presence type='unavailable'/>` with the last status and a XEP-0203 delay
 * stamped at the logout (RFC 6121 4.3.2).
 *
 * Differences from ejabberd: a requester without a subscription gets `forbidden`, as XEP-0012 says
 * (ejabberd: `subscription-required`); a user with no recorded logout gets `item-not-found` (ejabberd:
 * `service-unavailable`, and it records "Registered but didn't login" at registration); "online" means
 * an available resource, not merely a bound one; the server's uptime counts from the module's start on
 * the host, not the node's; ejabberd's mod_last does not answer presence probes at all. Privacy lists
 * are not consulted (no mod_privacy yet). No cache options.
 */
import type { Jid } from '@tsjabberd/jid';
import {
  type GenModule,
  type Iq,
  iq_error,
  iq_result,
  type ModuleContext,
  stanza_error,
} from '@tsjabberd/router';
import type { XmlElement } from '@tsjabberd/xml-stanza';
import type { LastActivity } from '../storage/storage.js';
import type { ServerEnv } from './env.js';

export const NS_LAST = 'jabber:iq:last';
export const NS_DELAY = 'urn:xmpp:delay';

function now_seconds(): number {
  return Math.floor(Date.now() / 1000);
}

function last_query(seconds: number, status = ''): XmlElement {
  return [
    'xmlelement',
    'query',
    [
      ['xmlns', NS_LAST],
      ['seconds', String(Math.max(0, seconds))],
    ],
    status === '' ? [] : [['xmlcdata', status]],
  ];
}

/** XEP-0082 DateTime in UTC, to the second. */
function stamp(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Whether `requester` is the user `luser@lserver` itself. */
function is_owner(requester: Jid, luser: string, lserver: string): boolean {
  return requester.luser === luser && requester.lserver === lserver;
}

/**
 * Whether the user's roster lets `requester` see the user's presence: subscription 'from' or 'both'
 * (`roster_get_jid_info`, answered by mod_roster; without it, nobody but the user).
 */
async function subscribed(
  ctx: ModuleContext,
  luser: string,
  lserver: string,
  requester: Jid,
): Promise<boolean> {
  const info = await ctx.node.ejabberd_hooks.run_fold<{ subscription: string; groups: string[] }>(
    'roster_get_jid_info',
    lserver,
    { subscription: 'none', groups: [] },
    [luser, lserver, requester.bare()],
  );
  return (
    typeof info === 'object' &&
    info !== null &&
    (info.subscription === 'from' || info.subscription === 'both')
  );
}

export function mod_last(env: ServerEnv): GenModule {
  return {
    name: 'mod_last',
    start(_host, _opts, ctx) {
      const started = Date.now();
      const { ejabberd_sm } = ctx.node;
      const online = (luser: string, lserver: string) =>
        ejabberd_sm.get_user_present_resources(luser, lserver).length > 0;

      ctx.add_iq_handler('ejabberd_local', NS_LAST, (_from, _to, iq) => {
        if (iq.type === 'set')
          return iq_error(iq, stanza_error('not-allowed', 'Last activity cannot be set'));
        return iq_result(iq, [last_query(Math.floor((Date.now() - started) / 1000))]);
      });

      ctx.add_iq_handler('ejabberd_sm', NS_LAST, async (from: Jid, to: Jid, iq: Iq): Promise<Iq> => {
        if (iq.type === 'set')
          return iq_error(iq, stanza_error('not-allowed', 'Last activity cannot be set'));
        const { luser, lserver } = to;
        if (!is_owner(from, luser, lserver) && !(await subscribed(ctx, luser, lserver, from))) {
          ctx.log.info(
            `mod_last: ${from.toString()} asked the last activity of ${to.toString()} without a presence subscription: forbidden`,
          );
          return iq_error(iq, stanza_error('forbidden', 'Not subscribed to the presence of this user'));
        }
        if (online(luser, lserver)) return iq_result(iq, [last_query(0)]);
        const last = await env.storage.last.get(luser, lserver);
        if (last === undefined) {
          ctx.log.debug(
            `mod_last: no last activity recorded for ${to.toString()} (asked by ${from.toString()})`,
          );
          return iq_error(iq, stanza_error('item-not-found', 'No last activity recorded for this user'));
        }
        return iq_result(iq, [last_query(now_seconds() - last.seconds, last.status)]);
      });

      // register_user (user, host): a new account has a last activity from the start, as in ejabberd,
      // so get_last and jabber:iq:last tell when it was registered until its first logout.
      ctx.add_hook('register_user', async function mod_last_register(user: unknown, host: unknown) {
        if (typeof user !== 'string' || typeof host !== 'string') return;
        await env.storage.last.set(user, host, {
          seconds: now_seconds(),
          status: "Registered but didn't login",
        });
      });

      // unset_presence_hook (JID, status): an available session went unavailable or ended.
      ctx.add_hook('unset_presence_hook', async function mod_last_record(jid: Jid, status: unknown) {
        const last: LastActivity = {
          seconds: now_seconds(),
          status: typeof status === 'string' ? status : '',
        };
        await env.storage.last.set(jid.luser, jid.lserver, last);
        ctx.log.debug(
          `mod_last: recorded the logout of ${jid.toString()} (status ${JSON.stringify(last.status)})`,
        );
      });

      // presence_probe_hook (acc 'deliver'; from, to, probe): RFC 6121 4.3.2 for a user with no
      // available resource. Anything else goes on to the user's resources (the c2s answers there).
      const answer_probe = async (acc: unknown, from: Jid, to: Jid): Promise<unknown> => {
        const { luser, lserver } = to;
        if (!is_owner(from, luser, lserver) && !(await subscribed(ctx, luser, lserver, from))) return acc;
        const last = await env.storage.last.get(luser, lserver);
        // The user may have come online while the storage answered: the sessions answer then.
        if (online(luser, lserver)) return acc;
        const children: XmlElement[] = [];
        if (last !== undefined) {
          if (last.status !== '') children.push(['xmlelement', 'status', [], [['xmlcdata', last.status]]]);
          children.push([
            'xmlelement',
            'delay',
            [
              ['xmlns', NS_DELAY],
              ['from', lserver],
              ['stamp', stamp(last.seconds)],
            ],
            [],
          ]);
        }
        ctx.route(to.bare(), from, ['xmlelement', 'presence', [['type', 'unavailable']], children]);
        ctx.log.debug(`mod_last: answered the probe of ${from.toString()} for offline ${to.toString()}`);
        return ['stop', 'handled'];
      };
      ctx.add_hook('presence_probe_hook', function mod_last_probe(acc: unknown, from: Jid, to: Jid) {
        // Synchronous while the user is online: most probes cost nothing here.
        return online(to.luser, to.lserver) ? acc : answer_probe(acc, from, to);
      });
    },
  };
}
