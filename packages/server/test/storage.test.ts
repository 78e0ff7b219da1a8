import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MemoryLogger } from '@tsjabberd/router';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryStorage } from '../src/storage/memory.js';
import { openStorage } from '../src/storage/open.js';
import { DATABASE_FILE, LOCK_FILE, openSqliteStorage, SCHEMA_VERSION } from '../src/storage/sqlite.js';
import type { Account, ScramCredential, Storage, StoredPassword } from '../src/storage/storage.js';

const CHILD = fileURLToPath(new URL('./fixtures/storage-child.mjs', import.meta.url));

const dirs: string[] = [];
const opened: Storage[] = [];
const children: ChildProcess[] = [];

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tsjabberd-storage-'));
  dirs.push(dir);
  return dir;
}

/** Opens the SQLite storage, to be closed after the test. */
async function openSqlite(dir: string, log?: MemoryLogger): Promise<Storage> {
  const storage = await openSqliteStorage(dir, log);
  opened.push(storage);
  return storage;
}

afterEach(async () => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  for (const storage of opened.splice(0)) await storage.close();
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

function credential(seed: string, iterations: number): ScramCredential {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return {
    salt: b64(`salt ${seed}`),
    iterations,
    storedKey: b64(`stored ${seed}`),
    serverKey: b64(`server ${seed}`),
  };
}

function password(seed: string, iterations = 4096): StoredPassword {
  return { sha1: credential(`sha1 ${seed}`, iterations), sha256: credential(`sha256 ${seed}`, iterations) };
}

function account(user: string, host = 'example.com', seed = user): Account {
  return { user, host, password: password(seed), created: 1_700_000_000_000 };
}

const backEnds: [string, () => Promise<Storage>][] = [
  ['memory', async () => memoryStorage()],
  ['sqlite', async () => openSqlite(await tempDir())],
];

describe.each(backEnds)('%s storage', (_name, open) => {
  it('creates an account and gets it back', async () => {
    const { accounts } = await open();
    expect(await accounts.create(account('alice'))).toBe(true);
    expect(await accounts.get('alice', 'example.com')).toEqual(account('alice'));
  });

  it('gets undefined for an unknown account', async () => {
    const { accounts } = await open();
    expect(await accounts.get('nobody', 'example.com')).toBeUndefined();
    await accounts.create(account('alice'));
    expect(await accounts.get('alice', 'other.example')).toBeUndefined();
    expect(await accounts.get('Alice', 'example.com')).toBeUndefined();
  });

  it('refuses to create an account twice and keeps the first', async () => {
    const { accounts } = await open();
    expect(await accounts.create(account('alice', 'example.com', 'first'))).toBe(true);
    expect(await accounts.create({ ...account('alice', 'example.com', 'second'), created: 5 })).toBe(false);
    expect(await accounts.get('alice', 'example.com')).toEqual(account('alice', 'example.com', 'first'));
    expect(await accounts.count('example.com')).toBe(1);
  });

  it('sets the password of an existing account only', async () => {
    const { accounts } = await open();
    await accounts.create(account('alice'));
    expect(await accounts.setPassword('alice', 'example.com', password('new', 10000))).toBe(true);
    expect(await accounts.get('alice', 'example.com')).toEqual({
      ...account('alice'),
      password: password('new', 10000),
    });
    expect(await accounts.setPassword('bob', 'example.com', password('x'))).toBe(false);
    expect(await accounts.get('bob', 'example.com')).toBeUndefined();
    expect(await accounts.setPassword('alice', 'other.example', password('x'))).toBe(false);
  });

  it('removes an account, once', async () => {
    const { accounts } = await open();
    await accounts.create(account('alice'));
    await accounts.create(account('bob'));
    expect(await accounts.remove('alice', 'example.com')).toBe(true);
    expect(await accounts.get('alice', 'example.com')).toBeUndefined();
    expect(await accounts.remove('alice', 'example.com')).toBe(false);
    expect(await accounts.list('example.com')).toEqual(['bob']);
    // Removed, it can be created again.
    expect(await accounts.create(account('alice', 'example.com', 'again'))).toBe(true);
    expect(await accounts.get('alice', 'example.com')).toEqual(account('alice', 'example.com', 'again'));
  });

  it('lists the users of a host sorted by code point, and counts them', async () => {
    const { accounts } = await open();
    expect(await accounts.list('example.com')).toEqual([]);
    expect(await accounts.count('example.com')).toBe(0);
    // U+1F600 sorts after U+FF41 by code point (and in UTF-8), though before it in UTF-16 code units.
    const users = ['zoe', 'alice', '\u{1f600}', '\uff41', 'bob', 'al', 'é', '0'];
    for (const user of users) expect(await accounts.create(account(user))).toBe(true);
    expect(await accounts.list('example.com')).toEqual([
      '0',
      'al',
      'alice',
      'bob',
      'zoe',
      'é',
      '\uff41',
      '\u{1f600}',
    ]);
    expect(await accounts.count('example.com')).toBe(users.length);
    expect(await accounts.get('\u{1f600}', 'example.com')).toEqual(account('\u{1f600}'));
  });

  it('keeps hosts apart', async () => {
    const { accounts } = await open();
    await accounts.create(account('alice', 'a.example', 'a'));
    await accounts.create(account('alice', 'b.example', 'b'));
    await accounts.create(account('bob', 'b.example'));
    expect(await accounts.get('alice', 'a.example')).toEqual(account('alice', 'a.example', 'a'));
    expect(await accounts.get('alice', 'b.example')).toEqual(account('alice', 'b.example', 'b'));
    expect(await accounts.list('a.example')).toEqual(['alice']);
    expect(await accounts.list('b.example')).toEqual(['alice', 'bob']);
    expect(await accounts.count('a.example')).toBe(1);
    expect(await accounts.count('b.example')).toBe(2);

    await accounts.setPassword('alice', 'a.example', password('changed'));
    expect(await accounts.get('alice', 'b.example')).toEqual(account('alice', 'b.example', 'b'));
    expect(await accounts.remove('alice', 'b.example')).toBe(true);
    expect(await accounts.get('alice', 'a.example')).toEqual({
      ...account('alice', 'a.example'),
      password: password('changed'),
    });
    expect(await accounts.remove('bob', 'a.example')).toBe(false);
    expect(await accounts.list('b.example')).toEqual(['bob']);
  });

  it('stores copies: changing what went in or came out changes nothing stored', async () => {
    const { accounts } = await open();
    const given = account('alice');
    await accounts.create(given);
    given.password.sha1.iterations = 1;
    given.created = 0;

    const got = (await accounts.get('alice', 'example.com'))!;
    expect(got).toEqual(account('alice'));
    got.password.sha256.salt = 'changed';
    got.user = 'mallory';
    expect(await accounts.get('alice', 'example.com')).toEqual(account('alice'));

    const newPassword = password('new');
    await accounts.setPassword('alice', 'example.com', newPassword);
    newPassword.sha1.storedKey = 'changed';
    expect((await accounts.get('alice', 'example.com'))!.password).toEqual(password('new'));

    const list = await accounts.list('example.com');
    list.push('eve');
    expect(await accounts.list('example.com')).toEqual(['alice']);
  });

  it('fails every call once closed', async () => {
    const storage = await open();
    await storage.accounts.create(account('alice'));
    await storage.close();
    await expect(storage.accounts.get('alice', 'example.com')).rejects.toThrow(/closed/);
    await expect(storage.accounts.create(account('bob'))).rejects.toThrow(/closed/);
    await expect(storage.accounts.setPassword('alice', 'example.com', password('x'))).rejects.toThrow(
      /closed/,
    );
    await expect(storage.accounts.remove('alice', 'example.com')).rejects.toThrow(/closed/);
    await expect(storage.accounts.list('example.com')).rejects.toThrow(/closed/);
    await expect(storage.accounts.count('example.com')).rejects.toThrow(/closed/);
    await storage.close(); // a second close is harmless
  });
});

describe('openStorage', () => {
  it('opens the memory back end', async () => {
    const log = new MemoryLogger();
    const storage = await openStorage('memory', '/nonexistent', log);
    expect(await storage.accounts.create(account('alice'))).toBe(true);
    expect(log.lines.join('\n')).toMatch(/in-memory/);
    await storage.close();
  });

  it('opens the sqlite back end in the data directory', async () => {
    const dir = join(await tempDir(), 'data', 'nested');
    const storage = await openStorage('sqlite', dir);
    opened.push(storage);
    expect(await storage.accounts.create(account('alice'))).toBe(true);
    expect(existsSync(join(dir, DATABASE_FILE))).toBe(true);
  });
});

describe('sqlite storage on disk', () => {
  it('keeps everything across close and reopen (a restart)', async () => {
    const dir = await tempDir();
    const log = new MemoryLogger();
    const first = await openSqliteStorage(dir, log);
    for (const user of ['alice', 'bob', 'carol', 'dave']) await first.accounts.create(account(user));
    await first.accounts.create(account('alice', 'other.example', 'other'));
    await first.accounts.setPassword('bob', 'example.com', password('bob2', 20000));
    await first.accounts.remove('carol', 'example.com');
    await first.close();
    expect(log.lines.join('\n')).toContain(join(dir, DATABASE_FILE));
    // A clean close checkpoints the WAL and releases the lock.
    expect((await readdir(dir)).sort()).toEqual([DATABASE_FILE]);

    const second = await openSqlite(dir);
    expect(await second.accounts.list('example.com')).toEqual(['alice', 'bob', 'dave']);
    expect(await second.accounts.get('alice', 'example.com')).toEqual(account('alice'));
    expect(await second.accounts.get('bob', 'example.com')).toEqual({
      ...account('bob'),
      password: password('bob2', 20000),
    });
    expect(await second.accounts.get('carol', 'example.com')).toBeUndefined();
    expect(await second.accounts.get('alice', 'other.example')).toEqual(
      account('alice', 'other.example', 'other'),
    );
    expect(await second.accounts.count('other.example')).toBe(1);
  });

  it('creates the schema at the current version, in WAL mode', async () => {
    const dir = await tempDir();
    await (await openSqliteStorage(dir)).close();
    const db = new Database(join(dir, DATABASE_FILE), { readonly: true });
    try {
      expect(db.prepare('SELECT version FROM schema_version').all()).toEqual([{ version: SCHEMA_VERSION }]);
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      const columns = (db.pragma('table_info(accounts)') as { name: string }[]).map((c) => c.name);
      expect(columns).toEqual([
        'host',
        'user',
        'created',
        'sha1_salt',
        'sha1_iterations',
        'sha1_stored_key',
        'sha1_server_key',
        'sha256_salt',
        'sha256_iterations',
        'sha256_stored_key',
        'sha256_server_key',
      ]);
    } finally {
      db.close();
    }
  });

  it('refuses a database with a newer schema version, naming the file', async () => {
    const dir = await tempDir();
    await (await openSqliteStorage(dir)).close();
    const file = join(dir, DATABASE_FILE);
    const db = new Database(file);
    db.prepare('UPDATE schema_version SET version = ?').run(SCHEMA_VERSION + 1);
    db.close();

    const error = await openSqliteStorage(dir).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain(file);
    expect((error as Error).message).toMatch(
      new RegExp(
        `schema version ${SCHEMA_VERSION + 1}, newer than this tsjabberd knows \\(${SCHEMA_VERSION}\\)`,
      ),
    );
    // The failed open released its lock, and left the file as it was.
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    const check = new Database(file, { readonly: true });
    expect(check.prepare('SELECT version FROM schema_version').get()).toEqual({
      version: SCHEMA_VERSION + 1,
    });
    check.close();
  });

  it('refuses a file that is not a tsjabberd database, naming it', async () => {
    const dir = await tempDir();
    const file = join(dir, DATABASE_FILE);
    await writeFile(file, 'this is not an SQLite database, just some text that is long enough'.repeat(20));
    await expect(openSqliteStorage(dir)).rejects.toThrow(file);

    const other = await tempDir();
    const foreign = new Database(join(other, DATABASE_FILE));
    foreign.exec('CREATE TABLE something (x)');
    foreign.close();
    await expect(openSqliteStorage(other)).rejects.toThrow(/tsjabberd\.db is not a tsjabberd database/);
    expect(existsSync(join(other, LOCK_FILE))).toBe(false);
  });

  it('names the directory when it cannot be created', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'file'), '');
    await expect(openSqliteStorage(join(dir, 'file', 'data'))).rejects.toThrow(join(dir, 'file', 'data'));
  });

  it('refuses a second opener in the same process', async () => {
    const dir = await tempDir();
    const first = await openSqlite(dir);
    await expect(openSqliteStorage(dir)).rejects.toThrow(
      new RegExp(`data directory is in use: .*${LOCK_FILE} is held by this process`),
    );
    // The refused opener did not disturb the first one.
    expect(await first.accounts.create(account('alice'))).toBe(true);
    expect(readFileSync(join(dir, LOCK_FILE), 'utf8').trim()).toBe(String(process.pid));
  });

  it('refuses a second opener while another process has the directory, then takes over a stale lock', async () => {
    const dir = await tempDir();
    const child = startChild('hold', dir);
    await child.line((l) => l === 'ready');
    const error = await openSqliteStorage(dir).catch((e: Error) => e);
    expect((error as Error).message).toContain(join(dir, LOCK_FILE));
    expect((error as Error).message).toContain(`held by running process ${child.process.pid}`);

    child.process.kill('SIGKILL');
    await child.exited;
    // The lock file names a dead process now: stale, taken over with a warning.
    expect(readFileSync(join(dir, LOCK_FILE), 'utf8').trim()).toBe(String(child.process.pid));
    const log = new MemoryLogger();
    const storage = await openSqlite(dir, log);
    expect(await storage.accounts.count('example.com')).toBe(0);
    expect(log.lines.join('\n')).toMatch(
      new RegExp(`\\[warning\\] storage: removing stale lock .*pid ${child.process.pid} is not running`),
    );
  });

  it("refuses a second opener by SQLite's exclusive lock when the lock file is gone", async () => {
    const dir = await tempDir();
    await (await openSqliteStorage(dir)).close();
    const first = await openSqlite(dir); // an existing database: opening writes nothing
    await rm(join(dir, LOCK_FILE));
    await expect(openSqliteStorage(dir)).rejects.toThrow(
      `database ${join(dir, DATABASE_FILE)} is locked by another process`,
    );
    expect(await first.accounts.create(account('alice'))).toBe(true);
    expect(await first.accounts.list('example.com')).toEqual(['alice']);
  });

  it('loses no acknowledged write when the process is killed with SIGKILL', async () => {
    const dir = await tempDir();
    const child = startChild('crash', dir);
    const ACKS = 500;
    await child.line((l) => l === `ack ${ACKS - 1}`);
    child.process.kill('SIGKILL');
    const { signal } = await child.exited;
    expect(signal).toBe('SIGKILL');
    // Killed mid-run: no close, so the lock file and the WAL were left behind.
    expect(readFileSync(join(dir, LOCK_FILE), 'utf8').trim()).toBe(String(child.process.pid));
    expect(statSync(join(dir, `${DATABASE_FILE}-wal`)).size).toBeGreaterThan(0);

    // Replay the child's log: `begin <op>` before each write, `ack <n>` once it resolved. A final line
    // cut short by the kill is dropped; a `begin` without its `ack` is the write in flight, which may
    // or may not have committed.
    const complete = child.output.slice(0, child.output.lastIndexOf('\n') + 1);
    const ops: ChildOp[] = [];
    let acked = 0;
    for (const line of complete.split('\n').filter((l) => l !== '' && l !== 'ready')) {
      if (line.startsWith('begin ')) ops.push(JSON.parse(line.slice(6)) as ChildOp);
      else if (line === `ack ${acked}`) acked++;
      else throw new Error(`unexpected line from the child: ${line}`);
    }
    expect(acked).toBeGreaterThanOrEqual(ACKS);
    expect(ops.length - acked).toBeLessThanOrEqual(1);
    const kinds = new Set(ops.slice(0, acked).map((o) => o.op));
    expect(kinds).toEqual(new Set(['create', 'password', 'remove']));

    const storage = await openSqlite(dir);
    const host = 'crash.example';
    const stored = new Map<string, Account>();
    for (const user of await storage.accounts.list(host))
      stored.set(user, (await storage.accounts.get(user, host))!);
    const withoutInFlight = replay(ops.slice(0, acked));
    const withInFlight = replay(ops);
    const matches = (expected: Map<string, Account>) =>
      [...stored.keys()].sort().join() === [...expected.keys()].sort().join() &&
      [...expected].every(([user, a]) => JSON.stringify(stored.get(user)) === JSON.stringify(a));
    expect(matches(withoutInFlight) || matches(withInFlight)).toBe(true);
    // Every acknowledged account is there, with its acknowledged password.
    for (const [user, a] of withoutInFlight) {
      if (ops.length > acked && (ops[acked] as { user?: string }).user === user) continue;
      expect(stored.get(user), user).toEqual(a);
    }
    expect(await storage.accounts.count(host)).toBe(stored.size);
  });
});

