/**
 * mod_roster (RFC 6121 sections 2 and 3; XEP-0237 roster versioning): the roster IQ (get, add/update,
 * remove), roster pushes to the user's interested resources, and the subscription state machine —
 * outbound through `roster_out_subscription` (the c2s), inbound through `roster_in_subscription`
 * (ejabberd_sm), the tables of RFC 6121 Appendix A. The c2s learns whom to broadcast presence to from
 * `roster_get_subscription_lists` and `roster_get_jid_info`.
 *
 * As ejabberd: a contact's pending request alone (subscription none, ask in) is kept as a hidden item,
 * left out of roster results and pushes (RFC 6121 3.1.3: not a roster item until the user acts), and
 * re-sent on the user's next initial presence. Unlike ejabberd, `versioning` answers an up-to-date
 * `ver` with an empty result and otherwise the whole roster (XEP-0237 allows both; no per-item diffs).
 */

import { randomBytes } from 'node:crypto';
import { type Jid, parse } from '@tsjabberd/jid';
import {
  type EjabberdNode,
  type GenModule,
  type Iq,
  iq_error,
  iq_result,
  type ModuleContext,
  stanza_error,
} from '@tsjabberd/router';
import { get_attr_s, type XmlElement } from '@tsjabberd/xml-stanza';
import type { JidInfo, SubscriptionLists } from '../c2s/presence.js';
import type { Ask, RosterItem, Subscription } from '../storage/storage.js';
import type { ServerEnv } from './env.js';

export const NS_ROSTER = 'jabber:iq:roster';
export const NS_ROSTER_VER = 'urn:xmpp:features:rosterver';

/** RFC 6121 2.3.3 lets a server bound names and groups; Prosody and ejabberd accept about this much. */
const MAX_TEXT = 1023;

export interface RosterOptions {
  /** XEP-0237: offer roster versioning (ejabberd's option; default false as ejabberd). */
  versioning: boolean;
  /** Most items a roster may hold (tsjabberd; 0 = unlimited); an add past it is resource-constraint. */
  max_items: number;
}

type SubType = 'subscribe' | 'subscribed' | 'unsubscribe' | 'unsubscribed';

interface State {
  subscription: Subscription;
  ask: Ask;
}

const hasOut = (ask: Ask) => ask === 'out' || ask === 'both';
const hasIn = (ask: Ask) => ask === 'in' || ask === 'both';
const addOut = (ask: Ask): Ask => (ask === 'in' || ask === 'both' ? 'both' : 'out');
const addIn = (ask: Ask): Ask => (ask === 'out' || ask === 'both' ? 'both' : 'in');
const dropOut = (ask: Ask): Ask => (ask === 'both' || ask === 'in' ? 'in' : 'none');
const dropIn = (ask: Ask): Ask => (ask === 'both' || ask === 'out' ? 'out' : 'none');
/** Gains the contact's presence (`to` added) / gives the user's (`from` added), and the reverse. */
const addTo = (s: Subscription): Subscription => (s === 'from' || s === 'both' ? 'both' : 'to');
const addFrom = (s: Subscription): Subscription => (s === 'to' || s === 'both' ? 'both' : 'from');
const dropTo = (s: Subscription): Subscription => (s === 'both' || s === 'from' ? 'from' : 'none');
const dropFrom = (s: Subscription): Subscription => (s === 'both' || s === 'to' ? 'to' : 'none');
const hasTo = (s: Subscription) => s === 'to' || s === 'both';
const hasFrom = (s: Subscription) => s === 'from' || s === 'both';

/**
 * RFC 6121 Appendix A.2 / A.3 (outbound) and A.4 / A.5 (inbound), as the change of one item's state.
 * `undefined`: the stanza changes nothing (and, inbound, is not delivered).
 */
export function out_state_change(s: State, type: SubType): State | undefined {
  switch (type) {
    case 'subscribe':
      return hasTo(s.subscription) || hasOut(s.ask) ? undefined : { ...s, ask: addOut(s.ask) };
    case 'subscribed':
      return hasIn(s.ask) ? { subscription: addFrom(s.subscription), ask: dropIn(s.ask) } : undefined;
    case 'unsubscribe':
      return hasTo(s.subscription) || hasOut(s.ask)
        ? { subscription: dropTo(s.subscription), ask: dropOut(s.ask) }
        : undefined;
    case 'unsubscribed':
      return hasFrom(s.subscription) || hasIn(s.ask)
        ? { subscription: dropFrom(s.subscription), ask: dropIn(s.ask) }
        : undefined;
  }
}

