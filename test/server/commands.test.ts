import { get_attr_s, get_subtag, get_tag_cdata, type XmlElement } from '@tsjabberd/xml-stanza';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ArgumentError,
  type EjabberdCommands,
} from '../../packages/server/src/commands/ejabberd_commands.js';
import { call } from '../../packages/server/src/control.js';
import { type CtlRun, runCtl, startControlledServer, type TestServer } from './helpers.js';

let t: TestServer;
let commands: EjabberdCommands;
let socket: string;
let stop: () => Promise<void>;
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
  return `cmd${++n}`;
}

/** `tsjabberdctl ARGS...` in process against the server's control socket. */
function run(...argv: string[]): Promise<CtlRun> {
  return runCtl(socket, argv);
}

describe('ejabberd_commands: the registry', () => {
  it('register creates an account a client logs in with; a second register fails', async () => {
    const u = fresh();
    expect(await commands.execute('register', { user: u, host: 'localhost', password: 'pw1' })).toBe(
      `User ${u}@localhost successfully registered`,
    );
    expect(await t.canLogin(u, 'pw1')).toBe(true);
    await expect(commands.execute('register', { user: u, host: 'localhost', password: 'x' })).rejects.toThrow(
      /already registered/,
    );
    await expect(
      commands.execute('register', { user: fresh(), host: 'nowhere.example', password: 'x' }),
    ).rejects.toThrow(/Unknown virtual host/);
  });

  it('change_password: the old password fails, the new one works; an unknown user is not created', async () => {
    const u = fresh();
    await commands.execute('register', { user: u, host: 'localhost', password: 'old' });
    expect(await commands.execute('change_password', { user: u, host: 'localhost', newpass: 'new' })).toBe(
      true,
    );
    expect(await t.canLogin(u, 'old')).toBe(false);
    expect(await t.canLogin(u, 'new')).toBe(true);
    const ghost = fresh();
    await expect(
      commands.execute('change_password', { user: ghost, host: 'localhost', newpass: 'x' }),
    ).rejects.toMatchObject({
      message: `User ${ghost}@localhost does not exist`,
      kind: 'not_found',
      reason: 'unknown_user',
    });
    expect(await t.server.auth.user_exists(ghost, 'localhost')).toBe(false);
  });

  it('check_account, check_password, registered_users, registered_vhosts, unregister', async () => {
    const u = fresh();
    await commands.execute('register', { user: u, host: 'localhost', password: 'pw' });
    // A rescode answers true (ejabberd's 0, ok) or false (1).
    expect(await commands.execute('check_account', { user: u, host: 'localhost' })).toBe(true);
    expect(await commands.execute('check_account', { user: fresh(), host: 'localhost' })).toBe(false);
    expect(await commands.execute('check_password', { user: u, host: 'localhost', password: 'pw' })).toBe(
      true,
    );
    expect(await commands.execute('check_password', { user: u, host: 'localhost', password: 'bad' })).toBe(
      false,
    );
    const users = (await commands.execute('registered_users', { host: 'localhost' })) as string[];
    expect(users).toEqual(expect.arrayContaining(['alice', 'bob', u]));
    expect(await commands.execute('registered_vhosts', {})).toEqual(['localhost']);
    expect(await commands.execute('unregister', { user: u, host: 'localhost' })).toBe('');
    expect(await t.server.auth.user_exists(u, 'localhost')).toBe(false);
  });

  it('refuses an unknown command; missing, mistyped and unknown arguments are ArgumentErrors (code 0), changing nothing', async () => {
    await expect(commands.execute('no_such_command', {})).rejects.toThrow(/Unknown command no_such_command/);
    /** The ArgumentError `execute` refuses `args` of `name` with. */
    const argumentError = async (name: string, args: Record<string, unknown>): Promise<ArgumentError> => {
      const e = await commands.execute(name, args).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(ArgumentError);
      expect(e).toMatchObject({ kind: 'invalid', code: 0 });
      return e as ArgumentError;
    };
    const u = fresh();
    expect(await argumentError('register', { user: u, host: 'localhost' })).toMatchObject({
      message: 'Request have missing argument: password',
      argument: 'password',
      problem: 'missing',
    });
    expect(await argumentError('register', { user: u, host: 'localhost', password: 42 })).toMatchObject({
      message: expect.stringMatching(/^Arg 42 is not in format binary$/),
      problem: 'type',
    });
    expect(
      await argumentError('register', { user: u, host: 'localhost', password: 'pw', x: 1 }),
    ).toMatchObject({ message: 'Request have unknown arguments: [x]', argument: 'x', problem: 'unknown' });
    expect(await t.server.auth.user_exists(u, 'localhost')).toBe(false);
    // alice has a last activity since her registration; a refused set_last leaves it as it was.
    const before = await t.server.storage.last.get('alice', 'localhost');
    expect(before).toMatchObject({ status: "Registered but didn't login" });
    expect(
      await argumentError('set_last', { user: 'alice', host: 'localhost', timestamp: 'soon', status: '' }),
    ).toMatchObject({
      message: 'Arg "soon" is not in format integer',
      argument: 'timestamp',
      problem: 'type',
    });
    expect(await t.server.storage.last.get('alice', 'localhost')).toEqual(before);
  });

  it('logs data changes without the password', async () => {
    const u = fresh();
    await commands.execute('register', { user: u, host: 'localhost', password: 'topsecret' });
    const text = t.log.lines.join('\n');
    expect(text).toContain(`command register: user="${u}" host="localhost" password=*****`);
    expect(text).not.toContain('topsecret');
  });

  it('send_message reaches a logged-in client (chat and headline)', async () => {
    const c = await t.login('alice', 'wonderland', 'msg');
    const mark = c.elements.length;
    await commands.execute('send_message', {
      type: 'chat',
      from: 'admin@localhost',
      to: 'alice@localhost/msg',
      subject: '',
      body: 'hello',
    });
    const chat = await c.next('message', mark);
    expect(get_attr_s('type', chat[2])).toBe('chat');
    expect(get_attr_s('from', chat[2])).toBe('admin@localhost');
    expect(get_tag_cdata(get_subtag(chat, 'body') as XmlElement)).toBe('hello');
    const mark2 = c.elements.length;
    await commands.execute('send_message', {
      type: 'headline',
      from: 'localhost',
      to: 'alice@localhost/msg',
      subject: 'News',
      body: 'read this',
    });
    const headline = await c.next('message', mark2);
    expect(get_attr_s('type', headline[2])).toBe('headline');
    expect(get_tag_cdata(get_subtag(headline, 'subject') as XmlElement)).toBe('News');
    await expect(
      commands.execute('send_message', {
        type: 'bogus',
        from: 'a@localhost',
        to: 'b@localhost',
        subject: '',
        body: '',
      }),
    ).rejects.toThrow(/type must be/);
  });

  it('connected_users, stats onlineusers, user_sessions_info, get_resources, kick_session (again: still true)', async () => {
    const u = fresh();
    await commands.execute('register', { user: u, host: 'localhost', password: 'pw' });
    const c = await t.login(u, 'pw', 'kickme');
    // Counted against the session table itself: a client of an earlier test may still be leaving.
    const connected = (await commands.execute('connected_users', {})) as string[];
    expect(connected).toContain(`${u}@localhost/kickme`);
    expect(await commands.execute('stats', { name: 'onlineusers' })).toBe(connected.length);
    expect(await commands.execute('stats_host', { name: 'registeredusers', host: 'localhost' })).toBe(
      await t.server.auth.count_users('localhost'),
    );
    expect(await commands.execute('connected_users_number', {})).toBe(connected.length);
    expect(await commands.execute('get_resources', { user: u, host: 'localhost' })).toEqual(['kickme']);
    const info = (await commands.execute('user_sessions_info', { user: u, host: 'localhost' })) as {
      resource: string;
    }[];
    expect(info.map((i) => i.resource)).toEqual(['kickme']);
    expect(
      await commands.execute('kick_session', {
        user: u,
        host: 'localhost',
        resource: 'kickme',
        reason: 'bye',
      }),
    ).toBe(true);
    expect(await c.streamError()).toBe('policy-violation');
    await c.until(() => c.closed, 'the stream to close');
    // Kicking a session that is no longer there succeeds (as ejabberd answers 0) and is logged.
    expect(
      await commands.execute('kick_session', {
        user: u,
        host: 'localhost',
        resource: 'kickme',
        reason: 'again',
      }),
    ).toBe(true);
    expect(
      t.log.lines.some((l) => l.includes(`kick_session: no session ${u}@localhost/kickme to kick`)),
    ).toBe(true);
    expect(await commands.execute('get_resources', { user: u, host: 'localhost' })).toEqual([]);
    await expect(commands.execute('stats', { name: 'nonsense' })).rejects.toThrow(/Unknown statistic/);
  });

  it('kick_session delivers what was routed to the client before the kick, then closes the stream', async () => {
    const u = fresh();
    await commands.execute('register', { user: u, host: 'localhost', password: 'pw' });
    const c = await t.login(u, 'pw', 'slow');
    // An asynchronous privacy check holds the client's outbox, as a storage-backed one would.
    const hooks = t.server.node.ejabberd_hooks;
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow = async (acc: unknown) => {
      await held;
      return acc;
    };
    hooks.add('privacy_check_packet', 'localhost', slow, 10);
    try {
      const mark = c.elements.length;
      await commands.execute('send_message', {
        type: 'chat',
        from: 'localhost',
        to: `${u}@localhost/slow`,
        subject: '',
        body: 'before the kick',
      });
      await commands.execute('kick_session', { user: u, host: 'localhost', resource: 'slow', reason: 'bye' });
      // The session left the table at once: nothing new is routed to the closing stream.
      expect(await commands.execute('get_resources', { user: u, host: 'localhost' })).toEqual([]);
      release();
      expect(await c.streamError()).toBe('policy-violation');
      const after = c.elements.slice(mark).map((e) => e[1]);
      expect(after.indexOf('message')).toBeGreaterThanOrEqual(0);
      expect(after.indexOf('message')).toBeLessThan(after.indexOf('stream:error'));
      await c.until(() => c.closed, 'the stream to close');
    } finally {
      hooks.delete('privacy_check_packet', 'localhost', slow, 10);
    }
  });

  it('add_rosteritem / delete_rosteritem are reflected in get_roster and a client roster get', async () => {
    const u = fresh();
    await commands.execute('register', { user: u, host: 'localhost', password: 'pw' });
    expect(
      await commands.execute('add_rosteritem', {
        localuser: u,
        localhost: 'localhost',
        user: 'friend',
        host: 'example.com',
        nick: 'Friend',
        group: 'Work;Play',
        subs: 'both',
      }),
    ).toBe(true);
    expect(await commands.execute('get_roster', { user: u, host: 'localhost' })).toEqual([
      { jid: 'friend@example.com', nick: 'Friend', subscription: 'both', ask: 'none', group: 'Work;Play' },
    ]);
    const c = await t.login(u, 'pw', 'r');
    const result = await c.iq("type='get'", "<query xmlns='jabber:iq:roster'/>");
    const item = (get_subtag(result, 'query') as XmlElement)[3][0] as XmlElement;
    expect(get_attr_s('jid', item[2])).toBe('friend@example.com');
    expect(get_attr_s('subscription', item[2])).toBe('both');
    expect(
      await commands.execute('delete_rosteritem', {
        localuser: u,
        localhost: 'localhost',
        user: 'friend',
        host: 'example.com',
      }),
    ).toBe(true);
    expect(await commands.execute('get_roster', { user: u, host: 'localhost' })).toEqual([]);
    await expect(
      commands.execute('add_rosteritem', {
        localuser: u,
        localhost: 'localhost',
        user: 'x',
        host: 'example.com',
        nick: '',
        group: '',
        subs: 'maybe',
      }),
    ).rejects.toThrow(/subs must be/);
    expect(await commands.execute('get_roster', { user: u, host: 'localhost' })).toEqual([]);
  });

  it('get_presence tells the best resource and its show/status; ban_account kicks and locks out', async () => {
    const u = fresh();
    await commands.execute('register', { user: u, host: 'localhost', password: 'pw' });
    expect(await commands.execute('get_presence', { user: u, host: 'localhost' })).toEqual({
      jid: `${u}@localhost`,
      show: 'unavailable',
      status: '',
    });
    const c = await t.login(u, 'pw', 'home');
    const mark = c.elements.length;
    c.write('<presence><show>away</show><status>lunch</status><priority>5</priority></presence>');
    await c.next('presence', mark);
    expect(await commands.execute('get_presence', { user: u, host: 'localhost' })).toEqual({
      jid: `${u}@localhost/home`,
      show: 'away',
      status: 'lunch',
    });
    expect(await commands.execute('ban_account', { user: u, host: 'localhost', reason: 'spam' })).toBe(true);
    expect(await c.streamError()).toBe('not-authorized');
    expect(await t.canLogin(u, 'pw')).toBe(false);
    expect(await t.server.auth.user_exists(u, 'localhost')).toBe(true);
  });

  it('get_last / set_last: registration is "Registered but didn\'t login"; an unknown account is NOT FOUND now', async () => {
    const u = fresh();
    const registeredAt = Math.floor(Date.now() / 1000);
    await commands.execute('register', { user: u, host: 'localhost', password: 'pw' });
    const registered = (await commands.execute('get_last', { user: u, host: 'localhost' })) as {
      timestamp: string;
      status: string;
    };
    expect(registered.status).toBe("Registered but didn't login");
    expect(registered.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(Date.parse(registered.timestamp) / 1000).toBeGreaterThanOrEqual(registeredAt);
    expect(Date.parse(registered.timestamp) / 1000).toBeLessThanOrEqual(Date.now() / 1000);
    expect(
      await commands.execute('set_last', {
        user: u,
        host: 'localhost',
        timestamp: 1_700_000_000,
        status: 'away',
      }),
    ).toBe(true);
    expect(await commands.execute('get_last', { user: u, host: 'localhost' })).toEqual({
      timestamp: '2023-11-14T22:13:20Z',
      status: 'away',
    });
    // As ejabberd 23.01: an account that does not exist is NOT FOUND at the current time, in microseconds.
    const before = Date.now();
    const ghost = (await commands.execute('get_last', { user: 'nobody-here', host: 'localhost' })) as {
      timestamp: string;
      status: string;
    };
    expect(ghost.status).toBe('NOT FOUND');
    expect(ghost.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(ghost.timestamp).toHaveLength(27);
    expect(Date.parse(ghost.timestamp)).toBeGreaterThanOrEqual(before - 1);
    expect(Date.parse(ghost.timestamp)).toBeLessThanOrEqual(Date.now());
    expect(await t.server.auth.user_exists('nobody-here', 'localhost')).toBe(false);
    expect(await t.server.storage.last.get('nobody-here', 'localhost')).toBeUndefined();
    // An unknown host is still an error.
    await expect(commands.execute('get_last', { user: u, host: 'nowhere.example' })).rejects.toThrow(
      /Unknown virtual host/,
    );
  });
});

describe('the control socket and tsjabberdctl', () => {
  it('answers {command, args} and keeps the old register command', async () => {
    const u = fresh();
    expect(
      await call(socket, { command: 'register', args: { user: u, host: 'localhost', password: 'p' } }),
    ).toEqual({ ok: true, result: `User ${u}@localhost successfully registered`, type: 'restuple' });
    expect(await call(socket, { command: 'nope', args: {} })).toMatchObject({
      ok: false,
      error: /Unknown command/,
    });
    expect(await call(socket, { cmd: 'register', user: fresh(), host: 'localhost', password: 'p' })).toEqual({
      ok: true,
      result: 'ok',
    });
  });

  it('prints as ejabberdctl: rescode nothing (false: Error: false), lists one per line, errors exit 1', async () => {
    const u = fresh();
    expect(await run('register', u, 'localhost', 'pw')).toEqual({
      code: 0,
      stdout: `User ${u}@localhost successfully registered\n`,
      stderr: '',
    });
    expect(await run('check_account', u, 'localhost')).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(await run('check_account', fresh(), 'localhost')).toEqual({
      code: 1,
      stdout: 'Error: false\n',
      stderr: '',
    });
    expect(await run('change_password', u, 'localhost', 'new')).toMatchObject({ code: 0, stdout: '' });
    expect(await t.canLogin(u, 'new')).toBe(true);
    const listed = await run('registered_users', 'localhost');
    expect(listed.code).toBe(0);
    expect(listed.stdout.split('\n')).toEqual(expect.arrayContaining(['alice', 'bob', u]));
    expect(await run('stats', 'registeredusers')).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^\d+\n$/),
    });
    expect(await run('frobnicate')).toMatchObject({ code: 1, stderr: 'Unknown command frobnicate\n' });
    const short = await run('register', u, 'localhost');
    expect(short.code).toBe(1);
    expect(short.stderr).toContain('register user host password');
    const help = await run('help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('kick_session user host resource reason');
    const one = await run('help', 'send_message');
    expect(one.stdout).toContain('from::binary');
    expect(one.stdout).toContain('Send a message');
  });

  it('sends a message and kicks a session through ctl', async () => {
    const c = await t.login('bob', 'builder', 'ctl');
    const mark = c.elements.length;
    expect(
      (await run('send_message', 'normal', 'admin@localhost', 'bob@localhost/ctl', 'Hi', 'there')).code,
    ).toBe(0);
    const m = await c.next('message', mark);
    expect(get_tag_cdata(get_subtag(m, 'body') as XmlElement)).toBe('there');
    expect((await run('connected_users')).stdout).toContain('bob@localhost/ctl\n');
    expect((await run('kick_session', 'bob', 'localhost', 'ctl', 'bye')).code).toBe(0);
    expect(await c.streamError()).toBe('policy-violation');
  });
});
