/**
 * mod_offline (XEP-0160, with XEP-0203 delay stamps): a message for a user with no available resource
 * is kept (ejabberd_sm hands it over through `offline_message_hook`) and delivered, oldest first, when
 * the user next sends initial presence (`resend_offline_messages_hook`, run by the c2s).
 *
 * Kept: `normal` and `chat` messages (ejabberd_sm never offers error, groupchat or headline ones), unless
 * they carry a XEP-0334 `<no-store/>` hint, or, by default, only a chat state (ejabberd's
 * `store_empty_body: unless_chat_state`). Past `max_user_offline_messages` the sender gets
 * `resource-constraint`, as ejabberd answers. Messages are removed from storage as they are handed to
 * the c2s: a connection that dies in that instant loses them (as in ejabberd without XEP-0198).
 */

import { type Jid, parse } from '@tsjabberd/jid';
import { type GenModule, type ModuleContext, stanza_error } from '@tsjabberd/router';
import { element_to_string, get_attr_s, type XmlElement } from '@tsjabberd/xml-stanza';
import { parse_element } from '@tsjabberd/xml-stream';
import type { ServerEnv } from './env.js';

export const NS_DELAY = 'urn:xmpp:delay';
const NS_HINTS = 'urn:xmpp:hints';
const NS_CHATSTATES = 'http://jabber.org/protocol/chatstates';

export interface OfflineOptions {
  /** Most messages kept per user (ejabberd: the `max_user_offline_messages` rule, 100 in its example). */
  max_user_offline_messages: number;
  /** Keep messages without a body: `true`, `false`, or `unless_chat_state` (ejabberd's default). */
  store_empty_body: boolean | 'unless_chat_state';
}

export function mod_offline(env: ServerEnv): GenModule<OfflineOptions> {
  return {
    name: 'mod_offline',
    options: {
      max_user_offline_messages: {
        default: 100,
        validate(value) {
          if (typeof value !== 'number' || !Number.isInteger(value) || value < 0)
            throw new Error(`expected a whole number of messages, got ${JSON.stringify(value)}`);
          return value;
        },
      },
      store_empty_body: {
        default: 'unless_chat_state',
        validate(value) {
          if (value !== true && value !== false && value !== 'unless_chat_state')
            throw new Error(`expected true, false or unless_chat_state, got ${JSON.stringify(value)}`);
          return value;
        },
      },
    },
    start(_host, opts, ctx) {
      ctx.add_hook('offline_message_hook', (acc: unknown, from: Jid, to: Jid, packet: XmlElement) =>
        acc === 'bounce' ? store(env, opts, ctx, from, to, packet) : acc,
      );
      ctx.add_hook('resend_offline_messages_hook', (acc: unknown, user: string, host: string) =>
        pop(env, ctx, acc as [Jid, Jid, XmlElement][], user, host),
      );
    },
  };
}

/** Whether the message is worth keeping (XEP-0160 2, XEP-0334, ejabberd's store_empty_body). */
function worthStoring(packet: XmlElement, opts: OfflineOptions): boolean {
  let body = false;
  let chatState = false;
  let other = false;
  for (const c of packet[3]) {
    if (c[0] !== 'xmlelement') continue;
    const ns = get_attr_s('xmlns', c[2]);
    if (ns === NS_HINTS && (c[1] === 'no-store' || c[1] === 'no-permanent-store')) return false;
    if (ns === NS_HINTS && c[1] === 'store') return true;
    if (c[1] === 'body') body = true;
    else if (ns === NS_CHATSTATES) chatState = true;
    else if (c[1] !== 'thread') other = true;
  }
  if (body) return true;
  if (opts.store_empty_body === 'unless_chat_state') return other || !chatState;
  return opts.store_empty_body;
}

async function store(
  env: ServerEnv,
  opts: OfflineOptions,
  ctx: ModuleContext,
  from: Jid,
  to: Jid,
  packet: XmlElement,
): Promise<string> {
  // ejabberd_sm drops a headline nobody stores; only normal and chat messages are kept (XEP-0160 3).
  if (get_attr_s('type', packet[2]) === 'headline') return 'bounce';
  if (!(await env.auth.user_exists(to.luser, to.lserver))) return 'bounce';
  if (!worthStoring(packet, opts)) return 'dropped';
  const stamp = Date.now();
  // XEP-0203: the stamp says when the server received it; the recipient's client shows that time.
  const delay: XmlElement = [
    'xmlelement',
    'delay',
    [
      ['xmlns', NS_DELAY],
      ['from', to.lserver],
      ['stamp', new Date(stamp).toISOString().replace(/\.\d{3}Z$/, 'Z')],
    ],
    [['xmlcdata', 'Offline Storage']],
  ];
  const attrs = packet[2].filter(([k]) => k !== 'from' && k !== 'to');
  const kept: XmlElement = ['xmlelement', 'message', attrs, [...packet[3], delay]];
  const stored = await env.storage.offline.store(
    to.luser,
    to.lserver,
    { stamp, from: from.toString(), to: to.toString(), packet: element_to_string(kept) },
    opts.max_user_offline_messages,
  );
  if (stored) return 'stored';
  ctx.log.info(
    `mod_offline: message from ${from.toString()} to ${to.toString()} discarded: the offline queue is full (${opts.max_user_offline_messages})`,
  );
  ctx.node.ejabberd_router.route_error(
    from,
    to,
    packet,
    stanza_error('resource-constraint', 'The recipient is offline and their message queue is full'),
  );
  return 'discarded';
}

async function pop(
  env: ServerEnv,
  ctx: ModuleContext,
  acc: [Jid, Jid, XmlElement][],
  user: string,
  host: string,
): Promise<[Jid, Jid, XmlElement][]> {
  const out = [...acc];
  for (const m of await env.storage.offline.pop(user, host)) {
    const packet = parse_element(m.packet);
    if (packet[0] === 'error') {
      ctx.log.error(
        `mod_offline: a stored message for ${user}@${host} from ${m.from} is unreadable and was dropped`,
      );
      continue;
    }
    try {
      out.push([parse(m.from), parse(m.to), packet]);
    } catch {
      ctx.log.error(
        `mod_offline: a stored message for ${user}@${host} has a bad address (${m.from}) and was dropped`,
      );
    }
  }
  if (out.length > acc.length)
    ctx.log.debug(`mod_offline: ${out.length - acc.length} messages for ${user}@${host}`);
  return out;
}