export function in_state_change(s: State, type: SubType): State | undefined {
  switch (type) {
    case 'subscribe':
      return hasFrom(s.subscription) || hasIn(s.ask) ? undefined : { ...s, ask: addIn(s.ask) };
    case 'subscribed':
      return hasOut(s.ask) ? { subscription: addTo(s.subscription), ask: dropOut(s.ask) } : undefined;
    case 'unsubscribe':
      return hasFrom(s.subscription) || hasIn(s.ask)
        ? { subscription: dropFrom(s.subscription), ask: dropIn(s.ask) }
        : undefined;
    case 'unsubscribed':
      return hasTo(s.subscription) || hasOut(s.ask)
        ? { subscription: dropTo(s.subscription), ask: dropOut(s.ask) }
        : undefined;
  }
}

/** ejabberd leaves a bare pending-in request out of the roster the user sees. */
function visible(item: RosterItem): boolean {
  return !(item.subscription === 'none' && item.ask === 'in');
}

function newItem(jid: string): RosterItem {
  return { jid, name: '', subscription: 'none', ask: 'none', groups: [], askMessage: '', approved: false };
}

/** The `<item/>` of RFC 6121 2.1.2. */
export function item_to_xml(item: RosterItem, remove = false): XmlElement {
  const attrs: [string, string][] = [['jid', item.jid]];
  if (item.name !== '') attrs.push(['name', item.name]);
  attrs.push(['subscription', remove ? 'remove' : item.subscription]);
  if (!remove && hasOut(item.ask)) attrs.push(['ask', 'subscribe']);
  if (!remove && item.approved) attrs.push(['approved', 'true']);
  const groups: XmlElement[] = remove
    ? []
    : item.groups.map((g) => ['xmlelement', 'group', [], [['xmlcdata', g]]]);
  return ['xmlelement', 'item', attrs, groups];
}

function cdata(el: XmlElement): string {
  let s = '';
  for (const c of el[3]) if (c[0] === 'xmlcdata') s += c[1];
  return s;
}

function status(packet: XmlElement): string {
  for (const c of packet[3]) if (c[0] === 'xmlelement' && c[1] === 'status') return cdata(c);
  return '';
}

function presence(type: string, children: XmlElement[] = []): XmlElement {
  return ['xmlelement', 'presence', type === '' ? [] : [['type', type]], children];
}

/**
 * RFC 6121 2.1.6: a roster push of `item` (or of its removal) to every resource of `user@host` that
 * requested the roster, with `ver` when versioning is on. mod_roster pushes with it after each change;
 * the roster commands (ejabberd's mod_admin_extra) after theirs, as ejabberd's push_roster_item does.
 */
export function push_roster_item(
  node: EjabberdNode,
  user: string,
  host: string,
  item: RosterItem,
  version: number,
  versioning: boolean,
  remove = false,
): void {
  const bare = parse(`${user}@${host}`);
  const attrs: [string, string][] = [['xmlns', NS_ROSTER]];
  if (versioning) attrs.push(['ver', String(version)]);
  for (const session of node.ejabberd_sm.get_user_sessions(user, host)) {
    if (session.info.rosterRequested !== true) continue;
    const packet: XmlElement = [
      'xmlelement',
      'iq',
      [
        ['type', 'set'],
        ['id', `push${randomBytes(6).toString('hex')}`],
      ],
      [['xmlelement', 'query', attrs, [item_to_xml(item, remove)]]],
    ];
    node.ejabberd_router.route(bare, session.jid, packet);
  }
}

