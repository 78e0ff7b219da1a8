import type { Jid } from '@tsjabberd/jid';
import type { EjabberdNode, Sid } from '@tsjabberd/router';
import type { XmlElement } from '@tsjabberd/xml-stanza';

/** `roster_get_subscription_lists`: who receives the user's presence (`from`), whose the user gets (`to`). */
export interface SubscriptionLists {
  /** Contacts subscribed to the user's presence (subscription `from` or `both`). */
  from: Jid[];
  /** Contacts whose presence the user is subscribed to (subscription `to` or `both`). */
  to: Jid[];
}

/** `roster_get_jid_info`: the user's subscription to and from one contact. */
export interface JidInfo {
  subscription: 'none' | 'to' | 'from' | 'both';
  groups: string[];
}

const SUBSCRIPTION_TYPES = new Set(['subscribe', 'subscribed', 'unsubscribe', 'unsubscribed']);

/** What the presence logic needs from its connection. */
export interface PresenceOwner {
  readonly node: EjabberdNode;
  readonly jid: Jid;
  readonly sid: Sid;
  /** Writes a packet to the client, as delivered from `from`. */
  deliver(from: Jid, to: Jid, packet: XmlElement): void;
  /** The privacy verdict for a stanza the user sends (mod_blocking: 'deny' for a blocked contact). */
  allowedOut(to: Jid, packet: XmlElement): boolean | Promise<boolean>;
}

/**
 * The presence half of ejabberd_c2s (RFC 6121 sections 3 and 4) for one session: initial presence
 * (broadcast to subscribers, probes to contacts, pending subscription requests and offline messages
 * delivered), presence updates, directed presence (ejabberd's `pres_a`), outbound subscription
 * stanzas (through `roster_out_subscription`), probes answered for subscribers, and the unavailable
 * broadcast when the session ends. The roster itself lives in mod_roster and is reached through hooks,
 * so a server without mod_roster still keeps sessions, just without broadcasts.
 */
export class C2sPresence {
  /** The session has sent initial presence and not gone unavailable since. */
  available = false;
  /** The last available presence the client broadcast. */
  private last: XmlElement | undefined;
  /** ejabberd's `pres_a`: JIDs the client sent directed available presence to. */
  private readonly directed = new Map<string, Jid>();

  constructor(private readonly owner: PresenceOwner) {}

  private get hooks() {
    return this.owner.node.ejabberd_hooks;
  }

  private get host(): string {
    return this.owner.jid.lserver;
  }

  /** Presence without `to`: the session's own availability (RFC 6121 4.2, 4.4, 4.5). */
  async self(packet: XmlElement, type: string, priority: number): Promise<void> {
    const { node, jid, sid } = this.owner;
    if (type === 'unavailable') {
      if (!this.available) return;
      await this.goUnavailable(packet, statusOf(packet));
      return;
    }
    if (type !== '') return; // probes, errors and subscriptions without a contact mean nothing
    const initial = !this.available;
    this.available = true;
    this.last = packet;
    node.ejabberd_sm.set_presence(sid, jid, priority, packet);
    const lists = await this.lists();
    // RFC 6121 4.2.2: to the subscribers and to all of the user's available resources (this one too).
    await this.broadcast(packet, [...lists.from, jid.bare()], initial ? [] : [...this.directed.values()]);
    if (!initial) return;
    // RFC 6121 4.2.2: probe the contacts the user is subscribed to, and the user's other resources.
    const probe: XmlElement = ['xmlelement', 'presence', [['type', 'probe']], []];
    for (const contact of [...lists.to, jid.bare()]) node.route(jid, contact, probe);
    // RFC 6121 3.1.3: subscription requests that arrived while the user was offline.
    const requests = await this.hooks.run_fold<[Jid, XmlElement][]>(
      'resend_subscription_requests_hook',
      this.host,
      [],
      [jid.luser, jid.lserver],
    );
    if (Array.isArray(requests)) for (const [from, p] of requests) this.owner.deliver(from, jid.bare(), p);
    const messages = await this.hooks.run_fold<[Jid, Jid, XmlElement][]>(
      'resend_offline_messages_hook',
      this.host,
      [],
      [jid.luser, jid.lserver],
    );
    if (Array.isArray(messages)) for (const [from, to, p] of messages) this.owner.deliver(from, to, p);
  }

