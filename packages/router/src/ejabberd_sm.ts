import type { Jid } from '@tsjabberd/jid';
import type { XmlElement } from '@tsjabberd/xml-stanza';
import type { EjabberdHooks } from './ejabberd_hooks.js';
import type { EjabberdRouter } from './ejabberd_router.js';
import type { GenIqHandler } from './gen_iq_handler.js';
import type { Logger } from './logger.js';
import { stanza_error, stanza_type } from './stanza_errors.js';
import type { PacketTrace } from './trace.js';

/** The process of a session: in ejabberd the c2s process of the client's stream. */
export interface SessionProcess {
  /** A packet for the client (ejabberd: `{route, From, To, Packet}` to the c2s process). */
  route(from: Jid, to: Jid, packet: XmlElement): void;
  /** A new session took this full JID: send `<conflict/>` and close the stream (RFC 6120 7.7.2.2). */
  replaced(): void;
  /**
   * Ends the stream with the stream error `condition` (RFC 6120 4.9.3), e.g. `not-authorized` when the
   * account was removed, `policy-violation` when an administrator kicks the session.
   */
  kick?(condition: string, reason: string): void;
}

/** A session id, ordered by age: ejabberd's `{erlang:timestamp(), Pid}`. */
export interface Sid {
  readonly time: number;
  readonly seq: number;
  readonly node: string;
}

/** A row of the session table: user, server, resource → session, priority, last presence, node. */
export interface Session {
  readonly sid: Sid;
  /** The full JID; its prepared parts are the key. */
  readonly jid: Jid;
  /** The node whose c2s process holds the stream. */
  readonly node: string;
  /** `undefined` until the client sends available presence (it is not "available" before). */
  priority: number | undefined;
  /** The last available presence the client sent. */
  presence: XmlElement | undefined;
  readonly info: Record<string, unknown>;
  readonly process: SessionProcess;
}

export interface SmDeps {
  node: string;
  router: EjabberdRouter;
  iq: GenIqHandler;
  hooks: EjabberdHooks;
  trace: PacketTrace;
  log: Logger;
  /** Whether an account exists (the auth back end, later); messages to unknown users bounce. */
  userExists?: (luser: string, lserver: string) => boolean;
}

const SUBSCRIPTION_TYPES = new Set(['subscribe', 'subscribed', 'unsubscribe', 'unsubscribed']);

/** Packets held for one user while a hook decides about an earlier one, before they bounce. */
const MAX_HELD = 10000;

/** Newer first: time, then sequence. */
function newer(a: Sid, b: Sid): boolean {
  return a.time > b.time || (a.time === b.time && a.seq > b.seq);
}

/**
 * ejabberd_sm, the session manager: the table of connected resources and the delivery rules of RFC 6121
 * section 8 for packets addressed to local users. "It searches for what user resource packet must be
 * sended via presence table." (Developers Guide)
 */
export class EjabberdSm {
  /** `luser@lserver` → the user's sessions. Users have few resources, so a small array each. */
  private readonly table = new Map<string, Session[]>();
  private count = 0;
  /**
   * `luser@lserver` → packets for that user held while an async hook (the roster's or offline storage)
   * decides about an earlier one: RFC 6120 10.1, a later message must not overtake a subscription.
   */
  private readonly held = new Map<string, [Jid, Jid, XmlElement][]>();
  private lastTime = 0;
  private seq = 0;
  private readonly userExists: (luser: string, lserver: string) => boolean;

  constructor(private readonly deps: SmDeps) {
    this.userExists = deps.userExists ?? (() => true);
  }

  /** A new session id, younger than every earlier one of this node. */
  make_sid(): Sid {
    const time = Date.now();
    this.seq = time === this.lastTime ? this.seq + 1 : 0;
    this.lastTime = time;
    return { time, seq: this.seq, node: this.deps.node };
  }