export function mod_roster(env: ServerEnv): GenModule<RosterOptions> {
  return {
    name: 'mod_roster',
    options: {
      versioning: {
        default: false,
        validate(value) {
          if (typeof value !== 'boolean')
            throw new Error(`expected true or false, got ${JSON.stringify(value)}`);
          return value;
        },
      },
      max_items: {
        default: 0,
        validate(value) {
          if (typeof value !== 'number' || !Number.isInteger(value) || value < 0)
            throw new Error(`expected a whole number of items (0 = unlimited), got ${JSON.stringify(value)}`);
          return value;
        },
      },
    },
    start(host, opts, ctx) {
      const roster = new Roster(env, opts, ctx);
      ctx.add_iq_handler('ejabberd_sm', NS_ROSTER, (from, to, iq) => roster.process_iq(from, to, iq));
      ctx.add_hook(
        'roster_out_subscription',
        (acc: unknown, user: string, _h: string, contact: Jid, type: SubType) =>
          roster.out_subscription(acc, user, contact, type),
      );
      ctx.add_hook(
        'roster_in_subscription',
        (acc: unknown, user: string, _h: string, from: Jid, type: SubType, packet: XmlElement) =>
          roster.in_subscription(acc, user, from, type, packet),
      );
      ctx.add_hook('roster_get_subscription_lists', (_acc: unknown, user: string) =>
        roster.get_subscription_lists(user),
      );
      ctx.add_hook('roster_get_jid_info', (acc: unknown, user: string, _h: string, contact: Jid) =>
        roster.get_jid_info(acc as JidInfo, user, contact),
      );
      ctx.add_hook('resend_subscription_requests_hook', (acc: unknown, user: string) =>
        roster.pending_requests(acc as [Jid, XmlElement][], user),
      );
      ctx.add_hook('c2s_post_auth_features', (acc: unknown) =>
        opts.versioning
          ? [...(acc as XmlElement[]), ['xmlelement', 'ver', [['xmlns', NS_ROSTER_VER]], []]]
          : acc,
      );
      ctx.log.debug(`mod_roster: started on ${host}${opts.versioning ? ' with versioning' : ''}`);
    },
  };
}

/**
 * One host's rosters. Changes to one user's roster run one at a time (`env.rosters`, which the roster
 * commands share), so none is lost to a race.
 */
class Roster {
  constructor(
    private readonly env: ServerEnv,
    private readonly opts: RosterOptions,
    private readonly ctx: ModuleContext,
  ) {}

  private get host(): string {
    return this.ctx.host;
  }

  private get store() {
    return this.env.storage.roster;
  }

  /** Runs `fn` after every earlier change to `user`'s roster has finished. */
  private serialize<T>(user: string, fn: () => Promise<T>): Promise<T> {
    return this.env.rosters.run(`${user}@${this.host}`, fn);
  }

  // ---- the roster IQ (RFC 6121 2.1 - 2.5) ------------------------------------------------------

  async process_iq(from: Jid, to: Jid, iq: Iq): Promise<Iq> {
    // RFC 6121 2.1.5 / 2.3.3: only the user's own resources may read or change the roster.
    if (from.luser !== to.luser || from.lserver !== to.lserver)
      return iq_error(iq, stanza_error('forbidden'));
    const query = iq.sub_el as XmlElement;
    if (iq.type === 'get') return this.get(from, iq, query);
    return this.serialize(from.luser, () => this.set(from, iq, query));
  }

  private async get(from: Jid, iq: Iq, query: XmlElement): Promise<Iq> {
    // RFC 6121 2.1.6: a resource that asked for the roster is "interested" and gets the pushes.
    const session = this.ctx.node.ejabberd_sm.get_session(from.luser, from.lserver, from.lresource);
    if (session !== undefined) session.info.rosterRequested = true;
    const user = from.luser;
    if (this.opts.versioning) {
      const version = String(await this.store.version(user, this.host));
      if (get_attr_s('ver', query[2]) === version) return iq_result(iq); // 2.6.3: nothing changed
      const items = await this.store.get(user, this.host);
      return iq_result(iq, [
        [
          'xmlelement',
          'query',
          [
            ['xmlns', NS_ROSTER],
            ['ver', version],
          ],
          items.filter(visible).map((i) => item_to_xml(i)),
        ],
      ]);
    }
    const items = await this.store.get(user, this.host);
    return iq_result(iq, [
      ['xmlelement', 'query', [['xmlns', NS_ROSTER]], items.filter(visible).map((i) => item_to_xml(i))],
    ]);
  }

