/**
 * The embedded, persistent default back end: one SQLite database, `<data_dir>/tsjabberd.db`.
 *
 * Durability: the database runs in WAL journal mode with `synchronous = FULL`, and every write is one
 * transaction, committed (the WAL fsynced) before its promise resolves. A write the server acknowledged
 * therefore survives a crash of the process (kill -9) and, as far as the disk honours fsync, a power cut.
 *
 * One process at a time: a data directory belongs to one running server. Two locks enforce it.
 * - `<data_dir>/tsjabberd.lock` holds the owner's pid. It is created atomically (written under a
 *   temporary name, then hard-linked into place); a lock whose pid is no longer running (the owner was
 *   killed) is stale and taken over, with a warning. This lock gives the clear error ("in use by pid N").
 * - The connection sets `locking_mode = EXCLUSIVE` and takes SQLite's exclusive lock at open, holding it
 *   until close. This covers what a pid file cannot: a pid reused by another program, or a directory
 *   shared between machines or containers. (It also means no other program, such as the sqlite3 shell,
 *   can read the database while the server runs; stop the server first.)
 *
 * Schema: `schema_version` holds one row, the version of the schema the file is at; the migrations
 * below bring it up to date at open, each in one transaction with its version bump. A file at a newer
 * version than this code knows is refused rather than guessed at. The tables use only types PostgreSQL
 * shares (TEXT, INTEGER), and credentials are plain columns, so a PostgreSQL back end can use the same
 * schema. Tables are STRICT, so a value of the wrong type is an error, not silently stored.
 */

import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@tsjabberd/router';
import Database from 'better-sqlite3';
import {
  prepareUserDataRemoval,
  type Runner,
  SqliteBlockingStore,
  SqliteLastStore,
  SqliteOfflineStore,
  SqlitePrivateStore,
  SqliteRosterStore,
  SqliteVcardStore,
} from './sqlite_im.js';
import type {
  Account,
  AccountStore,
  BlockingStore,
  LastStore,
  OfflineStore,
  PrivateStore,
  RosterStore,
  ScramCredential,
  Storage,
  StoredPassword,
  VcardStore,
} from './storage.js';

/** The database file's name inside the data directory. */
export const DATABASE_FILE = 'tsjabberd.db';
/** The pid lock file's name inside the data directory. */
export const LOCK_FILE = 'tsjabberd.lock';

/** How long a statement waits for SQLite's lock (only another connection could hold it). */
const BUSY_TIMEOUT_MS = 5000;
/** How long opening waits for the exclusive lock: briefly, since the holder is a running server. */
const OPEN_BUSY_TIMEOUT_MS = 200;