  /** Presence with `to`: subscription management, probes, directed presence (RFC 6121 3, 4.6). */
  async outbound(to: Jid, packet: XmlElement, type: string): Promise<void> {
    const { node, jid } = this.owner;
    if (SUBSCRIPTION_TYPES.has(type)) {
      // RFC 6121 3.1.2: subscription stanzas are about accounts: stamped with bare JIDs both ways.
      const contact = to.bare();
      const route = await this.hooks.run_fold<boolean>('roster_out_subscription', this.host, true, [
        jid.luser,
        jid.lserver,
        contact,
        type,
        packet,
      ]);
      if (route === true) node.route(jid.bare(), contact, withoutAddresses(packet));
      return;
    }
    if (type === '') {
      this.directed.set(to.toString(), to);
    } else if (type === 'unavailable') {
      this.directed.delete(to.toString());
    }
    node.route(jid, to, packet);
  }

  /**
   * A presence stanza routed to this session: probes are answered here and never shown to the client
   * (RFC 6121 4.3.2); the rest is delivered. Returns whether to deliver.
   */
  inbound(from: Jid, type: string): boolean | Promise<boolean> {
    if (type !== 'probe') return true;
    const { jid } = this.owner;
    const last = this.last;
    if (!this.available || last === undefined || from.equals(jid)) return false;
    const answer = () => this.owner.node.route(jid, from, withoutAddresses(last));
    if ((from.luser === jid.luser && from.lserver === jid.lserver) || this.directed.has(from.toString())) {
      answer();
      return false;
    }
    return Promise.resolve(
      this.hooks.run_fold<JidInfo>('roster_get_jid_info', this.host, { subscription: 'none', groups: [] }, [
        jid.luser,
        jid.lserver,
        from.bare(),
      ]),
    ).then((info) => {
      if (typeof info === 'object' && (info.subscription === 'from' || info.subscription === 'both'))
        answer();
      return false;
    });
  }

  /**
   * The session ends (stream closed, connection lost, replaced or kicked): if it was available, its
   * subscribers and directed-presence targets learn it is unavailable (RFC 6121 4.5.2).
   */
  async terminate(status: string): Promise<void> {
    if (!this.available) return;
    const packet: XmlElement = ['xmlelement', 'presence', [['type', 'unavailable']], []];
    if (status !== '') packet[3].push(['xmlelement', 'status', [], [['xmlcdata', status]]]);
    await this.goUnavailable(packet, status);
  }

  private async goUnavailable(packet: XmlElement, status: string): Promise<void> {
    const { node, jid, sid } = this.owner;
    this.available = false;
    this.last = undefined;
    const directed = [...this.directed.values()];
    this.directed.clear();
    node.ejabberd_sm.unset_presence(sid, jid, status);
    const lists = await this.lists();
    await this.broadcast(packet, [...lists.from, jid.bare()], directed);
  }

  private async lists(): Promise<SubscriptionLists> {
    const lists = await this.hooks.run_fold<SubscriptionLists>(
      'roster_get_subscription_lists',
      this.host,
      { from: [], to: [] },
      [this.owner.jid.luser, this.owner.jid.lserver],
    );
    return typeof lists === 'object' ? lists : { from: [], to: [] };
  }

  /** Routes `packet` from this session to each target once, skipping those privacy forbids. */
  private async broadcast(packet: XmlElement, targets: Jid[], extra: Jid[]): Promise<void> {
    const { node, jid } = this.owner;
    const seen = new Set<string>();
    const clean = withoutAddresses(packet);
    for (const to of [...targets, ...extra]) {
      const key = to.toString();
      if (seen.has(key)) continue;
      seen.add(key);
      if (await this.owner.allowedOut(to, clean)) node.route(jid, to, clean);
    }
  }
}

/** The packet without `from`/`to`, which the router and the receiving c2s stamp. */
function withoutAddresses(packet: XmlElement): XmlElement {
  const attrs = packet[2].filter(([k]) => k !== 'from' && k !== 'to');
  return attrs.length === packet[2].length ? packet : ['xmlelement', packet[1], attrs, packet[3]];
}

function statusOf(packet: XmlElement): string {
  for (const child of packet[3]) {
    if (child[0] === 'xmlelement' && child[1] === 'status') {
      let s = '';
      for (const c of child[3]) if (c[0] === 'xmlcdata') s += c[1];
      return s;
    }
  }
  return '';
}
