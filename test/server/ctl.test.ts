/**
 * tsjabberdctl against a running server over its real control socket: every command of the registry
 * run through `ctl` at least once, its output checked as ejabberdctl prints it (rescode: exit code
 * only, `Error: false` when false; restuple: its text; list: one item per line; tuple: tab-separated
 * fields; a failed command: ejabberdctl's error line on stdout, exit 1) and its effect checked over
 * XMPP by real clients.
 */
import { statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { get_attr_s, get_subtag, get_tag_cdata, type XmlElement } from '@tsjabberd/xml-stanza';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { EjabberdCommands } from '../../packages/server/src/commands/ejabberd_commands.js';
import { type CtlRun, eventually, runCtl, startControlledServer, type TestServer } from './helpers.js';
import type { RawClient } from './raw-client.js';

let t: TestServer;
let commands: EjabberdCommands;
let socket: string;
let stop: () => Promise<void>;
/** Every command name `run` was asked to run (the last test checks all were). */
const exercised = new Set<string>();
let n = 0;

beforeAll(async () => {
  ({ t, commands, socket, stop } = await startControlledServer());
});
afterAll(async () => {
  await stop();
});
afterEach(() => {
  t.closeClients();
});

function fresh(): string {
  return `ctl${++n}`;
}

function ctlAt(file: string, argv: string[]): Promise<CtlRun> {
  return runCtl(file, argv);
}

/** `tsjabberdctl ARGS...` in process against the server's control socket. */
async function run(...argv: string[]): Promise<CtlRun> {
  if (argv[0] !== undefined) exercised.add(argv[0]);
  return ctlAt(socket, argv);
}

/** The lines of a list output (without the final newline). */
function lines(out: string): string[] {
  return out === '' ? [] : out.replace(/\n$/, '').split('\n');
}

/** A command that must succeed printing nothing (a rescode). */
async function ok(...argv: string[]): Promise<void> {
  expect(await run(...argv)).toEqual({ code: 0, stdout: '', stderr: '' });
}

/** A command that must fail as ejabberdctl does: `line` on stdout, nothing on stderr, exit 1. */
async function fails(line: string, ...argv: string[]): Promise<void> {
  expect(await run(...argv)).toEqual({ code: 1, stdout: `${line}\n`, stderr: '' });
}

/** What ejabberdctl prints for a command refused because the account does not exist. */
const UNKNOWN_USER = '{not_found,"unknown_user"}';

/** A client logged in that requested its roster (so it gets roster pushes). */
async function withRoster(user: string, password: string, resource = 'r'): Promise<RawClient> {
  const c = await t.login(user, password, resource);
  const result = await c.iq("type='get'", "<query xmlns='jabber:iq:roster'/>");
  expect(get_attr_s('type', result[2])).toBe('result');
  return c;
}

/** A fresh account made through ctl. */
async function account(password = 'pw'): Promise<string> {
  const u = fresh();
  expect((await run('register', u, 'localhost', password)).code).toBe(0);
  return u;
}

/** The item of the next roster push about `jid` received after `mark`. */
async function rosterPush(c: RawClient, mark: number, jid: string): Promise<XmlElement> {
  const iq = await c.until(
    () =>
      c.elements.slice(mark).find((e) => {
        if (e[1] !== 'iq' || get_attr_s('type', e[2]) !== 'set') return false;
        const query = get_subtag(e, 'query');
        if (query === false) return false;
        const item = get_subtag(query, 'item');
        return item !== false && get_attr_s('jid', item[2]) === jid;
      }),
    `a roster push of ${jid}`,
  );
  return get_subtag(get_subtag(iq, 'query') as XmlElement, 'item') as XmlElement;
}

/** The next message received after `mark` whose body is `body`. */
async function messageWith(c: RawClient, mark: number, body: string): Promise<XmlElement> {
  return c.until(
    () =>
      c.elements.slice(mark).find((e) => {
        if (e[1] !== 'message') return false;
        const b = get_subtag(e, 'body');
        return b !== false && get_tag_cdata(b) === body;
      }),
    `a message "${body}"`,
  );
}

/** The next presence from `from` received after `mark` (of `type`, '' for available). */
async function presenceFrom(c: RawClient, mark: number, from: string, type = ''): Promise<XmlElement> {
  return c.until(
    () =>
      c.elements
        .slice(mark)
        .find(
          (e) =>
            e[1] === 'presence' && get_attr_s('from', e[2]) === from && get_attr_s('type', e[2]) === type,
        ),
    `a presence from ${from} (type '${type}')`,
  );
}

describe('tsjabberdctl: the control socket', () => {
  it('is a socket only its owner may use (0600)', () => {
    const st = statSync(socket);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
  });

  it('exits 3 when no server answers at the socket path', async () => {
    const nowhere = path.join(os.tmpdir(), `tsjabberd-none-${process.pid}-${Date.now()}`, 'tsjabberd.sock');
    const r = await ctlAt(nowhere, ['status']);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('not running');
    expect(r.stderr).toContain(nowhere);
  });
});

describe('tsjabberdctl: help, usage and bad calls', () => {
  it('help lists every command with its usage and description; no command prints usage and exits 1', async () => {
    const help = await run('help');
    expect(help.code).toBe(0);
    expect(help.stderr).toBe('');
    expect(help.stdout).toMatch(/^Usage: tsjabberdctl COMMAND \[ARGS\.\.\.\]\n/);
    for (const c of commands.list_commands()) {
      const usage = `${c.name}${c.args.map(([a]) => ` ${a}`).join('')}`;
      expect(help.stdout).toMatch(
        new RegExp(`\\n  ${usage} +${c.desc.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n`),
      );
    }
    const bare = await run();
    expect(bare.code).toBe(1);
    expect(bare.stdout).toBe(help.stdout);
  });

  it('help COMMAND shows arguments with types and the nested Returns format', async () => {
    const users = await run('help', 'registered_users');
    expect(users.code).toBe(0);
    expect(users.stdout).toContain('  Command Name: registered_users\n');
    expect(users.stdout).toContain('  Arguments: host::binary\n');
    expect(users.stdout).toContain('  Returns: users::[ username::string ]\n');
    expect(users.stdout).toContain('  Description: List all registered users in HOST\n');
    const roster = await run('help', 'get_roster');
    expect(roster.stdout).toContain(
      '  Returns: contacts::[ contact::{ jid::string, nick::string, subscription::string, ask::string, group::string } ]\n',
    );
    expect(roster.stdout).toContain('  Arguments: user::binary\n             host::binary\n');
    const last = await run('help', 'set_last');
    expect(last.stdout).toContain('timestamp::integer');
    expect(last.stdout).toContain('  Returns: res::rescode\n');
    const vhosts = await run('help', 'registered_vhosts');
    expect(vhosts.stdout).toContain('  Arguments: (none)\n');
    const stats = await run('help', 'stats');
    expect(stats.stdout).toContain('  Returns: stat::integer\n');
    expect(await run('help', 'no_such_thing')).toEqual({
      code: 1,
      stdout: '',
      stderr: 'Unknown command no_such_thing\n',
    });
  });

  it('an unknown command exits 1 with its name on stderr', async () => {
    expect(await run('frobnicate', 'x')).toEqual({
      code: 1,
      stdout: '',
      stderr: 'Unknown command frobnicate\n',
    });
  });

  it('a wrong argument count exits 1 with the usage, changing nothing', async () => {
    const u = fresh();
    const short = await run('register', u, 'localhost');
    expect(short).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'Error: the command register requires 3 arguments\n  Usage: tsjabberdctl register user host password\n',
    });
    const long = await run('register', u, 'localhost', 'pw', 'extra');
    expect(long.code).toBe(1);
    expect(long.stderr).toContain('Usage: tsjabberdctl register user host password');
    const none = await run('status', 'now');
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('requires 0 arguments');
    expect(await t.server.auth.user_exists(u, 'localhost')).toBe(false);
    expect(await t.canLogin(u, 'pw')).toBe(false);
  });

  it('an argument that fails (unknown host) exits 1 with "Error: <message>" on stdout, changing nothing', async () => {
    const u = fresh();
    await fails('Error: Unknown virtual host: nowhere.example', 'register', u, 'nowhere.example', 'pw');
    expect(await t.server.auth.user_exists(u, 'nowhere.example')).toBe(false);
    await fails('Error: Unknown virtual host: nowhere.example', 'registered_users', 'nowhere.example');
    expect(lines((await run('registered_users', 'localhost')).stdout)).not.toContain(u);
    await fails(
      'Error: Unknown virtual host: nowhere.example',
      'stats_host',
      'registeredusers',
      'nowhere.example',
    );
    await fails('Error: Unknown virtual host: nowhere.example', 'announce', 'nowhere.example', 'S', 'B');
  });

  it('an integer argument given as text exits 1 with the error on stdout and sets nothing', async () => {
    const u = await account();
    const registered = await t.server.storage.last.get(u, 'localhost');
    expect(registered).toMatchObject({ status: "Registered but didn't login" });
    await fails('Error: Arg "soon" is not in format integer', 'set_last', u, 'localhost', 'soon', 'away');
    // The last activity is still the one of the registration.
    expect(await t.server.storage.last.get(u, 'localhost')).toEqual(registered);
    const stamp = new Date((registered?.seconds ?? 0) * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
    expect(await run('get_last', u, 'localhost')).toEqual({
      code: 0,
      stdout: `${stamp}\tRegistered but didn't login\n`,
      stderr: '',
    });
  });

  it('a command api_permissions refuses to ejabberd_ctl exits 1 with "Error: ..." on stdout, changing nothing', async () => {
    const saved = t.server.config.api_permissions;
    t.server.config.api_permissions = {
      'console commands': { from: ['ejabberd_ctl'], who: [{ kind: 'all' }], what: ['*', '!ban_account'] },
    };
    const u = await account('keep');
    try {
      const r = await run('ban_account', u, 'localhost', 'no');
      expect(r.code).toBe(1);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/^Error: .*does not have the right.*\n$/);
      // The other commands still pass.
      await ok('check_account', u, 'localhost');
    } finally {
      t.server.config.api_permissions = saved;
    }
    expect(await t.canLogin(u, 'keep')).toBe(true);
  });
});

