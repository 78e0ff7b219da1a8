/**
 * The in-memory back end, for unit tests: the semantics of the SQLite one without a file. Accounts are
 * copied in and out, so a caller can neither change a stored row nor see a later change in a row it
 * was given. Nothing survives `close`.
 */

import type { Account, AccountStore, Storage, StoredPassword } from './storage.js';

export function memoryStorage(): Storage {
  /** host → user → account. */
  const hosts = new Map<string, Map<string, Account>>();
  let closed = false;

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

  return {
    accounts,
    async close() {
      closed = true;
      hosts.clear();
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
