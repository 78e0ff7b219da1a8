/**
 * The SQLite stores of the IM data kept per user (roster, offline messages, last activity, vCard,
 * private storage, block list), on the tables of schema version 2 (see `MIGRATIONS` in sqlite.ts).
 *
 * As for accounts, every write is committed (the WAL fsynced) before its promise resolves: a write of
 * one statement is its own autocommit transaction, and a write of several runs in `db.transaction`.
 */

import type Database from 'better-sqlite3';
import type {
  Ask,
  BlockingStore,
  LastActivity,
  LastStore,
  OfflineMessage,
  OfflineStore,
  PrivateStore,
  RosterItem,
  RosterStore,
  Subscription,
  VcardStore,
} from './storage.js';

/** Runs a statement, failing once the storage is closed and naming the file in any error. */
export type Runner = <T>(what: string, fn: () => T) => T;

/** The tables holding data of a user, each keyed by (host, user); children before their parents. */
const USER_TABLES = [
  'roster_groups',
  'roster_items',
  'roster_versions',
  'offline_messages',
  'last_activity',
  'vcards',
  'private_storage',
  'blocked_jids',
] as const;

/**
 * Prepares the deletion of everything stored for a user besides the account row. The returned function
 * must run inside the caller's transaction (the account's removal).
 */
export function prepareUserDataRemoval(db: Database.Database): (host: string, user: string) => void {
  const stmts = USER_TABLES.map((table) =>
    db.prepare<[string, string]>(`DELETE FROM ${table} WHERE host = ? AND user = ?`),
  );
  return (host, user) => {
    for (const stmt of stmts) stmt.run(host, user);
  };
}

/** A `roster_items` row as SQLite returns it. */
interface RosterRow {
  jid: string;
  name: string;
  subscription: Subscription;
  ask: Ask;
  ask_message: string;
  approved: number;
}

/** The groups of an item without duplicates, first occurrence kept (the contract's "no duplicates"). */
function uniqueGroups(groups: readonly string[]): string[] {
  return [...new Set(groups)];
}

/**
 * Rosters: one `roster_items` row per (host, user, jid), its groups in `roster_groups` ordered by
 * `position`, and the user's XEP-0237 version in `roster_versions` (no row: version 0). A put or remove
 * changes the item and bumps the version in one transaction.
 */
export class SqliteRosterStore implements RosterStore {
  private readonly versionStmt: Database.Statement<[string, string], { version: number }>;
  private readonly readAll: (host: string, user: string) => RosterItem[];
  private readonly readItem: (host: string, user: string, jid: string) => RosterItem | undefined;
  private readonly putTx: (host: string, user: string, item: RosterItem) => number;
  private readonly removeTx: (host: string, user: string, jid: string) => number | undefined;

