import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryLogger } from '@tsjabberd/router';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryStorage } from '../src/storage/memory.js';
import { DATABASE_FILE, MIGRATIONS, openSqliteStorage, SCHEMA_VERSION } from '../src/storage/sqlite.js';
import type {
  Account,
  Ask,
  OfflineMessage,
  RosterItem,
  Storage,
  Subscription,
} from '../src/storage/storage.js';

const dirs: string[] = [];
const opened: Storage[] = [];

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tsjabberd-storage-im-'));
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
  for (const storage of opened.splice(0)) await storage.close();
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

const H = 'example.com';

function account(user: string, host = H): Account {
  const credential = { salt: 'c2FsdA==', iterations: 4096, storedKey: 'c3RvcmVk', serverKey: 'c2VydmVy' };
  return { user, host, password: { sha1: credential, sha256: credential }, created: 1_700_000_000_000 };
}

function item(jid: string, fields: Partial<RosterItem> = {}): RosterItem {
  return {
    jid,
    name: '',
    subscription: 'none',
    ask: 'none',
    groups: [],
    askMessage: '',
    approved: false,
    ...fields,
  };
}

function message(n: number, to = `alice@${H}`): OfflineMessage {
  return {
    stamp: 1_700_000_000_000 + n,
    from: `bob@${H}/phone`,
    to,
    packet: `<message xmlns='jabber:client' from='bob@${H}/phone' to='${to}'><body>${n}</body></message>`,
  };
}

const SUBSCRIPTIONS: Subscription[] = ['none', 'to', 'from', 'both'];
const ASKS: Ask[] = ['none', 'out', 'in', 'both'];

const backEnds: [string, () => Promise<Storage>][] = [
  ['memory', async () => memoryStorage()],
  ['sqlite', async () => openSqlite(await tempDir())],
];

/** Stores one of every kind of data for the user. */
async function fill(s: Storage, user: string, host = H): Promise<void> {
  await s.roster.put(user, host, item(`friend@${host}`, { name: 'Friend', groups: ['Friends'] }));
  await s.offline.store(user, host, message(1, `${user}@${host}`), 100);
  await s.last.set(user, host, { seconds: 1_700_000_000, status: 'gone' });
  await s.vcard.set(user, host, `<vCard xmlns='vcard-temp'><FN>${user}</FN></vCard>`);
  await s.private.set(user, host, [['storage:bookmarks', `<storage xmlns='storage:bookmarks'/>`]]);
  await s.blocking.add(user, host, [`spam@${host}`]);
}

/** Asserts what `fill` stored is all there (true) or all gone (false). */
async function expectFilled(s: Storage, user: string, filled: boolean, host = H): Promise<void> {
  if (filled) {
    expect(await s.roster.get(user, host)).toEqual([
      item(`friend@${host}`, { name: 'Friend', groups: ['Friends'] }),
    ]);
    expect(await s.roster.version(user, host)).toBeGreaterThan(0);
    expect(await s.offline.count(user, host)).toBe(1);
    expect(await s.last.get(user, host)).toEqual({ seconds: 1_700_000_000, status: 'gone' });
    expect(await s.vcard.get(user, host)).toBe(`<vCard xmlns='vcard-temp'><FN>${user}</FN></vCard>`);
    expect(await s.private.get(user, host, 'storage:bookmarks')).toBe(`<storage xmlns='storage:bookmarks'/>`);
    expect(await s.blocking.list(user, host)).toEqual([`spam@${host}`]);
  } else {
    expect(await s.roster.get(user, host)).toEqual([]);
    expect(await s.roster.getItem(user, host, `friend@${host}`)).toBeUndefined();
    expect(await s.roster.version(user, host)).toBe(0);
    expect(await s.offline.count(user, host)).toBe(0);
    expect(await s.offline.pop(user, host)).toEqual([]);
    expect(await s.last.get(user, host)).toBeUndefined();
    expect(await s.vcard.get(user, host)).toBeUndefined();
    expect(await s.private.get(user, host, 'storage:bookmarks')).toBeUndefined();
    expect(await s.blocking.list(user, host)).toEqual([]);
  }
}