  private async set(from: Jid, iq: Iq, query: XmlElement): Promise<Iq> {
    const items = query[3].filter((c): c is XmlElement => c[0] === 'xmlelement');
    // RFC 6121 2.3.3: exactly one item.
    if (items.length !== 1 || items[0][1] !== 'item')
      return iq_error(iq, stanza_error('bad-request', 'A roster set carries exactly one <item/>'));
    const el = items[0];
    let contact: Jid;
    try {
      contact = parse(get_attr_s('jid', el[2]));
    } catch {
      return iq_error(iq, stanza_error('bad-request', `'${get_attr_s('jid', el[2])}' is not a valid JID`));
    }
    const jid = contact.toString();
    const user = from.luser;
    if (get_attr_s('subscription', el[2]) === 'remove') return this.remove(user, jid, contact, iq);
    const name = get_attr_s('name', el[2]);
    const groups: string[] = [];
    for (const g of el[3]) {
      if (g[0] !== 'xmlelement' || g[1] !== 'group') continue;
      const group = cdata(g);
      if (group === '') return iq_error(iq, stanza_error('not-acceptable', 'A group name is empty'));
      if (groups.includes(group))
        return iq_error(iq, stanza_error('bad-request', `The group '${group}' is given twice`));
      groups.push(group);
    }
    if (name.length > MAX_TEXT || groups.some((g) => g.length > MAX_TEXT))
      return iq_error(
        iq,
        stanza_error('not-acceptable', `Names and groups are limited to ${MAX_TEXT} characters`),
      );
    const existing = await this.store.getItem(user, this.host, jid);
    if (existing === undefined && this.opts.max_items > 0) {
      const count = (await this.store.get(user, this.host)).length;
      if (count >= this.opts.max_items) {
        this.ctx.log.info(
          `mod_roster: ${user}@${this.host} cannot add ${jid}: the roster is full (${count})`,
        );
        return iq_error(iq, stanza_error('resource-constraint', 'The roster is full'));
      }
    }
    // The client sets name and groups; subscription state only changes through presence (2.1.2.5).
    const item: RosterItem = { ...(existing ?? newItem(jid)), name, groups };
    const version = await this.store.put(user, this.host, item);
    this.push(user, item, version);
    return iq_result(iq);
  }

  /** RFC 6121 2.5.2: removing an item cancels both subscriptions first. */
  private async remove(user: string, jid: string, contact: Jid, iq: Iq): Promise<Iq> {
    const item = await this.store.getItem(user, this.host, jid);
    if (item === undefined || !visible(item)) return iq_error(iq, stanza_error('item-not-found'));
    const bare = this.userJid(user);
    if (hasTo(item.subscription) || hasOut(item.ask)) this.ctx.route(bare, contact, presence('unsubscribe'));
    if (hasFrom(item.subscription) || hasIn(item.ask)) {
      this.ctx.route(bare, contact, presence('unsubscribed'));
      if (hasFrom(item.subscription)) this.sendUnavailable(user, contact);
    }
    const version = await this.store.remove(user, this.host, jid);
    if (version !== undefined) this.push(user, item, version, true);
    return iq_result(iq);
  }

  // ---- subscriptions (RFC 6121 3) ----------------------------------------------------------------

  /** The user sent subscription presence to `contact`: update the item; whether the c2s routes it. */
  out_subscription(acc: unknown, user: string, contact: Jid, type: SubType): Promise<unknown> {
    return this.serialize(user, async () => {
      const jid = contact.toString();
      const item = (await this.store.getItem(user, this.host, jid)) ?? newItem(jid);
      const next = out_state_change(item, type);
      if (type === 'subscribed' && next === undefined) {
        // RFC 6121 3.4: approval before a request is a pre-approval, noted and not sent.
        if (!hasFrom(item.subscription) && !item.approved) {
          const approved = { ...item, approved: true };
          this.push(user, approved, await this.store.put(user, this.host, approved));
        }
        return false;
      }
      if (next !== undefined) {
        const changed: RosterItem = {
          ...item,
          ...next,
          askMessage: hasIn(next.ask) ? item.askMessage : '',
          approved: type === 'unsubscribed' ? false : item.approved,
        };
        this.push(user, changed, await this.store.put(user, this.host, changed));
      }
      if (type === 'subscribed') this.sendPresence(user, contact); // 3.1.5: the new subscriber learns it
      if (type === 'unsubscribed' && hasFrom(item.subscription)) this.sendUnavailable(user, contact); // 3.2.2
      return acc;
    });
  }