  constructor(
    db: Database.Database,
    private readonly run: Runner,
  ) {
    const itemsStmt = db.prepare<[string, string], RosterRow>(
      `SELECT jid, name, subscription, ask, ask_message, approved FROM roster_items
       WHERE host = ? AND user = ? ORDER BY jid`,
    );
    const groupsStmt = db.prepare<[string, string], { jid: string; grp: string }>(
      'SELECT jid, grp FROM roster_groups WHERE host = ? AND user = ? ORDER BY jid, position',
    );
    const itemStmt = db.prepare<[string, string, string], RosterRow>(
      `SELECT jid, name, subscription, ask, ask_message, approved FROM roster_items
       WHERE host = ? AND user = ? AND jid = ?`,
    );
    const itemGroupsStmt = db.prepare<[string, string, string], { grp: string }>(
      'SELECT grp FROM roster_groups WHERE host = ? AND user = ? AND jid = ? ORDER BY position',
    );
    this.versionStmt = db.prepare('SELECT version FROM roster_versions WHERE host = ? AND user = ?');
    const upsertItem = db.prepare<[string, string, string, string, Subscription, Ask, string, number]>(
      `INSERT INTO roster_items (host, user, jid, name, subscription, ask, ask_message, approved)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (host, user, jid) DO UPDATE SET
         name = excluded.name, subscription = excluded.subscription, ask = excluded.ask,
         ask_message = excluded.ask_message, approved = excluded.approved`,
    );
    const deleteItem = db.prepare<[string, string, string]>(
      'DELETE FROM roster_items WHERE host = ? AND user = ? AND jid = ?',
    );
    const deleteGroups = db.prepare<[string, string, string]>(
      'DELETE FROM roster_groups WHERE host = ? AND user = ? AND jid = ?',
    );
    const insertGroup = db.prepare<[string, string, string, number, string]>(
      'INSERT INTO roster_groups (host, user, jid, position, grp) VALUES (?, ?, ?, ?, ?)',
    );
    const bump = db.prepare<[string, string], { version: number }>(
      `INSERT INTO roster_versions (host, user, version) VALUES (?, ?, 1)
       ON CONFLICT (host, user) DO UPDATE SET version = version + 1
       RETURNING version`,
    );

    // Each read of items and their groups is one transaction, so the groups belong to the items read.
    this.readAll = db.transaction((host: string, user: string) => {
      const groups = new Map<string, string[]>();
      for (const { jid, grp } of groupsStmt.all(host, user)) {
        const list = groups.get(jid);
        if (list === undefined) groups.set(jid, [grp]);
        else list.push(grp);
      }
      return itemsStmt.all(host, user).map((row) => rowToItem(row, groups.get(row.jid) ?? []));
    });
    this.readItem = db.transaction((host: string, user: string, jid: string) => {
      const row = itemStmt.get(host, user, jid);
      if (row === undefined) return undefined;
      return rowToItem(
        row,
        itemGroupsStmt.all(host, user, jid).map((r) => r.grp),
      );
    });
    this.putTx = db.transaction((host: string, user: string, item: RosterItem) => {
      upsertItem.run(
        host,
        user,
        item.jid,
        item.name,
        item.subscription,
        item.ask,
        item.askMessage,
        item.approved ? 1 : 0,
      );
      deleteGroups.run(host, user, item.jid);
      uniqueGroups(item.groups).forEach((group, position) => {
        insertGroup.run(host, user, item.jid, position, group);
      });
      return bump.get(host, user)!.version;
    });
    this.removeTx = db.transaction((host: string, user: string, jid: string) => {
      deleteGroups.run(host, user, jid);
      if (deleteItem.run(host, user, jid).changes === 0) return undefined;
      return bump.get(host, user)!.version;
    });
  }

  async get(user: string, host: string): Promise<RosterItem[]> {
    return this.run('get roster', () => this.readAll(host, user));
  }

  async getItem(user: string, host: string, jid: string): Promise<RosterItem | undefined> {
    return this.run('get roster item', () => this.readItem(host, user, jid));
  }

  async put(user: string, host: string, item: RosterItem): Promise<number> {
    return this.run('put roster item', () => this.putTx(host, user, item));
  }

  async remove(user: string, host: string, jid: string): Promise<number | undefined> {
    return this.run('remove roster item', () => this.removeTx(host, user, jid));
  }

  async version(user: string, host: string): Promise<number> {
    return this.run('get roster version', () => this.versionStmt.get(host, user)?.version ?? 0);
  }
}

function rowToItem(row: RosterRow, groups: string[]): RosterItem {
  return {
    jid: row.jid,
    name: row.name,
    subscription: row.subscription,
    ask: row.ask,
    groups,
    askMessage: row.ask_message,
    approved: row.approved === 1,
  };
}

/** An `offline_messages` row as SQLite returns it. */
interface OfflineRow {
  stamp: number;
  from_jid: string;
  to_jid: string;
  packet: string;
}