describe.each(backEnds)('%s storage: roster', (_name, open) => {
  it('is empty at version 0 for a user who never had a roster', async () => {
    const { roster } = await open();
    expect(await roster.get('alice', H)).toEqual([]);
    expect(await roster.getItem('alice', H, 'bob@example.com')).toBeUndefined();
    expect(await roster.version('alice', H)).toBe(0);
    expect(await roster.remove('alice', H, 'bob@example.com')).toBeUndefined();
    expect(await roster.version('alice', H)).toBe(0);
  });

  it('puts items, gets them back sorted by jid, and counts a version per change', async () => {
    const { roster } = await open();
    expect(await roster.put('alice', H, item('carol@example.com', { name: 'Carol' }))).toBe(1);
    expect(await roster.put('alice', H, item('bob@example.com', { subscription: 'both' }))).toBe(2);
    // Code point order: U+1F600 after U+FF41, though before it in UTF-16 code units.
    expect(await roster.put('alice', H, item('\u{1f600}@example.com'))).toBe(3);
    expect(await roster.put('alice', H, item('\uff41@example.com'))).toBe(4);
    expect(await roster.put('alice', H, item('example.net'))).toBe(5);
    expect(await roster.version('alice', H)).toBe(5);
    expect((await roster.get('alice', H)).map((i) => i.jid)).toEqual([
      'bob@example.com',
      'carol@example.com',
      'example.net',
      '\uff41@example.com',
      '\u{1f600}@example.com',
    ]);
    expect(await roster.getItem('alice', H, 'carol@example.com')).toEqual(
      item('carol@example.com', { name: 'Carol' }),
    );
    expect(await roster.getItem('alice', H, 'Carol@example.com')).toBeUndefined();
  });

  it('replaces the item of the same jid, groups included', async () => {
    const { roster } = await open();
    await roster.put('alice', H, item('bob@example.com', { name: 'Bob', groups: ['A', 'B'], ask: 'out' }));
    const replaced = item('bob@example.com', { name: 'Robert', groups: ['C'], subscription: 'to' });
    expect(await roster.put('alice', H, replaced)).toBe(2);
    expect(await roster.get('alice', H)).toEqual([replaced]);
    expect(await roster.getItem('alice', H, 'bob@example.com')).toEqual(replaced);
    expect(await roster.put('alice', H, item('bob@example.com'))).toBe(3);
    expect(await roster.getItem('alice', H, 'bob@example.com')).toEqual(item('bob@example.com'));
  });

  it('keeps the order of the groups as given, dropping duplicates', async () => {
    const { roster } = await open();
    const groups = ['Zeta', 'alpha', 'Beta', 'Ωμέγα', '', 'Ünïcödé \u{1f600}'];
    await roster.put('alice', H, item('bob@example.com', { groups }));
    await roster.put('alice', H, item('carol@example.com', { groups: ['b', 'a', 'b', 'c', 'a'] }));
    expect((await roster.getItem('alice', H, 'bob@example.com'))!.groups).toEqual(groups);
    expect((await roster.get('alice', H)).map((i) => i.groups)).toEqual([groups, ['b', 'a', 'c']]);
    expect((await roster.getItem('alice', H, 'carol@example.com'))!.groups).toEqual(['b', 'a', 'c']);
  });

  it('round-trips every field: all subscriptions and asks, approved, ask message, non-ASCII names', async () => {
    const { roster } = await open();
    const items: RosterItem[] = [];
    let n = 0;
    for (const subscription of SUBSCRIPTIONS) {
      for (const ask of ASKS) {
        n++;
        items.push({
          jid: `contact${n.toString().padStart(2, '0')}@example.com`,
          name: n % 2 === 0 ? `Zoë ${n} — 日本語 \u{1f600}` : '',
          subscription,
          ask,
          groups: n % 3 === 0 ? [] : [`group ${n}`, 'Общие'],
          askMessage: ask === 'in' || ask === 'both' ? `Hi, it's me ${n}!\nLet me in ✓` : '',
          approved: n % 2 === 1,
        });
      }
    }
    for (const i of items) await roster.put('alice', H, i);
    expect(await roster.get('alice', H)).toEqual(items);
    for (const i of items) expect(await roster.getItem('alice', H, i.jid)).toEqual(i);
    expect(await roster.version('alice', H)).toBe(items.length);
  });

  it('removes an item, bumping the version, and only that item', async () => {
    const { roster } = await open();
    await roster.put('alice', H, item('bob@example.com', { groups: ['Friends'] }));
    await roster.put('alice', H, item('carol@example.com', { groups: ['Friends', 'Work'] }));
    expect(await roster.remove('alice', H, 'bob@example.com')).toBe(3);
    expect(await roster.remove('alice', H, 'bob@example.com')).toBeUndefined();
    expect(await roster.remove('alice', H, 'nobody@example.com')).toBeUndefined();
    expect(await roster.version('alice', H)).toBe(3);
    expect(await roster.get('alice', H)).toEqual([
      item('carol@example.com', { groups: ['Friends', 'Work'] }),
    ]);
    // Put back, it has only its new groups.
    expect(await roster.put('alice', H, item('bob@example.com'))).toBe(4);
    expect(await roster.getItem('alice', H, 'bob@example.com')).toEqual(item('bob@example.com'));
    // Emptied, the roster keeps its version.
    await roster.remove('alice', H, 'bob@example.com');
    expect(await roster.remove('alice', H, 'carol@example.com')).toBe(6);
    expect(await roster.get('alice', H)).toEqual([]);
    expect(await roster.version('alice', H)).toBe(6);
  });

  it('keeps users and hosts apart', async () => {
    const { roster } = await open();
    await roster.put('alice', H, item('bob@example.com', { name: 'a' }));
    await roster.put('alice', H, item('carol@example.com'));
    expect(await roster.put('bob', H, item('bob@example.com', { name: 'b' }))).toBe(1);
    expect(await roster.put('alice', 'other.example', item('bob@example.com', { name: 'c' }))).toBe(1);
    expect(await roster.version('alice', H)).toBe(2);
    expect(await roster.get('bob', H)).toEqual([item('bob@example.com', { name: 'b' })]);
    expect(await roster.get('alice', 'other.example')).toEqual([item('bob@example.com', { name: 'c' })]);
    expect(await roster.remove('bob', H, 'bob@example.com')).toBe(2);
    expect(await roster.getItem('alice', H, 'bob@example.com')).toEqual(
      item('bob@example.com', { name: 'a' }),
    );
  });

  it('stores copies: changing what went in or came out changes nothing stored', async () => {
    const { roster } = await open();
    const given = item('bob@example.com', { name: 'Bob', groups: ['A'] });
    await roster.put('alice', H, given);
    given.name = 'changed';
    given.groups.push('B');
    const got = (await roster.getItem('alice', H, 'bob@example.com'))!;
    got.groups.push('C');
    got.approved = true;
    const all = await roster.get('alice', H);
    all[0]!.groups.push('D');
    all[0]!.subscription = 'both';
    all.push(item('eve@example.com'));
    expect(await roster.get('alice', H)).toEqual([item('bob@example.com', { name: 'Bob', groups: ['A'] })]);
  });
});