  /**
   * `ejabberd_sm:open_session`: `jid` (a full JID) is bound. A session already holding the same full
   * JID is replaced: its stream gets `<conflict/>` (RFC 6120 7.7.2.2, the server's policy we follow).
   */
  open_session(sid: Sid, jid: Jid, process: SessionProcess, info: Record<string, unknown> = {}): Session {
    const us = `${jid.luser}@${jid.lserver}`;
    const session: Session = {
      sid,
      jid,
      node: sid.node,
      priority: undefined,
      presence: undefined,
      info,
      process,
    };
    const existing = this.table.get(us);
    // Most users have one session: an exact one-slot array (a grown [] reserves 17 slots).
    const kept: Session[] = existing === undefined ? [session] : [];
    const replaced: Session[] = [];
    if (existing !== undefined) {
      for (const s of existing) (s.jid.lresource === jid.lresource ? replaced : kept).push(s);
      kept.push(session);
    }
    // The table is final before any c2s hears of it: a replaced session may close itself right away.
    this.table.set(us, kept);
    this.count += 1 - replaced.length;
    for (const old of replaced) {
      this.deps.log.info(
        `sm: session of ${old.jid.toString()} (node ${old.node}) replaced by a new one: conflict`,
      );
      this.deps.hooks.run('sm_remove_connection_hook', jid.lserver, [old.sid, old.jid, old.info]);
      old.process.replaced();
    }
    this.deps.hooks.run('sm_register_connection_hook', jid.lserver, [sid, jid, info]);
    return session;
  }

  /** `ejabberd_sm:close_session`: the stream of `sid` ended. */
  close_session(sid: Sid, jid: Jid): void {
    const us = `${jid.luser}@${jid.lserver}`;
    const sessions = this.table.get(us);
    if (sessions === undefined) return;
    const i = sessions.findIndex((s) => s.sid === sid);
    if (i === -1) return;
    const [session] = sessions.splice(i, 1);
    if (sessions.length === 0) this.table.delete(us);
    this.count--;
    this.deps.hooks.run('sm_remove_connection_hook', jid.lserver, [sid, jid, session.info]);
  }

  /** `ejabberd_sm:set_presence`: the client sent available presence with `priority`. */
  set_presence(sid: Sid, jid: Jid, priority: number, presence: XmlElement): void {
    const session = this.find_sid(sid, jid);
    if (session === undefined) return;
    session.priority = priority;
    session.presence = presence;
    this.deps.hooks.run('set_presence_hook', jid.lserver, [jid, priority, presence]);
  }

  /** `ejabberd_sm:unset_presence`: the client became unavailable (but keeps its stream). */
  unset_presence(sid: Sid, jid: Jid, status = ''): void {
    const session = this.find_sid(sid, jid);
    if (session === undefined) return;
    session.priority = undefined;
    session.presence = undefined;
    this.deps.hooks.run('unset_presence_hook', jid.lserver, [jid, status]);
  }

  private find_sid(sid: Sid, jid: Jid): Session | undefined {
    return this.table.get(`${jid.luser}@${jid.lserver}`)?.find((s) => s.sid === sid);
  }

  /** The session holding a full JID; with two (a race between nodes), the newest wins. */
  get_session(luser: string, lserver: string, lresource: string): Session | undefined {
    const sessions = this.table.get(`${luser}@${lserver}`);
    if (sessions === undefined) return undefined;
    let best: Session | undefined;
    for (const s of sessions) {
      if (s.jid.lresource === lresource && (best === undefined || newer(s.sid, best.sid))) best = s;
    }
    return best;
  }

  /** `ejabberd_sm:get_user_sessions`. */
  get_user_sessions(luser: string, lserver: string): readonly Session[] {
    return this.table.get(`${luser}@${lserver}`) ?? [];
  }

  /** `ejabberd_sm:get_user_resources`: every bound resource, available or not. */
  get_user_resources(luser: string, lserver: string): string[] {
    return this.get_user_sessions(luser, lserver).map((s) => s.jid.lresource);
  }

  /** `ejabberd_sm:get_user_present_resources`: `[priority, resource]` of the available ones. */
  get_user_present_resources(luser: string, lserver: string): [number, string][] {
    const out: [number, string][] = [];
    for (const s of this.get_user_sessions(luser, lserver)) {
      if (s.priority !== undefined) out.push([s.priority, s.jid.lresource]);
    }
    return out;
  }

  /** `ejabberd_sm:connected_users_number`. */
  connected_users_number(): number {
    return this.count;
  }

  /** `ejabberd_sm:dirty_get_sessions_list`: the full JID of every session. */
  dirty_get_sessions_list(): Jid[] {
    const out: Jid[] = [];
    for (const sessions of this.table.values()) for (const s of sessions) out.push(s.jid);
    return out;
  }