/**
 * Offline messages: `offline_messages` rows in arrival order (`seq`, AUTOINCREMENT so never reused).
 * The limit check and the insert are one transaction, as are the read and the delete of a pop.
 */
export class SqliteOfflineStore implements OfflineStore {
  private readonly countStmt: Database.Statement<[string, string], { n: number }>;
  private readonly storeTx: (host: string, user: string, message: OfflineMessage, max: number) => boolean;
  private readonly popTx: (host: string, user: string) => OfflineMessage[];

  constructor(
    db: Database.Database,
    private readonly run: Runner,
  ) {
    this.countStmt = db.prepare('SELECT count(*) AS n FROM offline_messages WHERE host = ? AND user = ?');
    const insert = db.prepare<[string, string, number, string, string, string]>(
      `INSERT INTO offline_messages (host, user, stamp, from_jid, to_jid, packet)
       VALUES (?, ?, ?, ?, ?, ?)`,
    );
    const select = db.prepare<[string, string], OfflineRow>(
      `SELECT stamp, from_jid, to_jid, packet FROM offline_messages
       WHERE host = ? AND user = ? ORDER BY seq`,
    );
    const remove = db.prepare<[string, string]>('DELETE FROM offline_messages WHERE host = ? AND user = ?');

    this.storeTx = db.transaction((host: string, user: string, m: OfflineMessage, max: number) => {
      if (this.countStmt.get(host, user)!.n >= max) return false;
      insert.run(host, user, m.stamp, m.from, m.to, m.packet);
      return true;
    });
    this.popTx = db.transaction((host: string, user: string) => {
      const rows = select.all(host, user);
      if (rows.length > 0) remove.run(host, user);
      return rows.map((r) => ({ stamp: r.stamp, from: r.from_jid, to: r.to_jid, packet: r.packet }));
    });
  }

  async store(user: string, host: string, message: OfflineMessage, max: number): Promise<boolean> {
    return this.run('store offline message', () => this.storeTx(host, user, message, max));
  }

  async pop(user: string, host: string): Promise<OfflineMessage[]> {
    return this.run('pop offline messages', () => this.popTx(host, user));
  }

  async count(user: string, host: string): Promise<number> {
    return this.run('count offline messages', () => this.countStmt.get(host, user)!.n);
  }
}

/** Last activity: one `last_activity` row per user, replaced by each set. */
export class SqliteLastStore implements LastStore {
  private readonly getStmt: Database.Statement<[string, string], LastActivity>;
  private readonly setStmt: Database.Statement<[string, string, number, string]>;

  constructor(
    db: Database.Database,
    private readonly run: Runner,
  ) {
    this.getStmt = db.prepare('SELECT seconds, status FROM last_activity WHERE host = ? AND user = ?');
    this.setStmt = db.prepare(
      `INSERT INTO last_activity (host, user, seconds, status) VALUES (?, ?, ?, ?)
       ON CONFLICT (host, user) DO UPDATE SET seconds = excluded.seconds, status = excluded.status`,
    );
  }

  async get(user: string, host: string): Promise<LastActivity | undefined> {
    return this.run('get last activity', () => this.getStmt.get(host, user));
  }

  async set(user: string, host: string, last: LastActivity): Promise<void> {
    this.run('set last activity', () => this.setStmt.run(host, user, last.seconds, last.status));
  }
}

/** vCards: one `vcards` row per user holding the `<vCard/>` XML, replaced by each set. */
export class SqliteVcardStore implements VcardStore {
  private readonly getStmt: Database.Statement<[string, string], { vcard: string }>;
  private readonly setStmt: Database.Statement<[string, string, string]>;

  constructor(
    db: Database.Database,
    private readonly run: Runner,
  ) {
    this.getStmt = db.prepare('SELECT vcard FROM vcards WHERE host = ? AND user = ?');
    this.setStmt = db.prepare(
      `INSERT INTO vcards (host, user, vcard) VALUES (?, ?, ?)
       ON CONFLICT (host, user) DO UPDATE SET vcard = excluded.vcard`,
    );
  }

