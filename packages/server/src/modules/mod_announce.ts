/**
 * mod_announce: administrators broadcast a message to every online user. A message sent to
 * `<host>/announce/online` goes to every session of that host, one to `<host>/announce/all-hosts/online`
 * to every session of every served host; each copy comes from the host's JID and carries the
 * original's `<subject/>` and `<body/>`, with its type (`normal` when it has none). Senders the
 * `access` rule does not allow get `forbidden` back and nobody gets the message.
 *
 * How the packets get here: a stanza to the server's JID with a resource is not an IQ for
 * `ejabberd_local`'s handlers, so ejabberd_local runs `local_send_to_resource_hook` for the host with
 * `(From, To, Packet)` (packages/router/src/ejabberd_local.ts). ejabberd's mod_announce hooks it at
 * seq 50; so does this module, taking (`'stop'`) the messages to its resources and leaving everything
 * else to the next function, down to ejabberd_local's `bounce_resource_packet` (seq 100, which answers
 * `item-not-found`). ejabberd's other resources (announce/all, motd and its variants, which need
 * offline delivery and storage) are not handled and are bounced like any unknown resource.
 *
 * Options: `access`, the access rule whose `allow` lets a sender announce (default `none`, as
 * ejabberd: nobody until configured; ejabberd's example config uses a rule `announce: allow admin`).
 */
import { type Jid, parse } from '@tsjabberd/jid';
import { type EjabberdNode, type GenModule, stanza_error, stanza_type } from '@tsjabberd/router';
import type { XmlElement } from '@tsjabberd/xml-stanza';
import { accessAllows } from '../config/acl.js';
import type { ServerEnv } from './env.js';

export interface AnnounceOptions {
  /** The access rule that decides who may announce. */
  access: string;
}

const ONLINE = 'announce/online';
const ALL_HOSTS_ONLINE = 'announce/all-hosts/online';

/**
 * Sends a message from each host's JID to every session of `hosts` (ejabberd's announce_online):
 * `type` (default `normal`) and `children` (its subject and body). Returns how many got it.
 */
export function announce_online(
  node: EjabberdNode,
  hosts: readonly string[],
  children: XmlElement[],
  type = 'normal',
): number {
  const served = new Set(hosts);
  let sent = 0;
  for (const jid of node.ejabberd_sm.dirty_get_sessions_list()) {
    if (!served.has(jid.lserver)) continue;
    const message: XmlElement = ['xmlelement', 'message', [['type', type]], children];
    node.ejabberd_router.route(parse(jid.lserver), jid, message);
    sent++;
  }
  return sent;
}

/** The `<subject/>` and `<body/>` children of a message, as the announcement carries them. */
function content(packet: XmlElement): XmlElement[] {
  return packet[3].filter(
    (c): c is XmlElement => c[0] === 'xmlelement' && (c[1] === 'subject' || c[1] === 'body'),
  );
}

export function mod_announce(env: ServerEnv): GenModule<AnnounceOptions> {
  return {
    name: 'mod_announce',
    options: {
      access: {
        default: 'none',
        validate(value) {
          if (typeof value !== 'string' || value === '')
            throw new Error(`expected the name of an access rule, got ${JSON.stringify(value)}`);
          return value;
        },
      },
    },
    start(host, opts, ctx) {
      const rule = opts.access;
      if (rule !== 'all' && rule !== 'none' && !Object.hasOwn(env.config.access_rules, rule))
        throw new Error(`option 'access': no access rule '${rule}' in access_rules`);
      const announce = (from: Jid, to: Jid, packet: XmlElement): 'stop' | undefined => {
        if (packet[1] !== 'message') return undefined;
        const resource = to.lresource;
        if (resource !== ONLINE && resource !== ALL_HOSTS_ONLINE) return undefined;
        if (!accessAllows(env.config, rule, from.luser, from.lserver)) {
          ctx.log.info(`mod_announce: ${from.toString()} may not announce to ${to.toString()}`);
          ctx.node.ejabberd_router.route_error(
            from,
            to,
            packet,
            stanza_error('forbidden', 'You are not allowed to send announcements'),
          );
          return 'stop';
        }
        const hosts = resource === ONLINE ? [host] : ctx.node.hosts;
        const type = stanza_type(packet);
        const sent = announce_online(ctx.node, hosts, content(packet), type === '' ? 'normal' : type);
        ctx.log.info(`mod_announce: ${from.toString()} announced to ${to.toString()} (${sent} sessions)`);
        return 'stop';
      };
      ctx.add_hook('local_send_to_resource_hook', announce, 50);
      ctx.log.debug(`mod_announce: started on ${host} (access ${rule})`);
    },
  };
}