  /** `ejabberd_sm:route`: a packet for `to`, a JID with a user part on a host served here. */
  route(from: Jid, to: Jid, packet: XmlElement): void {
    this.deps.trace.step(packet, 'sm');
    if (this.held.size !== 0) {
      const queue = this.held.get(`${to.luser}@${to.lserver}`);
      if (queue !== undefined) {
        if (queue.length < MAX_HELD) queue.push([from, to, packet]);
        else this.bounce(from, to, packet, 'resource-constraint');
        return;
      }
    }
    this.dispatch(from, to, packet);
  }

  private dispatch(from: Jid, to: Jid, packet: XmlElement): void {
    if (to.lresource === '') this.route_bare(from, to, packet);
    else this.route_full(from, to, packet);
  }

  /**
   * Calls `fn` with a hook's answer: at once when it is ready, else once it resolves, holding the
   * user's later packets until then and routing them afterwards, in order.
   */
  private whenReady<T>(to: Jid, x: T | Promise<T>, fn: (value: T) => void): void {
    if (!(x instanceof Promise)) {
      fn(x);
      return;
    }
    const us = `${to.luser}@${to.lserver}`;
    if (!this.held.has(us)) this.held.set(us, []);
    x.then(fn, (e) =>
      this.deps.log.error(`sm: a hook for ${us} failed: ${e instanceof Error ? e.message : String(e)}`),
    ).then(() => this.release(us));
  }

  private release(us: string): void {
    const queue = this.held.get(us);
    if (queue === undefined) return;
    this.held.delete(us);
    while (queue.length > 0) {
      const [from, to, packet] = queue.shift()!;
      this.dispatch(from, to, packet);
      const again = this.held.get(us);
      if (again !== undefined) {
        // That one waits on a hook in turn: the rest stays behind it.
        again.push(...queue);
        return;
      }
    }
  }

  private route_full(from: Jid, to: Jid, packet: XmlElement): void {
    const session = this.get_session(to.luser, to.lserver, to.lresource);
    if (session !== undefined) {
      this.deliver(session, from, to, packet);
      return;
    }
    // RFC 6121 8.5.3.2: the resource is not online.
    const type = stanza_type(packet);
    switch (packet[1]) {
      case 'message':
        if (type === '' || type === 'normal' || type === 'chat') this.route_message(from, to, packet, type);
        else if (type === 'groupchat') this.bounce(from, to, packet, 'service-unavailable');
        else this.drop(packet, `${type} message to an offline resource`);
        return;
      case 'iq':
        if (type === 'get' || type === 'set') this.bounce(from, to, packet, 'service-unavailable');
        else this.drop(packet, `iq ${type} to an offline resource`);
        return;
      case 'presence':
        // Subscription requests are about the account, not a resource (RFC 6121 3.1.3).
        if (SUBSCRIPTION_TYPES.has(type)) this.route_presence(from, to, packet, type);
        else this.drop(packet, 'presence to an offline resource');
        return;
      default:
        this.drop(packet, `<${packet[1]}/> is not a stanza`);
    }
  }

  private route_bare(from: Jid, to: Jid, packet: XmlElement): void {
    const type = stanza_type(packet);
    switch (packet[1]) {
      case 'message':
        // RFC 6121 8.5.2.1.1: groupchat to a bare JID is an error; an error message is dropped.
        if (type === 'groupchat') this.bounce(from, to, packet, 'service-unavailable');
        else if (type === 'error') this.drop(packet, 'error message to a bare JID');
        else this.route_message(from, to, packet, type);
        return;
      case 'iq':
        // The server answers IQs to a bare JID on the user's behalf (RFC 6121 8.5.2.1.3).
        this.deps.iq.handle('ejabberd_sm', from, to, packet);
        return;
      case 'presence':
        this.route_presence(from, to, packet, type);
        return;
      default:
        this.drop(packet, `<${packet[1]}/> is not a stanza`);
    }
  }