describe('tsjabberdctl: accounts', () => {
  it('register: the account logs in; a second register exits 1 printing "Error: conflict: ..."', async () => {
    const u = fresh();
    expect(await run('register', u, 'localhost', 'pw1')).toEqual({
      code: 0,
      stdout: `User ${u}@localhost successfully registered\n`,
      stderr: '',
    });
    expect(await t.canLogin(u, 'pw1')).toBe(true);
    await fails(
      `Error: conflict: User ${u}@localhost already registered`,
      'register',
      u,
      'localhost',
      'other',
    );
    expect(await t.canLogin(u, 'pw1')).toBe(true);
  });

  it('unregister prints nothing: the online client is thrown out and cannot log in again', async () => {
    const u = await account();
    const c = await t.login(u, 'pw', 'r');
    // A restuple with an empty text prints nothing (not an empty line).
    expect(await run('unregister', u, 'localhost')).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(await c.streamError()).toBe('not-authorized');
    await c.until(() => c.closed, 'the stream to close');
    expect(await t.canLogin(u, 'pw')).toBe(false);
    await fails('Error: false', 'check_account', u, 'localhost');
  });

  it('change_password: the old password fails, the new works; an unknown user prints {not_found,"unknown_user"}, exits 1 and is not created', async () => {
    const u = await account('old');
    await ok('change_password', u, 'localhost', 'new');
    expect(await t.canLogin(u, 'old')).toBe(false);
    expect(await t.canLogin(u, 'new')).toBe(true);
    const ghost = fresh();
    await fails(UNKNOWN_USER, 'change_password', ghost, 'localhost', 'x');
    expect(await t.server.auth.user_exists(ghost, 'localhost')).toBe(false);
  });

  it('check_account / check_password exit 0 printing nothing, or 1 printing "Error: false"', async () => {
    const u = await account('secret');
    await ok('check_account', u, 'localhost');
    await fails('Error: false', 'check_account', fresh(), 'localhost');
    await fails('Error: false', 'check_account', u, 'nowhere.example');
    await ok('check_password', u, 'localhost', 'secret');
    await fails('Error: false', 'check_password', u, 'localhost', 'wrong');
    await fails('Error: false', 'check_password', fresh(), 'localhost', 'secret');
    // Nothing changed: the right password still works.
    await ok('check_password', u, 'localhost', 'secret');
  });

  it('registered_users prints one sorted user per line; registered_vhosts the hosts', async () => {
    const u = await account();
    const r = await run('registered_users', 'localhost');
    expect(r.code).toBe(0);
    expect(r.stdout.endsWith('\n')).toBe(true);
    const users = lines(r.stdout);
    expect(users).toEqual(expect.arrayContaining(['alice', 'bob', u]));
    expect(users).toEqual([...users].sort());
    expect(users).toEqual([...(await t.server.auth.get_users('localhost'))].sort());
    expect(await run('registered_vhosts')).toEqual({ code: 0, stdout: 'localhost\n', stderr: '' });
  });

  it('ban_account: the client is thrown out, cannot log in, and the account remains', async () => {
    const u = await account('pw');
    const c = await t.login(u, 'pw', 'home');
    await ok('ban_account', u, 'localhost', 'spam');
    expect(await c.streamError()).toBe('not-authorized');
    await c.until(() => c.closed, 'the stream to close');
    expect(await t.canLogin(u, 'pw')).toBe(false);
    await ok('check_account', u, 'localhost');
    expect((await run('check_password', u, 'localhost', 'pw')).code).toBe(1);
    const stranger = fresh();
    await fails(UNKNOWN_USER, 'ban_account', stranger, 'localhost', 'x');
    expect(await t.server.auth.user_exists(stranger, 'localhost')).toBe(false);
  });
});