describe.each(backEnds)('%s storage: offline messages', (_name, open) => {
  it('returns the messages oldest first, and pop empties the spool', async () => {
    const { offline } = await open();
    expect(await offline.count('alice', H)).toBe(0);
    expect(await offline.pop('alice', H)).toEqual([]);
    // Arrival order, not stamp order.
    const messages = [
      message(3),
      message(1),
      message(2),
      { ...message(4), packet: '<message>ü ✓ \u{1f600}</message>' },
    ];
    for (const m of messages) expect(await offline.store('alice', H, m, 100)).toBe(true);
    expect(await offline.count('alice', H)).toBe(4);
    expect(await offline.pop('alice', H)).toEqual(messages);
    expect(await offline.count('alice', H)).toBe(0);
    expect(await offline.pop('alice', H)).toEqual([]);
    // New messages after a pop keep their order too.
    await offline.store('alice', H, message(6), 100);
    await offline.store('alice', H, message(5), 100);
    expect(await offline.pop('alice', H)).toEqual([message(6), message(5)]);
  });

  it('refuses a message once the user holds max', async () => {
    const { offline } = await open();
    expect(await offline.store('alice', H, message(1), 2)).toBe(true);
    expect(await offline.store('alice', H, message(2), 2)).toBe(true);
    expect(await offline.store('alice', H, message(3), 2)).toBe(false);
    expect(await offline.count('alice', H)).toBe(2);
    // A higher limit lets more in; a lower one lets none.
    expect(await offline.store('alice', H, message(4), 3)).toBe(true);
    expect(await offline.store('alice', H, message(5), 1)).toBe(false);
    expect(await offline.store('bob', H, message(6, `bob@${H}`), 0)).toBe(false);
    expect(await offline.pop('alice', H)).toEqual([message(1), message(2), message(4)]);
    expect(await offline.count('bob', H)).toBe(0);
  });

  it('never exceeds the limit with concurrent stores', async () => {
    const { offline } = await open();
    await offline.store('alice', H, message(0), 5);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => offline.store('alice', H, message(i + 1), 5)),
    );
    expect(results.filter((r) => r)).toHaveLength(4);
    expect(await offline.count('alice', H)).toBe(5);
    const popped = await offline.pop('alice', H);
    expect(popped).toHaveLength(5);
    expect(popped[0]).toEqual(message(0));
  });

  it('keeps users and hosts apart', async () => {
    const { offline } = await open();
    await offline.store('alice', H, message(1), 10);
    await offline.store('bob', H, message(2, `bob@${H}`), 10);
    await offline.store('alice', 'other.example', message(3, 'alice@other.example'), 10);
    await offline.store('alice', H, message(4), 10);
    expect(await offline.count('alice', H)).toBe(2);
    expect(await offline.pop('alice', H)).toEqual([message(1), message(4)]);
    expect(await offline.pop('bob', H)).toEqual([message(2, `bob@${H}`)]);
    expect(await offline.count('alice', 'other.example')).toBe(1);
  });
});

