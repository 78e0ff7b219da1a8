/**
 * mod_blocking (XEP-0191, Blocking Command): a user's list of blocked JIDs, kept in the storage, and
 * enforced on every stanza the c2s passes through `privacy_check_packet`.
 *
 * The IQs (`<blocklist/>`, `<block/>`, `<unblock/>`) come without a `to`, so they reach the user's bare
 * JID and the handler on `ejabberd_sm`. After a change the same `<block/>` or `<unblock/>` is pushed to
 * every session of the user; a block also sends unavailable presence from the user's available
 * sessions to the newly blocked contacts that were receiving it (XEP-0191 section 3.3).
 *
 * `privacy_check_packet` runs for each stanza to and from a client, so each online user's list is kept
 * in memory: read from the storage once (the only time the hook answers with a promise), updated on
 * every change, dropped when the user's last session ends. Matching is ejabberd's (mod_privacy, XEP-0016
 * section 2.1): an item `domain` matches every JID at that domain, `domain/resource` that resource of any
 * JID at the domain, `user@domain` every resource, `user@domain/resource` exactly that JID.
 */
import { type Jid, string_to_jid } from '@tsjabberd/jid';
import {
  type GenModule,
  type Iq,
  iq_error,
  iq_result,
  type ModuleContext,
  stanza_error,
} from '@tsjabberd/router';
import { get_tag_attr_s, type XmlElement } from '@tsjabberd/xml-stanza';
import type { SubscriptionLists } from '../c2s/presence.js';
import type { ServerEnv } from './env.js';

export const NS_BLOCKING = 'urn:xmpp:blocking';
export const NS_BLOCKING_ERRORS = 'urn:xmpp:blocking:errors';

export type PrivacyVerdict = 'allow' | 'deny';

function item(jid: string): XmlElement {
  return ['xmlelement', 'item', [['jid', jid]], []];
}

function payload(name: 'block' | 'unblock' | 'blocklist', jids: readonly string[]): XmlElement {
  return ['xmlelement', name, [['xmlns', NS_BLOCKING]], jids.map(item)];
}

/** Whether the list `blocked` (prepared JID strings) matches `jid`, by ejabberd's rules. */
export function isBlocked(blocked: ReadonlySet<string>, jid: Jid): boolean {
  if (blocked.size === 0) return false;
  const { luser, lserver, lresource } = jid;
  if (blocked.has(lserver)) return true;
  if (lresource !== '' && blocked.has(`${lserver}/${lresource}`)) return true;
  if (luser === '') return false;
  const bare = `${luser}@${lserver}`;
  return blocked.has(bare) || (lresource !== '' && blocked.has(`${bare}/${lresource}`));
}