describe('tsjabberdctl: server state', () => {
  it('status prints the node, that it is started, and the ejabberd API version before "is running in that node"', async () => {
    const r = await run('status');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(
      `The node ${t.server.node.name} is started with status: started\n` +
        'tsjabberd 0.1.0 with the ejabberd API of 23.01 is running in that node\n',
    );
    // xmpp-backends reads the version as the token before "is running in that node".
    expect(/([^ ]*) is running in that node/.exec(r.stdout)?.[1]).toBe('23.01');
  });

  it('stop prints nothing, exits 0 and asks the server to stop (the process test is in cli.test.ts)', async () => {
    const asked: string[] = [];
    const previous = t.server.stopRequested;
    t.server.stopRequested = (reason) => asked.push(reason);
    try {
      expect(await run('stop')).toEqual({ code: 0, stdout: '', stderr: '' });
      await eventually(async () => asked.length > 0, 'the stop request');
      expect(asked).toEqual(['command stop']);
    } finally {
      t.server.stopRequested = previous;
    }
  });

  it('stats and stats_host print numbers that follow the accounts and sessions', async () => {
    const number = async (...argv: string[]): Promise<number> => {
      const r = await run(...argv);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^\d+\n$/);
      return Number(r.stdout);
    };
    const registered = await number('stats', 'registeredusers');
    expect(await number('stats_host', 'registeredusers', 'localhost')).toBe(registered);
    expect(registered).toBe(lines((await run('registered_users', 'localhost')).stdout).length);
    const u = await account();
    expect(await number('stats', 'registeredusers')).toBe(registered + 1);
    expect(await number('stats_host', 'registeredusers', 'localhost')).toBe(registered + 1);
    const before = await number('stats', 'onlineusers');
    const beforeNode = await number('stats', 'onlineusersnode');
    const beforeHost = await number('stats_host', 'onlineusers', 'localhost');
    await t.login(u, 'pw', 'r');
    expect(await number('stats', 'onlineusers')).toBe(before + 1);
    expect(await number('stats', 'onlineusersnode')).toBe(beforeNode + 1);
    expect(await number('stats_host', 'onlineusers', 'localhost')).toBe(beforeHost + 1);
    expect(await number('stats', 'uptimeseconds')).toBeGreaterThanOrEqual(0);
    await fails('Error: Unknown statistic: nonsense', 'stats', 'nonsense');
  });

  it('connected_users, connected_users_number, connected_users_info, user_sessions_info, get_resources', async () => {
    const u = await account();
    const before = Number((await run('connected_users_number')).stdout);
    const a = await t.login(u, 'pw', 'one');
    await t.login(u, 'pw', 'two');
    const mark = a.elements.length;
    a.write('<presence><show>dnd</show><status>busy now</status><priority>3</priority></presence>');
    await a.next('presence', mark);

    const users = await run('connected_users');
    expect(users.code).toBe(0);
    expect(lines(users.stdout)).toEqual(expect.arrayContaining([`${u}@localhost/one`, `${u}@localhost/two`]));
    expect(await run('connected_users_number')).toEqual({ code: 0, stdout: `${before + 2}\n`, stderr: '' });
    expect(lines(users.stdout)).toHaveLength(before + 2);

    const info = await run('connected_users_info');
    expect(info.code).toBe(0);
    const rows = lines(info.stdout).map((l) => l.split('\t'));
    expect(rows).toHaveLength(before + 2);
    const one = rows.find((r) => r[0] === `${u}@localhost/one`);
    // jid connection ip port priority node uptime status resource statustext
    expect(one).toHaveLength(10);
    const [jid, connection, ip, port, priority, node, uptime, status, resource, statustext] = one as string[];
    expect(jid).toBe(`${u}@localhost/one`);
    expect(connection).toMatch(/^c2s(_tls)?$/);
    expect(ip).toContain('127.0.0.1');
    expect(Number(port)).toBeGreaterThan(0);
    expect(priority).toBe('3');
    expect(node).toBe(t.server.node.name);
    expect(uptime).toMatch(/^\d+$/);
    expect(status).toBe('dnd');
    expect(resource).toBe('one');
    expect(statustext).toBe('busy now');
    const two = rows.find((r) => r[0] === `${u}@localhost/two`) as string[];
    expect(two[7]).toBe('unavailable');
    expect(two[8]).toBe('two');

    const sessions = await run('user_sessions_info', u, 'localhost');
    expect(sessions.code).toBe(0);
    const own = lines(sessions.stdout).map((l) => l.split('\t'));
    expect(own).toHaveLength(2);
    // The declared 9 fields: connection ip port priority node uptime status resource statustext.
    const dnd = own.find((r) => r[7] === 'one') as string[];
    expect(dnd).toHaveLength(9);
    expect(dnd[0]).toBe('c2s_tls');
    expect(dnd[1]).toBe('127.0.0.1');
    expect(dnd[3]).toBe('3');
    expect(dnd[4]).toBe(t.server.node.name);
    expect(dnd[6]).toBe('dnd');
    expect(dnd[8]).toBe('busy now');
    expect(own.map((r) => r.at(-2)).sort()).toEqual(['one', 'two']);

    const resources = await run('get_resources', u, 'localhost');
    expect(resources.code).toBe(0);
    expect(lines(resources.stdout).sort()).toEqual(['one', 'two']);
    expect(await run('get_resources', fresh(), 'localhost')).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it('get_presence prints jid, show and status of the best resource', async () => {
    const u = await account();
    expect(await run('get_presence', u, 'localhost')).toEqual({
      code: 0,
      stdout: `${u}@localhost\tunavailable\t\n`,
      stderr: '',
    });
    const c = await t.login(u, 'pw', 'home');
    c.write('<presence><show>away</show><status>lunch</status><priority>5</priority></presence>');
    await eventually(
      async () => (await run('get_presence', u, 'localhost')).stdout === `${u}@localhost/home\taway\tlunch\n`,
      'the presence of home',
    );
    const d = await t.login(u, 'pw', 'work');
    d.write('<presence><priority>9</priority></presence>');
    await eventually(
      async () => (await run('get_presence', u, 'localhost')).stdout === `${u}@localhost/work\tavailable\t\n`,
      'the presence of work',
    );
  });

  it('kick_session closes the client stream; kicking it again succeeds, printing nothing, and is logged', async () => {
    const u = await account();
    const c = await t.login(u, 'pw', 'kickme');
    await ok('kick_session', u, 'localhost', 'kickme', 'bye');
    expect(await c.streamError()).toBe('policy-violation');
    await c.until(() => c.closed, 'the stream to close');
    await eventually(
      async () => (await run('get_resources', u, 'localhost')).stdout === '',
      'the session to end',
    );
    await ok('kick_session', u, 'localhost', 'kickme', 'again');
    expect(
      t.log.lines.some((l) => l.includes(`kick_session: no session ${u}@localhost/kickme to kick`)),
    ).toBe(true);
    expect(await run('get_resources', u, 'localhost')).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it('get_last / set_last: a set value is printed as timestamp and status; ONLINE (microseconds) while online; NOT FOUND for no account', async () => {
    const u = await account();
    await ok('set_last', u, 'localhost', '1700000000', 'gone fishing');
    expect(await run('get_last', u, 'localhost')).toEqual({
      code: 0,
      stdout: '2023-11-14T22:13:20Z\tgone fishing\n',
      stderr: '',
    });
    expect(await t.server.storage.last.get(u, 'localhost')).toMatchObject({ seconds: 1_700_000_000 });
    // While a client is online, get_last says ONLINE with the current time.
    const c = await t.login(u, 'pw', 'now');
    const online_ = await run('get_last', u, 'localhost');
    expect(online_.code).toBe(0);
    expect(online_.stdout).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z\tONLINE\n$/);
    c.close();
    // An account that does not exist: NOT FOUND with the current time in microseconds, exit 0.
    const ghost = fresh();
    const before = Date.now();
    const notFound = await run('get_last', ghost, 'localhost');
    expect(notFound.code).toBe(0);
    expect(notFound.stderr).toBe('');
    expect(notFound.stdout).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z\tNOT FOUND\n$/);
    const stamp = notFound.stdout.split('\t')[0] as string;
    expect(stamp).toHaveLength(27);
    expect(Date.parse(stamp)).toBeGreaterThanOrEqual(before - 1);
    expect(Date.parse(stamp)).toBeLessThanOrEqual(Date.now());
    await fails(UNKNOWN_USER, 'set_last', ghost, 'localhost', '1', 'x');
    expect(await t.server.auth.user_exists(ghost, 'localhost')).toBe(false);
    expect(await t.server.storage.last.get(ghost, 'localhost')).toBeUndefined();
    // An unknown host is still an error.
    await fails('Error: Unknown virtual host: nowhere.example', 'get_last', u, 'nowhere.example');
  });
});

describe('tsjabberdctl: stanzas', () => {
  it('send_message delivers chat, normal and headline messages to the client', async () => {
    const u = await account();
    const c = await t.login(u, 'pw', 'msg');
    for (const [type, subject] of [
      ['chat', ''],
      ['normal', 'Subj'],
      ['headline', 'News'],
    ]) {
      const mark = c.elements.length;
      await ok('send_message', type, 'admin@localhost', `${u}@localhost/msg`, subject, `hello ${type}`);
      const m = await messageWith(c, mark, `hello ${type}`);
      expect(get_attr_s('type', m[2])).toBe(type);
      expect(get_attr_s('from', m[2])).toBe('admin@localhost');
      const s = get_subtag(m, 'subject');
      if (subject === '') expect(s).toBe(false);
      else expect(get_tag_cdata(s as XmlElement)).toBe(subject);
    }
    const mark = c.elements.length;
    const bad = await run('send_message', 'bogus', 'admin@localhost', `${u}@localhost/msg`, '', 'nope');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe('');
    expect(bad.stdout).toMatch(/^Error: .*type must be.*\n$/);
    const badJid = await run('send_message', 'chat', 'admin@localhost', 'a@b@c', '', 'nope');
    expect(badJid.code).toBe(1);
    expect(badJid.stderr).toBe('');
    expect(badJid.stdout).toMatch(/^Error: .*argument to is not a valid JID.*\n$/);
    // The refused messages were never sent: the next one is the first the client gets.
    await ok('send_message', 'chat', 'admin@localhost', `${u}@localhost/msg`, '', 'after');
    await messageWith(c, mark, 'after');
    const bodies = c.elements
      .slice(mark)
      .filter((e) => e[1] === 'message')
      .map((e) => get_tag_cdata(get_subtag(e, 'body') as XmlElement));
    expect(bodies).toEqual(['after']);
  });

  it('send_stanza routes the given stanza with the given from and to', async () => {
    const u = await account();
    const c = await t.login(u, 'pw', 'raw');
    const mark = c.elements.length;
    await ok(
      'send_stanza',
      'service@localhost/x',
      `${u}@localhost/raw`,
      "<message type='chat' from='forged@evil' id='s1'><body>raw stanza</body></message>",
    );
    const m = await messageWith(c, mark, 'raw stanza');
    expect(get_attr_s('from', m[2])).toBe('service@localhost/x');
    expect(get_attr_s('id', m[2])).toBe('s1');
    expect(get_attr_s('type', m[2])).toBe('chat');
    const mark2 = c.elements.length;
    const bad = await run('send_stanza', 'a@localhost', `${u}@localhost/raw`, '<message');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe('');
    expect(bad.stdout).toMatch(/^Error: .+\n$/);
    // Nothing was sent: the next stanza the client gets is the one sent after.
    await ok(
      'send_stanza',
      'service@localhost/x',
      `${u}@localhost/raw`,
      "<message type='chat'><body>after</body></message>",
    );
    await messageWith(c, mark2, 'after');
    expect(c.elements.slice(mark2).filter((e) => e[1] === 'message')).toHaveLength(1);
  });

  it('announce reaches every online client of the host', async () => {
    const u = await account();
    const v = await account();
    const a = await t.login(u, 'pw', 'a');
    const b = await t.login(v, 'pw', 'b');
    const ma = a.elements.length;
    const mb = b.elements.length;
    await ok('announce', 'localhost', 'Maintenance', 'Down at noon');
    for (const [c, mark] of [
      [a, ma],
      [b, mb],
    ] as const) {
      const m = await messageWith(c, mark, 'Down at noon');
      expect(get_attr_s('from', m[2])).toBe('localhost');
      expect(get_attr_s('type', m[2])).toBe('normal');
      expect(get_tag_cdata(get_subtag(m, 'subject') as XmlElement)).toBe('Maintenance');
    }
  });
});

describe('tsjabberdctl: rosters', () => {
  it('add_rosteritem / get_roster / delete_rosteritem, pushed to the client; deleting an absent item succeeds', async () => {
    const u = await account();
    const c = await withRoster(u, 'pw');
    expect(await run('get_roster', u, 'localhost')).toEqual({ code: 0, stdout: '', stderr: '' });
    let mark = c.elements.length;
    await ok('add_rosteritem', u, 'localhost', 'friend', 'example.com', 'Friend', 'Work;Play', 'both');
    const pushed = await rosterPush(c, mark, 'friend@example.com');
    expect(get_attr_s('subscription', pushed[2])).toBe('both');
    expect(get_attr_s('name', pushed[2])).toBe('Friend');
    expect(
      pushed[3].filter((g): g is XmlElement => g[0] === 'xmlelement').map((g) => get_tag_cdata(g)),
    ).toEqual(['Work', 'Play']);
    expect(await run('get_roster', u, 'localhost')).toEqual({
      code: 0,
      stdout: 'friend@example.com\tFriend\tboth\tnone\tWork;Play\n',
      stderr: '',
    });
    // A roster get by the client finds it too.
    const result = await c.iq("type='get'", "<query xmlns='jabber:iq:roster'/>");
    const items = (get_subtag(result, 'query') as XmlElement)[3].filter(
      (i): i is XmlElement => i[0] === 'xmlelement',
    );
    expect(items.map((i) => get_attr_s('jid', i[2]))).toEqual(['friend@example.com']);

    const bad = await run('add_rosteritem', u, 'localhost', 'x', 'example.com', '', '', 'maybe');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe('');
    expect(bad.stdout).toMatch(/^Error: .*subs must be.*\n$/);
    expect(lines((await run('get_roster', u, 'localhost')).stdout)).toHaveLength(1);

    mark = c.elements.length;
    await ok('delete_rosteritem', u, 'localhost', 'friend', 'example.com');
    const removed = await rosterPush(c, mark, 'friend@example.com');
    expect(get_attr_s('subscription', removed[2])).toBe('remove');
    expect(await run('get_roster', u, 'localhost')).toEqual({ code: 0, stdout: '', stderr: '' });
    // Deleting it again: the roster is already without it, so it succeeds, and nothing is pushed.
    mark = c.elements.length;
    await ok('delete_rosteritem', u, 'localhost', 'friend', 'example.com');
    expect(await run('get_roster', u, 'localhost')).toEqual({ code: 0, stdout: '', stderr: '' });
    // A ping after it: once it is answered, a push would have come before it.
    const pong = await c.iq("type='get' to='localhost'", "<ping xmlns='urn:xmpp:ping'/>");
    expect(get_attr_s('type', pong[2])).toBe('result');
    expect(c.elements.slice(mark).filter((e) => e[1] === 'iq' && get_attr_s('type', e[2]) === 'set')).toEqual(
      [],
    );
    // An account that does not exist is still refused.
    await fails(UNKNOWN_USER, 'delete_rosteritem', fresh(), 'localhost', 'friend', 'example.com');
    await fails(UNKNOWN_USER, 'get_roster', fresh(), 'localhost');
  });

  it('link_contacts / get_roster_with_presence / unlink_contacts, seen by both clients', async () => {
    const u = await account();
    const v = await account();
    const a = await withRoster(u, 'pw', 'ra');
    const b = await withRoster(v, 'pw', 'rb');
    a.write('<presence><show>chat</show><status>hi all</status><priority>1</priority></presence>');
    b.write('<presence><show>xa</show><status>away long</status><priority>2</priority></presence>');
    await eventually(
      async () => (await run('get_presence', v, 'localhost')).stdout.includes('\txa\t'),
      'the presence of b',
    );
    await eventually(
      async () => (await run('get_presence', u, 'localhost')).stdout.includes('\tchat\t'),
      'the presence of a',
    );
    let ma = a.elements.length;
    let mb = b.elements.length;
    await ok('link_contacts', `${u}@localhost`, 'Ann', `${v}@localhost`, 'Ben');
    // nickN is what jidN is called in the other's roster.
    const inA = await rosterPush(a, ma, `${v}@localhost`);
    expect(get_attr_s('subscription', inA[2])).toBe('both');
    expect(get_attr_s('name', inA[2])).toBe('Ben');
    const inB = await rosterPush(b, mb, `${u}@localhost`);
    expect(get_attr_s('subscription', inB[2])).toBe('both');
    expect(get_attr_s('name', inB[2])).toBe('Ann');
    // Each now sees the other online.
    await presenceFrom(a, ma, `${v}@localhost/rb`);
    await presenceFrom(b, mb, `${u}@localhost/ra`);

    expect(await run('get_roster', u, 'localhost')).toEqual({
      code: 0,
      stdout: `${v}@localhost\tBen\tboth\tnone\t\n`,
      stderr: '',
    });
    // jid resource group nick subscription pending show status
    expect(await run('get_roster_with_presence', u, 'localhost')).toEqual({
      code: 0,
      stdout: `${v}@localhost\trb\t\tBen\tboth\tnone\txa\taway long\n`,
      stderr: '',
    });
    expect(await run('get_roster_with_presence', v, 'localhost')).toEqual({
      code: 0,
      stdout: `${u}@localhost\tra\t\tAnn\tboth\tnone\tchat\thi all\n`,
      stderr: '',
    });

    ma = a.elements.length;
    mb = b.elements.length;
    await ok('unlink_contacts', `${u}@localhost`, `${v}@localhost`);
    expect(get_attr_s('subscription', (await rosterPush(a, ma, `${v}@localhost`))[2])).toBe('remove');
    expect(get_attr_s('subscription', (await rosterPush(b, mb, `${u}@localhost`))[2])).toBe('remove');
    await presenceFrom(a, ma, `${v}@localhost/rb`, 'unavailable');
    await presenceFrom(b, mb, `${u}@localhost/ra`, 'unavailable');
    expect(await run('get_roster', u, 'localhost')).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(await run('get_roster_with_presence', v, 'localhost')).toEqual({
      code: 0,
      stdout: '',
      stderr: '',
    });

    const same = await run('link_contacts', `${u}@localhost`, 'x', `${u}@localhost`, 'y');
    expect(same.code).toBe(1);
    expect(same.stderr).toBe('');
    expect(same.stdout).toMatch(/^Error: .*same account.*\n$/);
    const stranger = fresh();
    await fails(UNKNOWN_USER, 'link_contacts', `${u}@localhost`, 'x', `${stranger}@localhost`, 'y');
    expect(await run('get_roster', u, 'localhost')).toEqual({ code: 0, stdout: '', stderr: '' });
    await fails(UNKNOWN_USER, 'unlink_contacts', `${u}@localhost`, `${stranger}@localhost`);
  });
});

describe('tsjabberdctl: coverage', () => {
  it('every registered command was run through ctl by this file', () => {
    const names = commands.list_commands().map((c) => c.name);
    expect(names.length).toBeGreaterThan(20);
    expect(names.filter((name) => !exercised.has(name))).toEqual([]);
  });
});