describe.each(backEnds)('%s storage: last activity, vCard, private, blocking', (_name, open) => {
  it('sets and gets the last activity', async () => {
    const { last } = await open();
    expect(await last.get('alice', H)).toBeUndefined();
    await last.set('alice', H, { seconds: 1_700_000_000, status: '' });
    expect(await last.get('alice', H)).toEqual({ seconds: 1_700_000_000, status: '' });
    await last.set('alice', H, { seconds: 1_700_000_100, status: 'Bis später ✈' });
    const got = (await last.get('alice', H))!;
    expect(got).toEqual({ seconds: 1_700_000_100, status: 'Bis später ✈' });
    got.status = 'changed';
    expect(await last.get('alice', H)).toEqual({ seconds: 1_700_000_100, status: 'Bis später ✈' });
    expect(await last.get('bob', H)).toBeUndefined();
    expect(await last.get('alice', 'other.example')).toBeUndefined();
  });

  it('sets and gets the vCard', async () => {
    const { vcard } = await open();
    expect(await vcard.get('alice', H)).toBeUndefined();
    await vcard.set('alice', H, "<vCard xmlns='vcard-temp'><FN>Alice</FN></vCard>");
    expect(await vcard.get('alice', H)).toBe("<vCard xmlns='vcard-temp'><FN>Alice</FN></vCard>");
    // A big one (a photo), replacing the first.
    const big = `<vCard xmlns='vcard-temp'><FN>Ålice</FN><PHOTO><BINVAL>${'QUFB'.repeat(100_000)}</BINVAL></PHOTO></vCard>`;
    await vcard.set('alice', H, big);
    expect(await vcard.get('alice', H)).toBe(big);
    expect(await vcard.get('bob', H)).toBeUndefined();
  });

  it('stores private XML per namespace, several at once', async () => {
    const { private: priv } = await open();
    expect(await priv.get('alice', H, 'storage:bookmarks')).toBeUndefined();
    await priv.set('alice', H, [
      ['storage:bookmarks', "<storage xmlns='storage:bookmarks'><conference jid='a@b'/></storage>"],
      ['storage:rosternotes', "<storage xmlns='storage:rosternotes'><note>ñ</note></storage>"],
      ['exodus:prefs', "<exodus xmlns='exodus:prefs'/>"],
    ]);
    expect(await priv.get('alice', H, 'storage:bookmarks')).toBe(
      "<storage xmlns='storage:bookmarks'><conference jid='a@b'/></storage>",
    );
    expect(await priv.get('alice', H, 'storage:rosternotes')).toBe(
      "<storage xmlns='storage:rosternotes'><note>ñ</note></storage>",
    );
    // Replacing one leaves the others.
    await priv.set('alice', H, [['storage:bookmarks', "<storage xmlns='storage:bookmarks'/>"]]);
    expect(await priv.get('alice', H, 'storage:bookmarks')).toBe("<storage xmlns='storage:bookmarks'/>");
    expect(await priv.get('alice', H, 'exodus:prefs')).toBe("<exodus xmlns='exodus:prefs'/>");
    await priv.set('alice', H, []);
    expect(await priv.get('alice', H, 'exodus:prefs')).toBe("<exodus xmlns='exodus:prefs'/>");
    expect(await priv.get('bob', H, 'exodus:prefs')).toBeUndefined();
    expect(await priv.get('alice', H, 'other:ns')).toBeUndefined();
  });

  it('keeps a sorted block list: add is idempotent, remove and clear', async () => {
    const { blocking } = await open();
    expect(await blocking.list('alice', H)).toEqual([]);
    await blocking.add('alice', H, ['spam@example.com', 'bad.example', 'eve@example.com/phone']);
    await blocking.add('alice', H, [
      'eve@example.com/phone',
      'eve@example.com',
      'bad.example',
      'eve@example.com',
    ]);
    await blocking.add('alice', H, []);
    expect(await blocking.list('alice', H)).toEqual([
      'bad.example',
      'eve@example.com',
      'eve@example.com/phone',
      'spam@example.com',
    ]);
    await blocking.add('bob', H, ['eve@example.com']);
    await blocking.remove('alice', H, ['eve@example.com', 'nobody@example.com']);
    expect(await blocking.list('alice', H)).toEqual([
      'bad.example',
      'eve@example.com/phone',
      'spam@example.com',
    ]);
    const list = await blocking.list('alice', H);
    list.push('x');
    expect(await blocking.list('alice', H)).toHaveLength(3);
    await blocking.clear('alice', H);
    expect(await blocking.list('alice', H)).toEqual([]);
    await blocking.clear('carol', H);
    expect(await blocking.list('bob', H)).toEqual(['eve@example.com']);
  });
});