/**
 * The migrations, in order: `MIGRATIONS[i]` brings the schema from version i to version i + 1.
 * Append only; never edit a migration that has shipped.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: accounts, one row per (host, user), one credential per SCRAM hash (RFC 5802, RFC 7677).
  `CREATE TABLE accounts (
     host TEXT NOT NULL,
     user TEXT NOT NULL,
     created INTEGER NOT NULL,
     sha1_salt TEXT NOT NULL,
     sha1_iterations INTEGER NOT NULL,
     sha1_stored_key TEXT NOT NULL,
     sha1_server_key TEXT NOT NULL,
     sha256_salt TEXT NOT NULL,
     sha256_iterations INTEGER NOT NULL,
     sha256_stored_key TEXT NOT NULL,
     sha256_server_key TEXT NOT NULL,
     PRIMARY KEY (host, user)
   ) STRICT, WITHOUT ROWID`,

  // 2: the IM data of each user, keyed like the accounts by (host, user) but with no foreign key to
  // them (as in ejabberd); removing an account deletes these rows in the same transaction.
  // - roster_items: one row per contact (ejabberd's rosterusers); ask_message is ejabberd's askmessage.
  // - roster_groups: the groups of an item, `position` keeping the client's order (rostergroups).
  // - roster_versions: the XEP-0237 roster version of a user; no row is version 0.
  // - offline_messages: the spool, in arrival order by `seq` (AUTOINCREMENT: never reused; a PostgreSQL
  //   schema would make it an identity column).
  // - last_activity, vcards, private_storage (one row per namespace), blocked_jids (XEP-0191).
  // Tables whose rows may be large XML (vCards with photos, private data, messages) keep their rowid,
  // as SQLite advises against WITHOUT ROWID for big rows.
  `CREATE TABLE roster_items (
     host TEXT NOT NULL,
     user TEXT NOT NULL,
     jid TEXT NOT NULL,
     name TEXT NOT NULL,
     subscription TEXT NOT NULL CHECK (subscription IN ('none', 'to', 'from', 'both')),
     ask TEXT NOT NULL CHECK (ask IN ('none', 'out', 'in', 'both')),
     ask_message TEXT NOT NULL,
     approved INTEGER NOT NULL CHECK (approved IN (0, 1)),
     PRIMARY KEY (host, user, jid)
   ) STRICT, WITHOUT ROWID;
   CREATE TABLE roster_groups (
     host TEXT NOT NULL,
     user TEXT NOT NULL,
     jid TEXT NOT NULL,
     position INTEGER NOT NULL,
     grp TEXT NOT NULL,
     PRIMARY KEY (host, user, jid, position),
     UNIQUE (host, user, jid, grp),
     FOREIGN KEY (host, user, jid) REFERENCES roster_items (host, user, jid) ON DELETE CASCADE
   ) STRICT, WITHOUT ROWID;
   CREATE TABLE roster_versions (
     host TEXT NOT NULL,
     user TEXT NOT NULL,
     version INTEGER NOT NULL,
     PRIMARY KEY (host, user)
   ) STRICT, WITHOUT ROWID;
   CREATE TABLE offline_messages (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     host TEXT NOT NULL,
     user TEXT NOT NULL,
     stamp INTEGER NOT NULL,
     from_jid TEXT NOT NULL,
     to_jid TEXT NOT NULL,
     packet TEXT NOT NULL
   ) STRICT;
   CREATE INDEX offline_messages_user ON offline_messages (host, user, seq);
   CREATE TABLE last_activity (
     host TEXT NOT NULL,
     user TEXT NOT NULL,
     seconds INTEGER NOT NULL,
     status TEXT NOT NULL,
     PRIMARY KEY (host, user)
   ) STRICT, WITHOUT ROWID;
   CREATE TABLE vcards (
     host TEXT NOT NULL,
     user TEXT NOT NULL,
     vcard TEXT NOT NULL,
     PRIMARY KEY (host, user)
   ) STRICT;
   CREATE TABLE private_storage (
     host TEXT NOT NULL,
     user TEXT NOT NULL,
     namespace TEXT NOT NULL,
     xml TEXT NOT NULL,
     PRIMARY KEY (host, user, namespace)
   ) STRICT;
   CREATE TABLE blocked_jids (
     host TEXT NOT NULL,
     user TEXT NOT NULL,
     jid TEXT NOT NULL,
     PRIMARY KEY (host, user, jid)
   ) STRICT, WITHOUT ROWID`,
];

/** The schema version this code writes and reads. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** An `accounts` row as SQLite returns it. */
interface AccountRow {
  host: string;
  user: string;
  created: number;
  sha1_salt: string;
  sha1_iterations: number;
  sha1_stored_key: string;
  sha1_server_key: string;
  sha256_salt: string;
  sha256_iterations: number;
  sha256_stored_key: string;
  sha256_server_key: string;
}

/** Opens (creating if needed) the SQLite storage in `dir`; fails if another process has it open. */
export async function openSqliteStorage(dir: string, log?: Logger): Promise<Storage> {
  const file = join(dir, DATABASE_FILE);
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    throw new Error(`cannot create data directory ${dir}: ${message(err)}`, { cause: err });
  }
  const lock = await acquireLock(join(dir, LOCK_FILE), log);
  let db: Database.Database | undefined;
  try {
    db = openDatabase(file, log);
    const storage = new SqliteStorage(db, file, lock, log);
    log?.info(`storage: opened ${file} (schema version ${SCHEMA_VERSION})`);
    return storage;
  } catch (err) {
    db?.close();
    await lock.release();
    throw err;
  }
}

function openDatabase(file: string, log: Logger | undefined): Database.Database {
  let db: Database.Database;
  try {
    db = new Database(file, { timeout: OPEN_BUSY_TIMEOUT_MS });
  } catch (err) {
    throw new Error(`cannot open database ${file}: ${message(err)}`, { cause: err });
  }
  try {
    // Before the first access, so the WAL index lives in this process's memory (no -shm file) and the
    // file lock, once taken, is held until close.
    db.pragma('locking_mode = EXCLUSIVE');
    try {
      db.exec('BEGIN EXCLUSIVE; COMMIT');
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_BUSY') {
        throw new Error(`database ${file} is locked by another process (is another tsjabberd running?)`, {
          cause: err,
        });
      }
      throw err;
    }
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal') throw new Error(`cannot use WAL journal mode (got ${String(mode)})`);
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    migrate(db, file, log);
    return db;
  } catch (err) {
    db.close();
    if (err instanceof Error && err.message.includes(file)) throw err;
    throw new Error(`cannot open database ${file}: ${message(err)}`, { cause: err });
  }
}