  /**
   * Subscription presence from `from` reached `user`: update the item, auto-reply where RFC 6121 says
   * the server answers for the user; the result tells ejabberd_sm whether to deliver it.
   */
  in_subscription(
    acc: unknown,
    user: string,
    from: Jid,
    type: SubType,
    packet: XmlElement,
  ): Promise<unknown> {
    if (acc !== true) return Promise.resolve(acc);
    return this.serialize(user, async () => {
      const bare = this.userJid(user);
      const contact = from.bare();
      if (!(await this.env.auth.user_exists(user, this.host))) {
        // 3.1.3: a request to an account that does not exist is answered with unsubscribed.
        if (type === 'subscribe') this.ctx.route(bare, contact, presence('unsubscribed'));
        return false;
      }
      const jid = contact.toString();
      const item = (await this.store.getItem(user, this.host, jid)) ?? newItem(jid);
      if (type === 'subscribe') {
        if (hasFrom(item.subscription)) {
          this.ctx.route(bare, contact, presence('subscribed')); // 3.1.3: already approved
          return false;
        }
        if (item.approved) {
          // 3.4: pre-approved: the subscription is established without asking the user.
          const approved = { ...item, subscription: addFrom(item.subscription), approved: false };
          this.push(user, approved, await this.store.put(user, this.host, approved));
          this.ctx.route(bare, contact, presence('subscribed'));
          this.sendPresence(user, contact);
          return false;
        }
      }
      const next = in_state_change(item, type);
      if (next === undefined) return type === 'subscribe'; // a repeated request is shown again
      const changed: RosterItem = {
        ...item,
        ...next,
        askMessage:
          type === 'subscribe' ? status(packet).slice(0, MAX_TEXT) : hasIn(next.ask) ? item.askMessage : '',
      };
      const version = await this.store.put(user, this.host, changed);
      if (visible(changed)) this.push(user, changed, version);
      // 3.3.3: a contact that unsubscribed from the user's presence stops getting it.
      if (type === 'unsubscribe' && hasFrom(item.subscription)) this.sendUnavailable(user, contact);
      return true;
    });
  }

  async get_subscription_lists(user: string): Promise<SubscriptionLists> {
    const lists: SubscriptionLists = { from: [], to: [] };
    for (const item of await this.store.get(user, this.host)) {
      if (item.subscription === 'none') continue;
      let jid: Jid;
      try {
        jid = parse(item.jid);
      } catch {
        continue;
      }
      if (hasFrom(item.subscription)) lists.from.push(jid);
      if (hasTo(item.subscription)) lists.to.push(jid);
    }
    return lists;
  }

  async get_jid_info(acc: JidInfo, user: string, contact: Jid): Promise<JidInfo> {
    const item = await this.store.getItem(user, this.host, contact.bare().toString());
    return item === undefined ? acc : { subscription: item.subscription, groups: [...item.groups] };
  }

  /** RFC 6121 3.1.3: requests the user has not answered, shown again at the next initial presence. */
  async pending_requests(acc: [Jid, XmlElement][], user: string): Promise<[Jid, XmlElement][]> {
    const out = [...acc];
    for (const item of await this.store.get(user, this.host)) {
      if (!hasIn(item.ask)) continue;
      try {
        const children: XmlElement[] =
          item.askMessage === '' ? [] : [['xmlelement', 'status', [], [['xmlcdata', item.askMessage]]]];
        out.push([parse(item.jid), presence('subscribe', children)]);
      } catch {}
    }
    return out;
  }

  // ---- pushes and presence on the user's behalf -------------------------------------------------

  private userJid(user: string): Jid {
    return parse(`${user}@${this.host}`);
  }

  /** RFC 6121 2.1.6: a roster push to every interested resource of the user. */
  private push(user: string, item: RosterItem, version: number, remove = false): void {
    push_roster_item(this.ctx.node, user, this.host, item, version, this.opts.versioning, remove);
  }

  /** The current presence of each available resource of the user, to `contact`. */
  private sendPresence(user: string, contact: Jid): void {
    for (const s of this.ctx.node.ejabberd_sm.get_user_sessions(user, this.host)) {
      if (s.presence === undefined) continue;
      const attrs = s.presence[2].filter(([k]) => k !== 'from' && k !== 'to');
      this.ctx.route(s.jid, contact, ['xmlelement', 'presence', attrs, s.presence[3]]);
    }
  }

  /** Unavailable presence from each available resource of the user, to `contact`. */
  private sendUnavailable(user: string, contact: Jid): void {
    for (const s of this.ctx.node.ejabberd_sm.get_user_sessions(user, this.host)) {
      if (s.priority !== undefined) this.ctx.route(s.jid, contact, presence('unavailable'));
    }
  }
}