describe.each(backEnds)('%s storage: removing an account', (_name, open) => {
  it("removes all of the user's data, and only that user's", async () => {
    const s = await open();
    for (const [user, host] of [
      ['alice', H],
      ['bob', H],
      ['alice', 'other.example'],
    ] as const) {
      await s.accounts.create(account(user, host));
      await fill(s, user, host);
      await expectFilled(s, user, true, host);
    }
    expect(await s.accounts.remove('alice', H)).toBe(true);
    await expectFilled(s, 'alice', false);
    await expectFilled(s, 'bob', true);
    await expectFilled(s, 'alice', true, 'other.example');

    // A new account of the same name starts empty.
    expect(await s.accounts.create(account('alice'))).toBe(true);
    await expectFilled(s, 'alice', false);
    expect(await s.roster.put('alice', H, item('carol@example.com'))).toBe(1);
  });

  it('removes stray data of a user without an account, still answering false', async () => {
    const s = await open();
    await fill(s, 'ghost');
    expect(await s.accounts.remove('ghost', H)).toBe(false);
    await expectFilled(s, 'ghost', false);
  });

  it('fails every call once closed', async () => {
    const s = await open();
    await s.close();
    const calls: [string, () => Promise<unknown>][] = [
      ['roster.get', () => s.roster.get('alice', H)],
      ['roster.getItem', () => s.roster.getItem('alice', H, 'bob@example.com')],
      ['roster.put', () => s.roster.put('alice', H, item('bob@example.com'))],
      ['roster.remove', () => s.roster.remove('alice', H, 'bob@example.com')],
      ['roster.version', () => s.roster.version('alice', H)],
      ['offline.store', () => s.offline.store('alice', H, message(1), 10)],
      ['offline.pop', () => s.offline.pop('alice', H)],
      ['offline.count', () => s.offline.count('alice', H)],
      ['last.get', () => s.last.get('alice', H)],
      ['last.set', () => s.last.set('alice', H, { seconds: 1, status: '' })],
      ['vcard.get', () => s.vcard.get('alice', H)],
      ['vcard.set', () => s.vcard.set('alice', H, '<vCard/>')],
      ['private.get', () => s.private.get('alice', H, 'a:b')],
      ['private.set', () => s.private.set('alice', H, [['a:b', '<x/>']])],
      ['blocking.list', () => s.blocking.list('alice', H)],
      ['blocking.add', () => s.blocking.add('alice', H, ['x'])],
      ['blocking.remove', () => s.blocking.remove('alice', H, ['x'])],
      ['blocking.clear', () => s.blocking.clear('alice', H)],
    ];
    for (const [what, call] of calls) await expect(call(), what).rejects.toThrow(/closed/);
  });
});