  /**
   * RFC 6121 8.5.2.1.1: a message for the account goes to the available resources of highest
   * non-negative priority (all of them on a tie); a headline to every resource of non-negative
   * priority; with none, to `offline_message_hook` (mod_offline stores it; nobody: it bounces).
   */
  private route_message(from: Jid, to: Jid, packet: XmlElement, type: string): void {
    const sessions = this.table.get(`${to.luser}@${to.lserver}`);
    let max = -1;
    if (sessions !== undefined) {
      for (const s of sessions) if (s.priority !== undefined && s.priority > max) max = s.priority;
    }
    if (sessions !== undefined && max >= 0) {
      const targets: Session[] = [];
      for (const s of sessions) {
        const p = s.priority;
        if (p !== undefined && (p === max || (type === 'headline' && p >= 0))) targets.push(s);
      }
      this.deliver_all(targets, from, packet);
      return;
    }
    if (!this.userExists(to.luser, to.lserver)) {
      this.bounce(from, to, packet, 'service-unavailable');
      return;
    }
    this.deps.trace.step(packet, 'offline_message_hook');
    this.whenReady(
      to,
      this.deps.hooks.run_fold<string>('offline_message_hook', to.lserver, 'bounce', [from, to, packet]),
      (acc) => {
        if (acc !== 'bounce') this.deps.trace.end(packet, `offline_message_hook (${acc})`);
        else if (type === 'headline') this.drop(packet, 'headline for a user with no available resource');
        else this.bounce(from, to, packet, 'service-unavailable');
      },
    );
  }

  /**
   * Presence for the account: subscription requests pass `roster_in_subscription` (the roster module
   * decides; nobody: accepted), probes pass `presence_probe_hook`; then every available resource gets it.
   */
  private route_presence(from: Jid, to: Jid, packet: XmlElement, type: string): void {
    const { hooks } = this.deps;
    const broadcast = (ok: unknown) => {
      if (ok === true || ok === 'deliver') this.broadcast(from, to, packet);
      else this.deps.trace.end(packet, `presence ${type} taken by a hook`);
    };
    if (SUBSCRIPTION_TYPES.has(type)) {
      this.whenReady(
        to,
        hooks.run_fold<boolean>('roster_in_subscription', to.lserver, true, [
          to.luser,
          to.lserver,
          from,
          type,
          packet,
        ]),
        broadcast,
      );
    } else if (type === 'probe') {
      this.whenReady(
        to,
        hooks.run_fold<string>('presence_probe_hook', to.lserver, 'deliver', [from, to, packet]),
        broadcast,
      );
    } else {
      this.broadcast(from, to, packet);
    }
  }

  private broadcast(from: Jid, to: Jid, packet: XmlElement): void {
    const targets = (this.table.get(`${to.luser}@${to.lserver}`) ?? []).filter(
      (s) => s.priority !== undefined,
    );
    if (targets.length === 0) this.drop(packet, 'presence for a user with no available resource');
    else this.deliver_all(targets, from, packet);
  }

  /** Delivers to each session, addressed to its full JID, as ejabberd routes to each resource. */
  private deliver_all(targets: Session[], from: Jid, packet: XmlElement): void {
    if (targets.length === 1) {
      this.deliver(targets[0], from, targets[0].jid, packet);
      return;
    }
    const { trace } = this.deps;
    if (trace.enabled) trace.end(packet, targets.map((s) => `session ${s.jid.toString()}`).join(', '));
    for (const s of targets) this.send(s, from, s.jid, packet);
  }

  private deliver(session: Session, from: Jid, to: Jid, packet: XmlElement): void {
    const { trace } = this.deps;
    if (trace.enabled) trace.end(packet, `session ${session.jid.toString()}`);
    this.send(session, from, to, packet);
  }

  private send(session: Session, from: Jid, to: Jid, packet: XmlElement): void {
    try {
      session.process.route(from, to, packet);
    } catch (e) {
      this.deps.log.error(
        `sm: the session of ${session.jid.toString()} failed to take <${packet[1]}/> from ${from.toString()}: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
  }

  private bounce(
    from: Jid,
    to: Jid,
    packet: XmlElement,
    condition: 'service-unavailable' | 'resource-constraint',
  ): void {
    this.deps.trace.end(packet, `sm (bounced: ${condition})`);
    this.deps.router.route_error(from, to, packet, stanza_error(condition));
  }

  private drop(packet: XmlElement, why: string): void {
    this.deps.trace.end(packet, `sm (dropped: ${why})`);
  }
}
