/**
 * The in-memory back end, for unit tests: the semantics of the SQLite one without a file. Rows are
 * copied in and out, so a caller can neither change a stored row nor see a later change in a row it
 * was given. Nothing survives `close`.
 */

import type {
  Account,
  AccountStore,
  BlockingStore,
  LastActivity,
  LastStore,
  OfflineMessage,
  OfflineStore,
  PrivateStore,
  RosterItem,
  RosterStore,
  Storage,
  StoredPassword,
  VcardStore,
} from './storage.js';

/** What is kept per user besides the account. */
interface UserData {
  roster: Map<string, RosterItem>;
  rosterVersion: number;
  offline: OfflineMessage[];
  last?: LastActivity;
  vcard?: string;
  private: Map<string, string>;
  blocking: Set<string>;
}

export function memoryStorage(): Storage {
  /** host → user → account. */
  const hosts = new Map<string, Map<string, Account>>();
  /** `userKey(user, host)` → everything else stored for the user. */
  const data = new Map<string, UserData>();
  let closed = false;

  /** The user's data, created on first write. */
  const user = (u: string, h: string): UserData => {
    const key = userKey(u, h);
    let d = data.get(key);
    if (d === undefined) {
      d = { roster: new Map(), rosterVersion: 0, offline: [], private: new Map(), blocking: new Set() };
      data.set(key, d);
    }
    return d;
  };
  const peek = (u: string, h: string): UserData | undefined => data.get(userKey(u, h));

  const open = (what: string) => {
    if (closed) throw new Error(`memory storage is closed (${what})`);
  };

  const accounts: AccountStore = {
    async get(user, host) {
      open('get account');
      const account = hosts.get(host)?.get(user);
      return account === undefined ? undefined : structuredClone(account);
    },
    async create(account) {
      open('create account');
      let users = hosts.get(account.host);
      if (users === undefined) {
        users = new Map();
        hosts.set(account.host, users);
      }
      if (users.has(account.user)) return false;
      users.set(account.user, structuredClone(account));
      return true;
    },
    async setPassword(user: string, host: string, password: StoredPassword) {
      open('set password');
      const account = hosts.get(host)?.get(user);
      if (account === undefined) return false;
      account.password = structuredClone(password);
      return true;
    },
    async remove(user, host) {
      open('remove account');
      // The user's data goes even without an account (as in the SQLite back end).
      data.delete(userKey(user, host));
      const users = hosts.get(host);
      if (users?.delete(user) !== true) return false;
      if (users.size === 0) hosts.delete(host);
      return true;
    },
    async list(host) {
      open('list accounts');
      return [...(hosts.get(host)?.keys() ?? [])].sort(compareCodePoints);
    },
    async count(host) {
      open('count accounts');
      return hosts.get(host)?.size ?? 0;
    },
  };

  const roster: RosterStore = {
    async get(u, h) {
      open('get roster');
      const items = [...(peek(u, h)?.roster.values() ?? [])].map(copyItem);
      return items.sort((a, b) => compareCodePoints(a.jid, b.jid));
    },
    async getItem(u, h, jid) {
      open('get roster item');
      const item = peek(u, h)?.roster.get(jid);
      return item === undefined ? undefined : copyItem(item);
    },
    async put(u, h, item) {
      open('put roster item');
      const d = user(u, h);
      d.roster.set(item.jid, copyItem(item));
      return ++d.rosterVersion;
    },
    async remove(u, h, jid) {
      open('remove roster item');
      const d = peek(u, h);
      if (d?.roster.delete(jid) !== true) return undefined;
      return ++d.rosterVersion;
    },
    async version(u, h) {
      open('get roster version');
      return peek(u, h)?.rosterVersion ?? 0;
    },
  };

  const offline: OfflineStore = {
    async store(u, h, message, max) {
      open('store offline message');
      const d = user(u, h);
      if (d.offline.length >= max) return false;
      d.offline.push({ stamp: message.stamp, from: message.from, to: message.to, packet: message.packet });
      return true;
    },
    async pop(u, h) {
      open('pop offline messages');
      const d = peek(u, h);
      if (d === undefined) return [];
      return d.offline.splice(0);
    },
    async count(u, h) {
      open('count offline messages');
      return peek(u, h)?.offline.length ?? 0;
    },
  };

  const last: LastStore = {
    async get(u, h) {
      open('get last activity');
      const l = peek(u, h)?.last;
      return l === undefined ? undefined : { seconds: l.seconds, status: l.status };
    },
    async set(u, h, value) {
      open('set last activity');
      user(u, h).last = { seconds: value.seconds, status: value.status };
    },
  };

  const vcard: VcardStore = {
    async get(u, h) {
      open('get vcard');
      return peek(u, h)?.vcard;
    },
    async set(u, h, xml) {
      open('set vcard');
      user(u, h).vcard = xml;
    },
  };

  const privateStore: PrivateStore = {
    async get(u, h, ns) {
      open('get private');
      return peek(u, h)?.private.get(ns);
    },
    async set(u, h, entries) {
      open('set private');
      const d = user(u, h);
      for (const [ns, xml] of entries) d.private.set(ns, xml);
    },
  };

  const blocking: BlockingStore = {
    async list(u, h) {
      open('list blocked');
      return [...(peek(u, h)?.blocking ?? [])].sort(compareCodePoints);
    },
    async add(u, h, jids) {
      open('block');
      const d = user(u, h);
      for (const j of jids) d.blocking.add(j);
    },
    async remove(u, h, jids) {
      open('unblock');
      const d = peek(u, h);
      for (const j of jids) d?.blocking.delete(j);
    },
    async clear(u, h) {
      open('unblock all');
      peek(u, h)?.blocking.clear();
    },
  };

  return {
    accounts,
    roster,
    offline,
    last,
    vcard,
    private: privateStore,
    blocking,
    async close() {
      closed = true;
      hosts.clear();
      data.clear();
    },
  };
}

/**
 * Code point order, which is UTF-8 byte order: SQLite's BINARY collation (and PostgreSQL's "C"). Plain
 * `sort()` compares UTF-16 code units, which puts characters beyond U+FFFF before U+E000..U+FFFF.
 */
function compareCodePoints(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** The key of a user's data: unambiguous whatever the strings hold. */
function userKey(user: string, host: string): string {
  return JSON.stringify([host, user]);
}

/**
 * A copy of a roster item with exactly its fields (as the SQLite back end returns them) and its groups
 * without duplicates, the first occurrence kept.
 */
function copyItem(item: RosterItem): RosterItem {
  return {
    jid: item.jid,
    name: item.name,
    subscription: item.subscription,
    ask: item.ask,
    groups: [...new Set(item.groups)],
    askMessage: item.askMessage,
    approved: item.approved,
  };
}