/** Brings the schema up to `SCHEMA_VERSION`, one transaction per migration. */
function migrate(db: Database.Database, file: string, log: Logger | undefined): void {
  const hasVersionTable =
    db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'schema_version'").get() !==
    undefined;
  if (!hasVersionTable) {
    const other = db.prepare("SELECT name FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' LIMIT 1").get() as
      | { name: string }
      | undefined;
    if (other !== undefined) {
      throw new Error(
        `${file} is not a tsjabberd database (it has table ${other.name} but no schema_version)`,
      );
    }
    db.transaction(() => {
      db.exec(
        'CREATE TABLE schema_version (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL) STRICT',
      );
      db.exec('INSERT INTO schema_version (id, version) VALUES (1, 0)');
    })();
  }
  const row = db.prepare('SELECT version FROM schema_version WHERE id = 1').get() as
    | { version: number }
    | undefined;
  if (row === undefined) throw new Error(`${file}: the schema_version table is empty`);
  const current = row.version;
  if (current > SCHEMA_VERSION) {
    throw new Error(
      `${file} has schema version ${current}, newer than this tsjabberd knows (${SCHEMA_VERSION}): ` +
        'it was written by a later release; run that release or restore a backup',
    );
  }
  const setVersion = db.prepare('UPDATE schema_version SET version = ? WHERE id = 1');
  for (let version = current; version < SCHEMA_VERSION; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version]);
      setVersion.run(version + 1);
    })();
    log?.info(`storage: ${file} migrated to schema version ${version + 1}`);
  }
}

class SqliteStorage implements Storage {
  readonly accounts: AccountStore;
  readonly roster: RosterStore;
  readonly offline: OfflineStore;
  readonly last: LastStore;
  readonly vcard: VcardStore;
  readonly private: PrivateStore;
  readonly blocking: BlockingStore;
  private closed = false;

  constructor(
    private readonly db: Database.Database,
    private readonly file: string,
    private readonly lock: PidLock,
    private readonly log: Logger | undefined,
  ) {
    const run: Runner = (what, fn) => this.run(what, fn);
    this.accounts = new SqliteAccountStore(db, run);
    this.roster = new SqliteRosterStore(db, run);
    this.offline = new SqliteOfflineStore(db, run);
    this.last = new SqliteLastStore(db, run);
    this.vcard = new SqliteVcardStore(db, run);
    this.private = new SqlitePrivateStore(db, run);
    this.blocking = new SqliteBlockingStore(db, run);
  }

  /** Runs a statement, failing once closed and naming the file in any error. */
  private run<T>(what: string, fn: () => T): T {
    if (this.closed) throw new Error(`storage ${this.file} is closed (${what})`);
    try {
      return fn();
    } catch (err) {
      throw new Error(`${this.file}: ${what}: ${message(err)}`, { cause: err });
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      // Checkpoints the WAL into the database file and removes it.
      this.db.close();
    } finally {
      await this.lock.release();
    }
    this.log?.info(`storage: closed ${this.file}`);
  }
}

class SqliteAccountStore implements AccountStore {
  private readonly getStmt: Database.Statement<[string, string], AccountRow>;
  private readonly insertStmt: Database.Statement<AccountRow>;
  private readonly setPasswordStmt: Database.Statement<Omit<AccountRow, 'created'>>;
  private readonly removeTx: (host: string, user: string) => boolean;
  private readonly listStmt: Database.Statement<[string], { user: string }>;
  private readonly countStmt: Database.Statement<[string], { n: number }>;

  constructor(
    db: Database.Database,
    private readonly run: Runner,
  ) {
    this.getStmt = db.prepare<[string, string], AccountRow>(
      'SELECT * FROM accounts WHERE host = ? AND user = ?',
    );
    this.insertStmt = db.prepare<AccountRow>(
      `INSERT INTO accounts (host, user, created,
         sha1_salt, sha1_iterations, sha1_stored_key, sha1_server_key,
         sha256_salt, sha256_iterations, sha256_stored_key, sha256_server_key)
       VALUES (@host, @user, @created,
         @sha1_salt, @sha1_iterations, @sha1_stored_key, @sha1_server_key,
         @sha256_salt, @sha256_iterations, @sha256_stored_key, @sha256_server_key)
       ON CONFLICT (host, user) DO NOTHING`,
    );
    this.setPasswordStmt = db.prepare<Omit<AccountRow, 'created'>>(
      `UPDATE accounts SET
         sha1_salt = @sha1_salt, sha1_iterations = @sha1_iterations,
         sha1_stored_key = @sha1_stored_key, sha1_server_key = @sha1_server_key,
         sha256_salt = @sha256_salt, sha256_iterations = @sha256_iterations,
         sha256_stored_key = @sha256_stored_key, sha256_server_key = @sha256_server_key
       WHERE host = @host AND user = @user`,
    );
    const removeStmt = db.prepare<[string, string]>('DELETE FROM accounts WHERE host = ? AND user = ?');
    const removeUserData = prepareUserDataRemoval(db);
    // The user's data goes even without an account row (as ejabberd runs its remove_user hook), so no
    // stray data is left for a later account of the same name.
    this.removeTx = db.transaction((host: string, user: string) => {
      const existed = removeStmt.run(host, user).changes === 1;
      removeUserData(host, user);
      return existed;
    });
    // BINARY collation: code point (UTF-8 byte) order, as the memory back end sorts.
    this.listStmt = db.prepare<[string], { user: string }>(
      'SELECT user FROM accounts WHERE host = ? ORDER BY user',
    );
    this.countStmt = db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM accounts WHERE host = ?');
  }