  async get(user: string, host: string): Promise<string | undefined> {
    return this.run('get vcard', () => this.getStmt.get(host, user)?.vcard);
  }

  async set(user: string, host: string, vcard: string): Promise<void> {
    this.run('set vcard', () => this.setStmt.run(host, user, vcard));
  }
}

/** Private XML storage: one `private_storage` row per (user, namespace); a set of several is one transaction. */
export class SqlitePrivateStore implements PrivateStore {
  private readonly getStmt: Database.Statement<[string, string, string], { xml: string }>;
  private readonly setTx: (host: string, user: string, entries: [ns: string, xml: string][]) => void;

  constructor(
    db: Database.Database,
    private readonly run: Runner,
  ) {
    this.getStmt = db.prepare(
      'SELECT xml FROM private_storage WHERE host = ? AND user = ? AND namespace = ?',
    );
    const upsert = db.prepare<[string, string, string, string]>(
      `INSERT INTO private_storage (host, user, namespace, xml) VALUES (?, ?, ?, ?)
       ON CONFLICT (host, user, namespace) DO UPDATE SET xml = excluded.xml`,
    );
    this.setTx = db.transaction((host: string, user: string, entries: [string, string][]) => {
      for (const [ns, xml] of entries) upsert.run(host, user, ns, xml);
    });
  }

  async get(user: string, host: string, ns: string): Promise<string | undefined> {
    return this.run('get private', () => this.getStmt.get(host, user, ns)?.xml);
  }

  async set(user: string, host: string, entries: [ns: string, xml: string][]): Promise<void> {
    this.run('set private', () => this.setTx(host, user, entries));
  }
}

/** Block lists: one `blocked_jids` row per (user, JID); an add or remove of several is one transaction. */
export class SqliteBlockingStore implements BlockingStore {
  private readonly listStmt: Database.Statement<[string, string], { jid: string }>;
  private readonly clearStmt: Database.Statement<[string, string]>;
  private readonly addTx: (host: string, user: string, jids: string[]) => void;
  private readonly removeTx: (host: string, user: string, jids: string[]) => void;

  constructor(
    db: Database.Database,
    private readonly run: Runner,
  ) {
    // BINARY collation: code point (UTF-8 byte) order, as the memory back end sorts.
    this.listStmt = db.prepare('SELECT jid FROM blocked_jids WHERE host = ? AND user = ? ORDER BY jid');
    this.clearStmt = db.prepare('DELETE FROM blocked_jids WHERE host = ? AND user = ?');
    const insert = db.prepare<[string, string, string]>(
      'INSERT INTO blocked_jids (host, user, jid) VALUES (?, ?, ?) ON CONFLICT (host, user, jid) DO NOTHING',
    );
    const remove = db.prepare<[string, string, string]>(
      'DELETE FROM blocked_jids WHERE host = ? AND user = ? AND jid = ?',
    );
    this.addTx = db.transaction((host: string, user: string, jids: string[]) => {
      for (const jid of jids) insert.run(host, user, jid);
    });
    this.removeTx = db.transaction((host: string, user: string, jids: string[]) => {
      for (const jid of jids) remove.run(host, user, jid);
    });
  }

  async list(user: string, host: string): Promise<string[]> {
    return this.run('list blocked', () => this.listStmt.all(host, user).map((r) => r.jid));
  }

  async add(user: string, host: string, jids: string[]): Promise<void> {
    this.run('block', () => this.addTx(host, user, jids));
  }

  async remove(user: string, host: string, jids: string[]): Promise<void> {
    this.run('unblock', () => this.removeTx(host, user, jids));
  }

  async clear(user: string, host: string): Promise<void> {
    this.run('unblock all', () => this.clearStmt.run(host, user));
  }
}