export function mod_blocking(env: ServerEnv): GenModule {
  /** `luser@lserver` → the block list of a user with a session on this node. */
  const cache = new Map<string, Set<string>>();
  /** Lists being read from the storage; a change in the meantime makes the read stale (deleted here). */
  const loading = new Map<string, Promise<Set<string>>>();
  let pushes = 0;

  function load(ctx: ModuleContext, luser: string, lserver: string): Promise<Set<string>> {
    const key = `${luser}@${lserver}`;
    const pending = loading.get(key);
    if (pending !== undefined) return pending;
    const read: Promise<Set<string>> = env.storage.blocking.list(luser, lserver).then(
      (jids) => {
        const list = new Set(jids);
        // Kept only if no change overtook the read, and the user still has a session to serve.
        if (loading.get(key) === read) {
          loading.delete(key);
          if (ctx.node.ejabberd_sm.get_user_sessions(luser, lserver).length > 0) cache.set(key, list);
        }
        return list;
      },
      (e) => {
        if (loading.get(key) === read) loading.delete(key);
        throw e;
      },
    );
    loading.set(key, read);
    return read;
  }

  /** The list, from the cache (sync) or the storage (a promise). */
  function list(ctx: ModuleContext, luser: string, lserver: string): Set<string> | Promise<Set<string>> {
    return cache.get(`${luser}@${lserver}`) ?? load(ctx, luser, lserver);
  }

  function verdict(blocked: Set<string>, from: Jid, to: Jid, dir: 'in' | 'out'): PrivacyVerdict {
    return isBlocked(blocked, dir === 'in' ? from : to) ? 'deny' : 'allow';
  }

  /**
   * The hook: never blocks what the server itself sends the user, nor the user's own bare JID talking
   * to its resources (pushes), as ejabberd's mod_privacy exempts them.
   */
  function check(
    ctx: ModuleContext,
    acc: unknown,
    user: Jid,
    from: Jid,
    to: Jid,
    dir: 'in' | 'out',
  ): unknown {
    if (acc === 'deny') return acc;
    if (dir === 'in') {
      if (from.luser === '' && from.lserver === user.lserver && from.lresource === '') return acc;
      if (from.luser === user.luser && from.lserver === user.lserver && from.lresource === '') return acc;
    } else {
      if (to.luser === '' && to.lserver === user.lserver && to.lresource === '') return acc;
      if (to.luser === user.luser && to.lserver === user.lserver && to.lresource === '') return acc;
    }
    const blocked = list(ctx, user.luser, user.lserver);
    if (blocked instanceof Set) return verdict(blocked, from, to, dir);
    return blocked.then((b) => verdict(b, from, to, dir));
  }

  /** After a change: the cache, if the user's list is there or being read, follows the storage. */
  function changed(luser: string, lserver: string, update: (list: Set<string>) => void): void {
    const key = `${luser}@${lserver}`;
    loading.delete(key);
    const cached = cache.get(key);
    if (cached !== undefined) update(cached);
  }

  /** The block or unblock push to every session of the user, from the user's bare JID. */
  function push(ctx: ModuleContext, owner: Jid, el: XmlElement): void {
    for (const session of ctx.node.ejabberd_sm.get_user_sessions(owner.luser, owner.lserver)) {
      const iq: XmlElement = [
        'xmlelement',
        'iq',
        [
          ['type', 'set'],
          ['id', `push-blocking-${++pushes}`],
        ],
        [el],
      ];
      ctx.route(owner, session.jid, iq);
    }
  }

  /**
   * XEP-0191 3.3: the newly blocked contacts that receive the user's presence (subscription `from` or
   * `both`, as `roster_get_subscription_lists` tells) get unavailable presence from each available
   * session, so that the user appears offline to them.
   */
  async function unavailableTo(ctx: ModuleContext, owner: Jid, blocked: string[]): Promise<void> {
    const sessions = ctx.node.ejabberd_sm
      .get_user_sessions(owner.luser, owner.lserver)
      .filter((s) => s.priority !== undefined);
    if (sessions.length === 0) return;
    const lists = await ctx.node.ejabberd_hooks.run_fold<SubscriptionLists>(
      'roster_get_subscription_lists',
      owner.lserver,
      { from: [], to: [] },
      [owner.luser, owner.lserver],
    );
    if (typeof lists !== 'object' || !Array.isArray(lists.from)) return;
    const set = new Set(blocked);
    const targets = lists.from.filter((j) => isBlocked(set, j));
    for (const session of sessions) {
      for (const target of targets) {
        ctx.route(session.jid, target, ['xmlelement', 'presence', [['type', 'unavailable']], []]);
      }
    }
  }

  /** The `jid` attributes of `<item/>`s, prepared, or the one that is not a JID. */
  function items(el: XmlElement): { jids: string[] } | { malformed: string } {
    const jids: string[] = [];
    for (const child of el[3]) {
      if (child[0] !== 'xmlelement' || child[1] !== 'item') continue;
      const raw = get_tag_attr_s('jid', child);
      const jid = string_to_jid(raw);
      if (jid === 'error') return { malformed: raw };
      const s = jid.toString();
      if (!jids.includes(s)) jids.push(s);
    }
    return { jids };
  }

  async function process(ctx: ModuleContext, host: string, from: Jid, to: Jid, iq: Iq): Promise<Iq> {
    if (from.luser !== to.luser || from.lserver !== to.lserver || from.lserver !== host)
      return iq_error(iq, stanza_error('not-allowed', 'Query to another users is forbidden'));
    const el = iq.sub_el as XmlElement;
    const { luser, lserver } = from;
    const owner = from.bare();
    const name = el[1];
    if (iq.type === 'get') {
      if (name !== 'blocklist') return iq_error(iq, stanza_error('bad-request'));
      const blocked = await list(ctx, luser, lserver);
      return iq_result(iq, [payload('blocklist', [...blocked].sort())]);
    }
    if (name !== 'block' && name !== 'unblock') return iq_error(iq, stanza_error('bad-request'));
    const parsed = items(el);
    if ('malformed' in parsed)
      return iq_error(iq, stanza_error('jid-malformed', `Not a JID: ${parsed.malformed}`));
    const { jids } = parsed;
    if (name === 'block') {
      if (jids.length === 0) return iq_error(iq, stanza_error('bad-request', 'No items found in this query'));
      await env.storage.blocking.add(luser, lserver, jids);
      changed(luser, lserver, (l) => {
        for (const j of jids) l.add(j);
      });
      ctx.log.info(`mod_blocking: ${owner.toString()} blocked ${jids.join(', ')}`);
      push(ctx, owner, payload('block', jids));
      unavailableTo(ctx, owner, jids).catch((e) =>
        ctx.log.error(
          `mod_blocking: unavailable presence for ${owner.toString()}: ${e instanceof Error ? e.message : String(e)}`,
        ),
      );
    } else if (jids.length === 0) {
      await env.storage.blocking.clear(luser, lserver);
      changed(luser, lserver, (l) => l.clear());
      ctx.log.info(`mod_blocking: ${owner.toString()} unblocked everyone`);
      push(ctx, owner, payload('unblock', []));
    } else {
      await env.storage.blocking.remove(luser, lserver, jids);
      changed(luser, lserver, (l) => {
        for (const j of jids) l.delete(j);
      });
      ctx.log.info(`mod_blocking: ${owner.toString()} unblocked ${jids.join(', ')}`);
      push(ctx, owner, payload('unblock', jids));
    }
    return iq_result(iq);
  }

  return {
    name: 'mod_blocking',
    start(host, _opts, ctx) {
      return {
        hooks: [
          [
            'privacy_check_packet',
            (acc: unknown, user: Jid, from: Jid, to: Jid, _packet: XmlElement, dir: 'in' | 'out') =>
              check(ctx, acc, user, from, to, dir),
            50,
          ],
          [
            'sm_remove_connection_hook',
            (_sid: unknown, jid: Jid) => {
              if (ctx.node.ejabberd_sm.get_user_sessions(jid.luser, jid.lserver).length === 0) {
                cache.delete(`${jid.luser}@${jid.lserver}`);
              }
            },
            50,
          ],
          ['disco_local_features', (acc: string[]) => [...acc, NS_BLOCKING], 50],
        ],
        iq_handlers: [['ejabberd_sm', NS_BLOCKING, (from, to, iq) => process(ctx, host, from, to, iq)]],
      };
    },
    stop(host) {
      for (const key of [...cache.keys()]) if (key.endsWith(`@${host}`)) cache.delete(key);
      for (const key of [...loading.keys()]) if (key.endsWith(`@${host}`)) loading.delete(key);
    },
  };
}