type ChildOp =
  | { op: 'create'; account: Account }
  | { op: 'password'; user: string; host: string; password: StoredPassword }
  | { op: 'remove'; user: string; host: string };

/** The accounts (user → account) the writes leave behind, each applied as the storage would. */
function replay(ops: ChildOp[]): Map<string, Account> {
  const accounts = new Map<string, Account>();
  for (const op of ops) {
    if (op.op === 'create') {
      if (!accounts.has(op.account.user)) accounts.set(op.account.user, op.account);
    } else if (op.op === 'password') {
      const a = accounts.get(op.user);
      if (a !== undefined) accounts.set(op.user, { ...a, password: op.password });
    } else {
      accounts.delete(op.user);
    }
  }
  return accounts;
}

interface Child {
  process: ChildProcess;
  /** Everything the child printed so far. */
  output: string;
  /** Resolves once the child printed a line matching `test`. */
  line(test: (line: string) => boolean): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startChild(mode: 'hold' | 'crash', dir: string): Child {
  const proc = spawn(process.execPath, [CHILD, mode, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(proc);
  let stderr = '';
  const waiters: { test: (line: string) => boolean; resolve: () => void }[] = [];
  const child: Child = {
    process: proc,
    output: '',
    line(test) {
      return new Promise((resolve, reject) => {
        if (child.output.split('\n').slice(0, -1).some(test)) return resolve();
        waiters.push({ test, resolve });
        proc.once('exit', () => reject(new Error(`child exited early; stderr: ${stderr}`)));
      });
    },
    // 'close', not 'exit': by then everything the child printed has been read.
    exited: new Promise((resolve) => proc.once('close', (code, signal) => resolve({ code, signal }))),
  };
  let partial = '';
  proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    child.output += chunk;
    const lines = (partial + chunk).split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      for (const w of waiters.splice(0)) {
        if (w.test(line)) w.resolve();
        else waiters.push(w);
      }
    }
  });
  proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  return child;
}