  // Every write below but `remove` is a single statement, so SQLite runs it as its own (autocommit)
  // transaction, committed and fsynced before the statement returns and the promise resolves; `remove`
  // runs its statements in one transaction.

  async get(user: string, host: string): Promise<Account | undefined> {
    const row = this.run('get account', () => this.getStmt.get(host, user));
    return row === undefined ? undefined : rowToAccount(row);
  }

  async create(account: Account): Promise<boolean> {
    const row = {
      host: account.host,
      user: account.user,
      created: account.created,
      ...columns(account.password),
    };
    return this.run('create account', () => this.insertStmt.run(row).changes === 1);
  }

  async setPassword(user: string, host: string, password: StoredPassword): Promise<boolean> {
    const row = { host, user, ...columns(password) };
    return this.run('set password', () => this.setPasswordStmt.run(row).changes === 1);
  }

  async remove(user: string, host: string): Promise<boolean> {
    return this.run('remove account', () => this.removeTx(host, user));
  }

  async list(host: string): Promise<string[]> {
    return this.run('list accounts', () => this.listStmt.all(host).map((r) => r.user));
  }

  async count(host: string): Promise<number> {
    return this.run('count accounts', () => this.countStmt.get(host)!.n);
  }
}

function columns(p: StoredPassword): Omit<AccountRow, 'host' | 'user' | 'created'> {
  return {
    sha1_salt: p.sha1.salt,
    sha1_iterations: p.sha1.iterations,
    sha1_stored_key: p.sha1.storedKey,
    sha1_server_key: p.sha1.serverKey,
    sha256_salt: p.sha256.salt,
    sha256_iterations: p.sha256.iterations,
    sha256_stored_key: p.sha256.storedKey,
    sha256_server_key: p.sha256.serverKey,
  };
}

function rowToAccount(r: AccountRow): Account {
  const sha1: ScramCredential = {
    salt: r.sha1_salt,
    iterations: r.sha1_iterations,
    storedKey: r.sha1_stored_key,
    serverKey: r.sha1_server_key,
  };
  const sha256: ScramCredential = {
    salt: r.sha256_salt,
    iterations: r.sha256_iterations,
    storedKey: r.sha256_stored_key,
    serverKey: r.sha256_server_key,
  };
  return { user: r.user, host: r.host, password: { sha1, sha256 }, created: r.created };
}

interface PidLock {
  release(): Promise<void>;
}

/**
 * Takes `<dir>/tsjabberd.lock` for this process. The file is written under a temporary name and then
 * hard-linked into place, so it never exists without the pid in it; a lock held by a pid that is no
 * longer running is stale and replaced.
 */
async function acquireLock(path: string, log: Logger | undefined): Promise<PidLock> {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
  try {
    await writeFile(tmp, `${process.pid}\n`, { flush: true });
  } catch (err) {
    throw new Error(`cannot create lock file ${tmp}: ${message(err)}`, { cause: err });
  }
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await link(tmp, path);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 2) {
          throw new Error(`cannot create lock file ${path}: ${message(err)}`, { cause: err });
        }
      }
      const holder = await readPid(path);
      if (holder === null) continue; // released meanwhile: try again
      if (holder !== undefined && isRunning(holder)) {
        throw new Error(
          holder === process.pid
            ? `data directory is in use: ${path} is held by this process (the storage is already open)`
            : `data directory is in use: ${path} is held by running process ${holder} ` +
                '(another tsjabberd with the same data_dir?)',
        );
      }
      log?.warning(
        `storage: removing stale lock ${path} (${holder === undefined ? 'unreadable' : `pid ${holder} is not running`})`,
      );
      await unlink(path).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw new Error(`cannot remove stale lock ${path}: ${message(err)}`);
      });
    }
  } finally {
    await unlink(tmp).catch(() => {});
  }
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      // Only our own lock: never one another process took over.
      if ((await readPid(path).catch(() => undefined)) === process.pid) await unlink(path).catch(() => {});
    },
  };
}

/** The pid in a lock file: null when there is no file, undefined when it holds no pid. */
async function readPid(path: string): Promise<number | null | undefined> {
  let text: string;
  try {
    text = (await readFile(path, 'utf8')).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`cannot read lock file ${path}: ${message(err)}`, { cause: err });
  }
  return /^[1-9][0-9]*$/.test(text) ? Number(text) : undefined;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