describe('sqlite storage: IM data on disk', () => {
  it('keeps every kind of data across close and reopen', async () => {
    const dir = await tempDir();
    const first = await openSqliteStorage(dir);
    await first.accounts.create(account('alice'));
    await fill(first, 'alice');
    await first.roster.put('alice', H, item('bob@example.com', { groups: ['b', 'a'], approved: true }));
    await first.offline.store('alice', H, message(2), 100);
    await first.close();

    const second = await openSqlite(dir);
    expect(await second.accounts.get('alice', H)).toEqual(account('alice'));
    expect(await second.roster.get('alice', H)).toEqual([
      item('bob@example.com', { groups: ['b', 'a'], approved: true }),
      item(`friend@${H}`, { name: 'Friend', groups: ['Friends'] }),
    ]);
    expect(await second.roster.version('alice', H)).toBe(2);
    expect(await second.roster.put('alice', H, item('carol@example.com'))).toBe(3);
    // Messages stored after the restart come after the earlier ones.
    await second.offline.store('alice', H, message(0), 100);
    expect(await second.offline.pop('alice', H)).toEqual([message(1), message(2), message(0)]);
    expect(await second.last.get('alice', H)).toEqual({ seconds: 1_700_000_000, status: 'gone' });
    expect(await second.vcard.get('alice', H)).toBe(`<vCard xmlns='vcard-temp'><FN>alice</FN></vCard>`);
    expect(await second.private.get('alice', H, 'storage:bookmarks')).toBe(
      `<storage xmlns='storage:bookmarks'/>`,
    );
    expect(await second.blocking.list('alice', H)).toEqual([`spam@${H}`]);
  });

  it('migrates a version 1 database to the current version, keeping its accounts', async () => {
    const dir = await tempDir();
    const file = join(dir, DATABASE_FILE);
    // A file as the first release wrote it: schema_version at 1 and migration 1's tables only.
    const v1 = new Database(file);
    v1.exec(
      'CREATE TABLE schema_version (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL) STRICT',
    );
    v1.exec('INSERT INTO schema_version (id, version) VALUES (1, 1)');
    v1.exec(MIGRATIONS[0]!);
    const insert = v1.prepare(
      `INSERT INTO accounts VALUES (?, ?, 1700000000000, 'c2FsdA==', 4096, 'c3RvcmVk', 'c2VydmVy',
         'c2FsdA==', 4096, 'c3RvcmVk', 'c2VydmVy')`,
    );
    insert.run(H, 'alice');
    insert.run(H, 'bob');
    v1.close();

    const log = new MemoryLogger();
    const storage = await openSqliteStorage(dir, log);
    expect(log.lines.join('\n')).toContain(`${file} migrated to schema version ${SCHEMA_VERSION}`);
    expect(await storage.accounts.list(H)).toEqual(['alice', 'bob']);
    expect(await storage.accounts.get('alice', H)).toEqual(account('alice'));
    await fill(storage, 'alice');
    await expectFilled(storage, 'alice', true);
    expect(await storage.accounts.remove('alice', H)).toBe(true);
    await expectFilled(storage, 'alice', false);
    await storage.close();

    const db = new Database(file, { readonly: true });
    try {
      expect(db.prepare('SELECT version FROM schema_version').all()).toEqual([{ version: SCHEMA_VERSION }]);
      expect(db.prepare('SELECT user FROM accounts').all()).toEqual([{ user: 'bob' }]);
    } finally {
      db.close();
    }
  });

  it('creates only STRICT tables of TEXT and INTEGER columns', async () => {
    const dir = await tempDir();
    await (await openSqliteStorage(dir)).close();
    const db = new Database(join(dir, DATABASE_FILE), { readonly: true });
    try {
      const tables = db
        .prepare(
          "SELECT name, strict FROM pragma_table_list WHERE schema = 'main' AND name NOT LIKE 'sqlite_%'",
        )
        .all() as { name: string; strict: number }[];
      expect(tables.map((t) => t.name).sort()).toEqual([
        'accounts',
        'blocked_jids',
        'last_activity',
        'offline_messages',
        'private_storage',
        'roster_groups',
        'roster_items',
        'roster_versions',
        'schema_version',
        'vcards',
      ]);
      for (const { name, strict } of tables) {
        expect(strict, name).toBe(1);
        const types = (db.pragma(`table_info(${name})`) as { type: string }[]).map((c) => c.type);
        for (const type of types) expect(['TEXT', 'INTEGER'], name).toContain(type);
      }
    } finally {
      db.close();
    }
  });

  it('rolls a failed roster write back whole, naming the file', async () => {
    const dir = await tempDir();
    const s = await openSqlite(dir);
    await s.roster.put('alice', H, item('bob@example.com', { name: 'Bob', groups: ['A'] }));
    // The item row is written first; the bad group then fails, and nothing of the put remains.
    const bad = item('bob@example.com', { name: 'Robert', groups: ['B', {} as string] });
    await expect(s.roster.put('alice', H, bad)).rejects.toThrow(join(dir, DATABASE_FILE));
    expect(await s.roster.get('alice', H)).toEqual([item('bob@example.com', { name: 'Bob', groups: ['A'] })]);
    expect(await s.roster.version('alice', H)).toBe(1);
    // The check constraints refuse values outside the types.
    await expect(
      s.roster.put('alice', H, item('carol@example.com', { subscription: 'maybe' as Subscription })),
    ).rejects.toThrow(/CHECK constraint/);
    expect(await s.roster.version('alice', H)).toBe(1);
  });
});
