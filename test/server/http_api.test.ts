import { get_attr_s, get_subtag, get_tag_cdata, type XmlElement } from '@tsjabberd/xml-stanza';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  consoleCommandsPermission,
  defaultApiPermissions,
  httpListenerDefaults,
} from '../../packages/server/src/config/defaults.js';
import { parseConfig } from '../../packages/server/src/config/load.js';
import type { ApiPermission } from '../../packages/server/src/config/types.js';
import { eventually, startTestServer, type TestServer } from './helpers.js';
import { RawClient } from './raw-client.js';

let t: TestServer;
let base: string;
const open: RawClient[] = [];
const ALICE_TOKEN = 'alice-api-token-0123456789abcdef';
const BOB_TOKEN = 'bob-api-token-0123456789abcdef';

beforeAll(async () => {
  t = await startTestServer((config) => {
    config.acl.admin = { user: ['alice@localhost'] };
    config.api_tokens = [
      { token: ALICE_TOKEN, user: { luser: 'alice', lserver: 'localhost' } },
      { token: BOB_TOKEN, user: { luser: 'bob', lserver: 'localhost' } },
    ];
    config.listen.push({
      ...httpListenerDefaults(),
      port: 0,
      ip: '127.0.0.1',
      request_handlers: { '/api': 'mod_http_api' },
      max_body_size: 1000,
    });
  });
  const bound = t.server.listeners.find((l) => l.config.module === 'ejabberd_http');
  base = `http://127.0.0.1:${bound?.port}/api`;
});
afterAll(async () => {
  await t.stop();
});
afterEach(() => {
  for (const c of open.splice(0)) c.close();
});

function basic(jid: string, password: string): string {
  return `Basic ${Buffer.from(`${jid}:${password}`).toString('base64')}`;
}

const ADMIN = basic('alice@localhost', 'wonderland');

async function api(
  command: string,
  body: unknown,
  auth: string | null = ADMIN,
  method = 'POST',
  at = base,
): Promise<{ status: number; json: unknown; headers: Headers; text: string }> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (auth !== null) headers.Authorization = auth;
  const res = await fetch(`${at}/${command}`, {
    method,
    headers,
    body: method === 'GET' ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown = text;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.status, json, headers: res.headers, text };
}

type Answer = Awaited<ReturnType<typeof api>>;

/**
 * An answer whose body is a bare JSON string, ejabberd's form for command and argument errors
 * (`"unknown_user"`, `"Request have unknown arguments: [extra]"`), not a `{"status": "error"}` object.
 */
function expectBare(r: Answer, status: number, message: string | RegExp): void {
  expect(r.status, r.text).toBe(status);
  expect(r.headers.get('content-type')).toBe('application/json');
  expect(r.headers.get('access-control-allow-origin')).toBe('*');
  expect(typeof r.json, r.text).toBe('string');
  expect(r.text).toBe(JSON.stringify(r.json));
  if (typeof message === 'string') expect(r.json).toBe(message);
  else expect(r.json).toMatch(message);
}

/** An answer that is ejabberd's json_error: `{"status":"error","code":N,"message":...}`. */
function expectCoded(r: Answer, status: number, code: number, message: string | RegExp): void {
  expect(r.status, r.text).toBe(status);
  expect(r.headers.get('content-type')).toBe('application/json');
  expect(r.headers.get('access-control-allow-origin')).toBe('*');
  expect(r.json).toEqual({
    status: 'error',
    code,
    message: typeof message === 'string' ? message : expect.stringMatching(message),
  });
}

const FORBIDDEN = 'AccessRules: Account does not have the right to perform the operation.';
const UNAUTHORIZED = 'You are not authorized to call this command.';

describe('mod_http_api', () => {
  it('register, then the new account logs in', async () => {
    const r = await api('register', { user: 'rest1', host: 'localhost', password: 'pw1' });
    expect(r.status).toBe(200);
    expect(r.json).toBe('User rest1@localhost successfully registered');
    const c = await RawClient.connect(t.port);
    open.push(c);
    await c.login('rest1', 'pw1', 'r');
    const again = await api('register', { user: 'rest1', host: 'localhost', password: 'pw1' });
    // ejabberd's conflict: 409 with its error code, which xmpp-backends reads as "user exists".
    expect(again.status).toBe(409);
    expect(again.json).toMatchObject({
      status: 'error',
      code: 10090,
      message: expect.stringContaining('already'),
    });
  });

  it('registered_users answers a JSON list', async () => {
    const r = await api('registered_users', { host: 'localhost' });
    expect(r.status).toBe(200);
    expect(r.json).toEqual(expect.arrayContaining(['alice', 'bob']));
  });

  it('send_message reaches a logged-in client; a rescode answers 0', async () => {
    const c = await RawClient.connect(t.port);
    open.push(c);
    await c.login('bob', 'builder', 'rest');
    const mark = c.elements.length;
    const r = await api('send_message', {
      type: 'chat',
      from: 'admin@localhost',
      to: 'bob@localhost/rest',
      subject: '',
      body: 'via REST',
    });
    expect(r.status).toBe(200);
    expect(r.json).toBe(0);
    const msg = await c.next('message', mark);
    expect(get_tag_cdata(get_subtag(msg, 'body') as XmlElement)).toBe('via REST');
  });

  it('no credentials is 403 code 32; a wrong password or a JID without host is 401 code 10, logged with the peer', async () => {
    const none = await api('registered_users', { host: 'localhost' }, null);
    expectCoded(none, 403, 32, FORBIDDEN);
    expect(none.headers.get('www-authenticate')).toBeNull();
    const wrong = await api('registered_users', { host: 'localhost' }, basic('alice@localhost', 'nope'));
    expectCoded(wrong, 401, 10, UNAUTHORIZED);
    expect(wrong.headers.get('www-authenticate')).toMatch(/^Basic/);
    const nohost = await api('registered_users', { host: 'localhost' }, basic('alice', 'wonderland'));
    expectCoded(nohost, 401, 10, UNAUTHORIZED);
    expect(nohost.headers.get('www-authenticate')).toMatch(/^Basic/);
    expect(t.log.lines.some((l) => l.includes('127.0.0.1'))).toBe(true);
  });

  it('403 code 32 for an account that is not admin', async () => {
    const r = await api('registered_users', { host: 'localhost' }, basic('bob@localhost', 'builder'));
    expectCoded(r, 403, 32, FORBIDDEN);
  });

  it('404 code 40 "Endpoint not found." for an unknown command, logged', async () => {
    const r = await api('no_such_command', {});
    expectCoded(r, 404, 40, 'Endpoint not found.');
    expect(t.log.lines.some((l) => l.includes('called no_such_command, which is no command'))).toBe(true);
  });

  it('400 code 40 "Missing command name." for a POST to the handler path itself, with or without the slash', async () => {
    for (const at of [base, `${base}/`]) {
      const res = await fetch(at, {
        method: 'POST',
        headers: { Authorization: ADMIN, 'Content-Type': 'application/json' },
        body: '{}',
      });
      expect(res.status, at).toBe(400);
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
      expect(await res.json()).toEqual({ status: 'error', code: 40, message: 'Missing command name.' });
    }
  });

  it('400 with a bare JSON string for bad JSON, a non-object body and a missing or mistyped argument (no account created)', async () => {
    expectBare(await api('registered_users', '{not json'), 400, 'Invalid JSON input');
    expectBare(await api('registered_users', '[1]'), 400, 'The arguments must be a JSON object');
    expectBare(await api('registered_users', '"localhost"'), 400, 'The arguments must be a JSON object');
    expectBare(
      await api('register', { user: 'rest2', host: 'localhost' }),
      400,
      'Request have missing argument: password',
    );
    expectBare(
      await api('register', { user: 'rest2', host: 'localhost', password: 5 }),
      400,
      /^Arg 5 is not in format binary$/,
    );
    const users = await api('registered_users', { host: 'localhost' });
    expect(users.json).not.toContain('rest2');
    expect(await t.server.auth.user_exists('rest2', 'localhost')).toBe(false);
  });

  it('413 for a body over max_body_size', async () => {
    const r = await api('registered_users', { host: 'localhost', pad: 'x'.repeat(5000) });
    expect(r.status).toBe(413);
  });

  it('GET takes the arguments from the query string; OPTIONS is a CORS preflight; other methods are 405', async () => {
    const get = await api('registered_users?host=localhost', undefined, ADMIN, 'GET');
    expect(get.status).toBe(200);
    expect(get.json).toEqual(expect.arrayContaining(['alice', 'bob']));
    expect(get.headers.get('access-control-allow-origin')).toBe('*');
    // A browser's preflight: no credentials, answered 200 with the CORS headers and no body.
    const options = await fetch(`${base}/register`, {
      method: 'OPTIONS',
      headers: { Origin: 'http://example.com', 'Access-Control-Request-Method': 'POST' },
    });
    expect(options.status).toBe(200);
    expect(options.headers.get('access-control-allow-origin')).toBe('*');
    expect(options.headers.get('access-control-allow-methods')).toBe('GET, POST, OPTIONS');
    expect(options.headers.get('access-control-allow-headers')).toBe('Content-Type, Authorization, X-Admin');
    expect(await options.text()).toBe('');
    for (const method of ['PUT', 'DELETE']) {
      const r = await api('register', { user: 'rest405', host: 'localhost', password: 'pw' }, ADMIN, method);
      expect(r.status, method).toBe(405);
      expect(r.headers.get('allow')).toBe('POST, GET, OPTIONS');
      expect(r.headers.get('access-control-allow-origin')).toBe('*');
    }
    expect(await t.server.auth.user_exists('rest405', 'localhost')).toBe(false);
  });

  it('404 outside the handler paths', async () => {
    const res = await fetch(base.replace('/api', '/other/x'), { method: 'POST', body: '{}' });
    expect(res.status).toBe(404);
  });
});

describe('ejabberd_http config', () => {
  it('parses an ejabberd_http listener with request_handlers', () => {
    const config = parseConfig(
      [
        'listen:',
        '  - port: 5222',
        '    module: ejabberd_c2s',
        '  - port: 5280',
        '    ip: "127.0.0.1"',
        '    module: ejabberd_http',
        '    request_handlers:',
        '      /api: mod_http_api',
      ].join('\n'),
    );
    const http = config.listen[1];
    expect(http.module).toBe('ejabberd_http');
    expect(http.port).toBe(5280);
    expect(http.ip).toBe('127.0.0.1');
    if (http.module === 'ejabberd_http') {
      expect(http.request_handlers).toEqual({ '/api': 'mod_http_api' });
      expect(http.max_body_size).toBe(1024 * 1024);
    }
  });

  it('refuses an unknown handler, an unknown option, and no handlers', () => {
    const listener = (extra: string[]) =>
      ['listen:', '  - port: 5280', '    module: ejabberd_http', ...extra].join('\n');
    expect(() => parseConfig(listener(['    request_handlers:', '      /x: mod_bosh']))).toThrow(
      /only mod_http_api/,
    );
    expect(() =>
      parseConfig(listener(['    starttls: true', '    request_handlers:', '      /api: mod_http_api'])),
    ).toThrow(/starttls/);
    expect(() => parseConfig(listener([]))).toThrow(/missing request_handlers/);
  });
});

// ---------------------------------------------------------------------------------------------
// Every command through REST as xmpp-backends (and other clients) call it, each effect checked over XMPP.

let n = 0;
function fresh(): string {
  return `hx${++n}`;
}

/** A call as the admin that must answer 200; its JSON body. */
async function ok(command: string, body: unknown = {}): Promise<unknown> {
  const r = await api(command, body);
  if (r.status !== 200) throw new Error(`${command}: HTTP ${r.status} ${r.text}`);
  return r.json;
}

async function newUser(password = 'pw'): Promise<string> {
  const u = fresh();
  await ok('register', { user: u, host: 'localhost', password });
  return u;
}

async function online(user: string, password: string, resource = 'r'): Promise<RawClient> {
  const c = await RawClient.connect(t.port);
  open.push(c);
  await c.login(user, password, resource);
  return c;
}

/** Waits until no session is left: every client of the earlier tests is closed by afterEach. */
async function settled(): Promise<void> {
  await eventually(
    async () => ((await ok('connected_users_number')) as { num_sessions: number }).num_sessions === 0,
    'the earlier sessions to end',
  );
}

/** The items of a client's roster get, as jid → subscription. */
async function rosterOf(c: RawClient): Promise<Record<string, string>> {
  const result = await c.iq("type='get'", "<query xmlns='jabber:iq:roster'/>");
  const query = get_subtag(result, 'query') as XmlElement;
  return Object.fromEntries(
    query[3]
      .filter((i): i is XmlElement => i[0] === 'xmlelement')
      .map((i) => [get_attr_s('jid', i[2]), get_attr_s('subscription', i[2])]),
  );
}

/** The next roster push after `mark`: [jid, subscription] of its item. */
async function nextPush(c: RawClient, mark: number): Promise<[string, string]> {
  const push = await c.until(
    () =>
      c.elements
        .slice(mark)
        .find((e) => e[1] === 'iq' && get_attr_s('type', e[2]) === 'set' && get_subtag(e, 'query') !== false),
    'a roster push',
  );
  const item = (get_subtag(push, 'query') as XmlElement)[3].find(
    (i): i is XmlElement => i[0] === 'xmlelement',
  ) as XmlElement;
  return [get_attr_s('jid', item[2]), get_attr_s('subscription', item[2])];
}

function bodyOf(msg: XmlElement): string {
  return get_tag_cdata(get_subtag(msg, 'body') as XmlElement);
}

describe('mod_http_api: the accounts calls of xmpp-backends', () => {
  it('register answers 200 with its text, the account logs in; again 409 and the password is kept', async () => {
    const u = fresh();
    const r = await api('register', { user: u, host: 'localhost', password: 'p:w' });
    expect(r.status).toBe(200);
    expect(r.json).toBe(`User ${u}@localhost successfully registered`);
    expect(await t.canLogin(u, 'p:w')).toBe(true);
    const again = await api('register', { user: u, host: 'localhost', password: 'other' });
    expect(again.status).toBe(409);
    expect(again.json).toMatchObject({ status: 'error', code: 10090 });
    expect(await t.canLogin(u, 'p:w')).toBe(true);
    expect(await t.canLogin(u, 'other')).toBe(false);
  });

  it('check_account and check_password answer a body of exactly 0 or 1', async () => {
    const u = await newUser('secret');
    const exists = await api('check_account', { user: u, host: 'localhost' });
    expect([exists.status, exists.text]).toEqual([200, '0']);
    const missing = await api('check_account', { user: 'nobody-here', host: 'localhost' });
    expect([missing.status, missing.text]).toEqual([200, '1']);
    const right = await api('check_password', { user: u, host: 'localhost', password: 'secret' });
    expect([right.status, right.text]).toEqual([200, '0']);
    const wrong = await api('check_password', { user: u, host: 'localhost', password: 'nope' });
    expect([wrong.status, wrong.text]).toEqual([200, '1']);
    const ghost = await api('check_password', { user: 'nobody-here', host: 'localhost', password: 'x' });
    expect([ghost.status, ghost.text]).toEqual([200, '1']);
  });

  it('change_password answers 0 and the new password logs in; an unknown user is 404 "unknown_user" and not created', async () => {
    const u = await newUser('old');
    const r = await api('change_password', { user: u, host: 'localhost', newpass: 'new' });
    expect([r.status, r.text]).toEqual([200, '0']);
    expect(await t.canLogin(u, 'new')).toBe(true);
    expect(await t.canLogin(u, 'old')).toBe(false);
    const ghost = await api('change_password', { user: 'ghost', host: 'localhost', newpass: 'x' });
    expectBare(ghost, 404, 'unknown_user');
    expect((await api('check_account', { user: 'ghost', host: 'localhost' })).text).toBe('1');
    expect(await t.canLogin('ghost', 'x')).toBe(false);
  });

  it('unregister answers "" and closes the account\'s stream; it no longer logs in', async () => {
    const u = await newUser();
    const c = await online(u, 'pw');
    const r = await api('unregister', { user: u, host: 'localhost' });
    expect([r.status, r.text]).toEqual([200, '""']);
    await c.until(() => c.closed, 'the stream to close');
    expect(await t.canLogin(u, 'pw')).toBe(false);
    expect((await api('check_account', { user: u, host: 'localhost' })).text).toBe('1');
    expect(await ok('registered_users', { host: 'localhost' })).not.toContain(u);
  });

  it('registered_users lists the usernames, registered_vhosts the hosts', async () => {
    const u = await newUser();
    const users = await ok('registered_users', { host: 'localhost' });
    expect(users).toEqual(expect.arrayContaining(['alice', 'bob', u]));
    expect((users as unknown[]).every((x) => typeof x === 'string')).toBe(true);
    expect(await ok('registered_vhosts')).toEqual(['localhost']);
  });

  it('stats and stats_host answer {"stat": N}; status answers a string', async () => {
    const registered = await t.server.auth.count_users('localhost');
    expect(await ok('stats', { name: 'registeredusers' })).toEqual({ stat: registered });
    expect(await ok('stats_host', { name: 'registeredusers', host: 'localhost' })).toEqual({
      stat: registered,
    });
    await newUser();
    expect(await ok('stats', { name: 'registeredusers' })).toEqual({ stat: registered + 1 });
    // The sessions of the earlier tests' clients are gone once their closes are handled.
    await settled();
    const before = (await ok('stats', { name: 'onlineusers' })) as { stat: number };
    expect(before).toEqual({ stat: 0 });
    await online('bob', 'builder', 'stats');
    expect(await ok('stats', { name: 'onlineusers' })).toEqual({ stat: before.stat + 1 });
    expect(await ok('stats_host', { name: 'onlineusers', host: 'localhost' })).toEqual({
      stat: before.stat + 1,
    });
    expect(await ok('stats', { name: 'uptimeseconds' })).toEqual({ stat: expect.any(Number) });
    const status = await ok('status');
    expect(typeof status).toBe('string');
    expect(status).toMatch(/is started/);
  });

  it('get_last {"timestamp", "status"}: the registration, a set_last, ONLINE; an unknown account is NOT FOUND, an unknown host 400', async () => {
    const registeredAt = Math.floor(Date.now() / 1000);
    const u = await newUser();
    // mod_last records the registration.
    const registered = (await ok('get_last', { user: u, host: 'localhost' })) as {
      timestamp: string;
      status: string;
    };
    expect(registered.status).toBe("Registered but didn't login");
    expect(registered.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(Date.parse(registered.timestamp) / 1000).toBeGreaterThanOrEqual(registeredAt);
    expect(Date.parse(registered.timestamp)).toBeLessThanOrEqual(Date.now());
    const set = await api('set_last', {
      user: u,
      host: 'localhost',
      timestamp: 1_700_000_000,
      status: 'Away',
    });
    expect([set.status, set.text]).toEqual([200, '0']);
    expect(await ok('get_last', { user: u, host: 'localhost' })).toEqual({
      timestamp: '2023-11-14T22:13:20Z',
      status: 'Away',
    });
    // The timestamp as a string of digits, as a GET's query would carry it.
    await ok('set_last', { user: u, host: 'localhost', timestamp: '1600000000', status: 'Later' });
    expect(await ok('get_last', { user: u, host: 'localhost' })).toEqual({
      timestamp: '2020-09-13T12:26:40Z',
      status: 'Later',
    });
    await online(u, 'pw');
    const now = (await ok('get_last', { user: u, host: 'localhost' })) as {
      timestamp: string;
      status: string;
    };
    expect(now.status).toBe('ONLINE');
    // ONLINE and NOT FOUND carry the current time with microseconds, as ejabberd prints them.
    expect(now.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    const before = Date.now();
    const ghost = await api('get_last', { user: 'ghost', host: 'localhost' });
    expect(ghost.status).toBe(200);
    const notFound = ghost.json as { timestamp: string; status: string };
    expect(Object.keys(notFound).sort()).toEqual(['status', 'timestamp']);
    expect(notFound.status).toBe('NOT FOUND');
    expect(notFound.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(notFound.timestamp).toHaveLength(27);
    expect(Date.parse(notFound.timestamp)).toBeGreaterThanOrEqual(before - 1);
    expect(Date.parse(notFound.timestamp)).toBeLessThanOrEqual(Date.now());
    const setGhost = await api('set_last', { user: 'ghost', host: 'localhost', timestamp: 1, status: 'x' });
    expectBare(setGhost, 404, 'unknown_user');
    expect((await api('check_account', { user: 'ghost', host: 'localhost' })).text).toBe('1');
    expect(await t.server.storage.last.get('ghost', 'localhost')).toBeUndefined();
    expectBare(
      await api('get_last', { user: u, host: 'nohost.example' }),
      400,
      'Unknown virtual host: nohost.example',
    );
  });

  it('ban_account answers 0, closes the sessions and locks the account out', async () => {
    const u = await newUser();
    const c1 = await online(u, 'pw', 'one');
    const c2 = await online(u, 'pw', 'two');
    const r = await api('ban_account', { user: u, host: 'localhost', reason: 'Spam' });
    expect([r.status, r.text]).toEqual([200, '0']);
    await c1.until(() => c1.closed, 'the first stream to close');
    await c2.until(() => c2.closed, 'the second stream to close');
    expect(await t.canLogin(u, 'pw')).toBe(false);
    expect((await api('check_password', { user: u, host: 'localhost', password: 'pw' })).text).toBe('1');
    expectBare(
      await api('ban_account', { user: 'ghost', host: 'localhost', reason: '' }),
      404,
      'unknown_user',
    );
    expect((await api('check_account', { user: 'ghost', host: 'localhost' })).text).toBe('1');
  });
});

describe('mod_http_api: sessions and messages', () => {
  it('user_sessions_info and connected_users_info in the shapes xmpp-backends reads', async () => {
    const u = await newUser();
    const c = await online(u, 'pw', 'desk');
    c.write('<presence><show>away</show><status>lunch</status><priority>5</priority></presence>');
    type Session = Record<string, unknown>;
    const mine = async () => (await ok('user_sessions_info', { user: u, host: 'localhost' })) as Session[];
    await eventually(async () => (await mine())[0]?.status === 'away', 'the presence to be recorded');
    const sessions = await mine();
    expect(sessions).toHaveLength(1);
    expect(Object.keys(sessions[0]).sort()).toEqual(
      ['connection', 'ip', 'node', 'port', 'priority', 'resource', 'status', 'statustext', 'uptime'].sort(),
    );
    expect(sessions[0]).toMatchObject({
      connection: 'c2s_tls',
      ip: '127.0.0.1',
      port: expect.any(Number),
      priority: 5,
      node: expect.any(String),
      uptime: expect.any(Number),
      status: 'away',
      resource: 'desk',
      statustext: 'lunch',
    });
    expect(sessions[0].port).toBeGreaterThan(0);
    const all = (await ok('connected_users_info')) as Session[];
    const entry = all.find((s) => s.jid === `${u}@localhost/desk`);
    expect(entry).toBeDefined();
    expect(Object.keys(entry as Session).sort()).toEqual(
      [
        'connection',
        'ip',
        'jid',
        'node',
        'port',
        'priority',
        'resource',
        'status',
        'statustext',
        'uptime',
      ].sort(),
    );
    expect(entry).toMatchObject({ resource: 'desk', status: 'away', statustext: 'lunch', priority: 5 });
    expect(await ok('user_sessions_info', { user: 'ghost', host: 'localhost' })).toEqual([]);
  });

  it('connected_users, connected_users_number and get_resources follow logins and logouts', async () => {
    const u = await newUser();
    await settled();
    const before = (await ok('connected_users_number')) as { num_sessions: number };
    expect(before).toEqual({ num_sessions: 0 });
    const a = await online(u, 'pw', 'a');
    await online(u, 'pw', 'b');
    expect(await ok('connected_users_number')).toEqual({ num_sessions: before.num_sessions + 2 });
    expect(await ok('connected_users')).toEqual(
      expect.arrayContaining([`${u}@localhost/a`, `${u}@localhost/b`]),
    );
    expect(((await ok('get_resources', { user: u, host: 'localhost' })) as string[]).sort()).toEqual([
      'a',
      'b',
    ]);
    a.close();
    await eventually(
      async () => ((await ok('get_resources', { user: u, host: 'localhost' })) as string[]).length === 1,
      'the closed session to go',
    );
    expect(await ok('get_resources', { user: u, host: 'localhost' })).toEqual(['b']);
    expect(await ok('connected_users')).not.toContain(`${u}@localhost/a`);
    expect(await ok('get_resources', { user: 'ghost', host: 'localhost' })).toEqual([]);
  });

  it('get_presence answers {jid, show, status} of the best resource', async () => {
    const u = await newUser();
    expect(await ok('get_presence', { user: u, host: 'localhost' })).toEqual({
      jid: `${u}@localhost`,
      show: 'unavailable',
      status: '',
    });
    const c = await online(u, 'pw', 'phone');
    c.write('<presence><show>dnd</show><status>busy</status><priority>1</priority></presence>');
    await eventually(
      async () =>
        ((await ok('get_presence', { user: u, host: 'localhost' })) as { show: string }).show === 'dnd',
      'the presence',
    );
    expect(await ok('get_presence', { user: u, host: 'localhost' })).toEqual({
      jid: `${u}@localhost/phone`,
      show: 'dnd',
      status: 'busy',
    });
  });

  it('kick_session answers 0 and closes that stream only; kicking a session that is not there answers 0 too, logged', async () => {
    const u = await newUser();
    const kicked = await online(u, 'pw', 'kickme');
    const kept = await online(u, 'pw', 'keepme');
    const r = await api('kick_session', { user: u, host: 'localhost', resource: 'kickme', reason: 'bye' });
    expect([r.status, r.text]).toEqual([200, '0']);
    await kicked.until(() => kicked.closed, 'the stream to close');
    expect(kept.closed).toBe(false);
    expect(await ok('get_resources', { user: u, host: 'localhost' })).toEqual(['keepme']);
    const again = await api('kick_session', { user: u, host: 'localhost', resource: 'kickme', reason: 'x' });
    expect([again.status, again.text]).toEqual([200, '0']);
    expect(
      t.log.lines.some((l) => l.includes(`kick_session: no session ${u}@localhost/kickme to kick`)),
    ).toBe(true);
    // The other session is not touched by it.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(kept.closed).toBe(false);
    expect(await ok('get_resources', { user: u, host: 'localhost' })).toEqual(['keepme']);
    // The account itself is untouched.
    expect(await t.canLogin(u, 'pw')).toBe(true);
  });

  it('send_message of type normal, chat and headline reaches the client with its subject', async () => {
    const u = await newUser();
    const c = await online(u, 'pw', 'inbox');
    for (const type of ['normal', 'chat', 'headline']) {
      const mark = c.elements.length;
      const r = await api('send_message', {
        type,
        from: 'alice@localhost',
        to: `${u}@localhost/inbox`,
        subject: `S ${type}`,
        body: `a ${type} message`,
      });
      expect([r.status, r.text]).toEqual([200, '0']);
      const msg = await c.next('message', mark);
      expect(get_attr_s('type', msg[2])).toBe(type);
      expect(get_attr_s('from', msg[2])).toBe('alice@localhost');
      expect(bodyOf(msg)).toBe(`a ${type} message`);
      expect(get_tag_cdata(get_subtag(msg, 'subject') as XmlElement)).toBe(`S ${type}`);
    }
  });

  it('send_message to a bare JID reaches the online resource', async () => {
    const u = await newUser();
    const c = await online(u, 'pw', 'only');
    c.write('<presence/>');
    await eventually(
      async () =>
        ((await ok('get_presence', { user: u, host: 'localhost' })) as { show: string }).show === 'available',
      'the presence',
    );
    const mark = c.elements.length;
    await ok('send_message', {
      type: 'chat',
      from: 'localhost',
      to: `${u}@localhost`,
      subject: '',
      body: 'to the bare JID',
    });
    expect(bodyOf(await c.next('message', mark))).toBe('to the bare JID');
  });

  it("get_last after a logout tells when and the unavailable presence's status", async () => {
    const u = await newUser();
    const c = await online(u, 'pw', 'x');
    c.write('<presence/>');
    const before = Math.floor(Date.now() / 1000) - 1;
    c.write('<presence type="unavailable"><status>bye now</status></presence></stream:stream>');
    await c.until(() => c.closed, 'the stream to close');
    await eventually(
      async () =>
        ((await ok('get_last', { user: u, host: 'localhost' })) as { status: string }).status !== 'ONLINE',
      'the logout to be recorded',
    );
    const last = (await ok('get_last', { user: u, host: 'localhost' })) as {
      timestamp: string;
      status: string;
    };
    expect(last.status).toBe('bye now');
    expect(last.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(Date.parse(last.timestamp) / 1000).toBeGreaterThanOrEqual(before);
  });

  it('names are prepared: a mixed-case register, kick_session and change_password act on the account', async () => {
    const u = fresh();
    await ok('register', { user: u.toUpperCase(), host: 'LocalHost', password: 'pw' });
    expect(await ok('registered_users', { host: 'localhost' })).toContain(u);
    const c = await online(u, 'pw', 'Res');
    await ok('kick_session', { user: u.toUpperCase(), host: 'LOCALHOST', resource: 'Res', reason: '' });
    await c.until(() => c.closed, 'the stream to close');
    await ok('change_password', { user: u.toUpperCase(), host: 'localhost', newpass: 'np' });
    expect(await t.canLogin(u, 'np')).toBe(true);
  });

  it('send_stanza delivers the stanza to the client; invalid XML is 400 and nothing is sent', async () => {
    const u = await newUser();
    const c = await online(u, 'pw', 'raw');
    const mark = c.elements.length;
    const bad = await api('send_stanza', { from: 'localhost', to: `${u}@localhost/raw`, stanza: '<message' });
    expect(bad.status).toBe(400);
    const r = await api('send_stanza', {
      from: 'bob@localhost/x',
      to: `${u}@localhost/raw`,
      stanza: "<message type='chat' from='spoofed@evil'><body>raw stanza</body></message>",
    });
    expect([r.status, r.text]).toEqual([200, '0']);
    const msg = await c.next('message', mark);
    expect(bodyOf(msg)).toBe('raw stanza');
    expect(get_attr_s('from', msg[2])).toBe('bob@localhost/x');
    expect(c.elements.slice(mark).filter((e) => e[1] === 'message')).toHaveLength(1);
  });

  it('announce reaches every online client of the host', async () => {
    const u = await newUser();
    const clients = [
      await online(u, 'pw', 'one'),
      await online(u, 'pw', 'two'),
      await online('bob', 'builder', 'announce'),
    ];
    const marks = clients.map((c) => c.elements.length);
    const r = await api('announce', { host: 'localhost', subject: 'Notice', body: 'Maintenance at noon' });
    expect([r.status, r.text]).toEqual([200, '0']);
    for (const [i, c] of clients.entries()) {
      const msg = await c.next('message', marks[i]);
      expect(bodyOf(msg)).toBe('Maintenance at noon');
      expect(get_tag_cdata(get_subtag(msg, 'subject') as XmlElement)).toBe('Notice');
      expect(get_attr_s('from', msg[2])).toBe('localhost');
    }
    const unknown = await api('announce', { host: 'nohost.example', subject: '', body: 'x' });
    expect(unknown.status).toBe(400);
  });
});

describe('mod_http_api: rosters', () => {
  it('add_rosteritem / delete_rosteritem: get_roster, the roster push and a client roster get reflect them; deleting an absent item answers 0', async () => {
    const u = await newUser();
    const c = await online(u, 'pw');
    expect(await rosterOf(c)).toEqual({});
    let mark = c.elements.length;
    const add = await api('add_rosteritem', {
      localuser: u,
      localhost: 'localhost',
      user: 'friend',
      host: 'example.com',
      nick: 'Friend',
      group: 'Work;Play',
      subs: 'both',
    });
    expect([add.status, add.text]).toEqual([200, '0']);
    expect(await nextPush(c, mark)).toEqual(['friend@example.com', 'both']);
    expect(await ok('get_roster', { user: u, host: 'localhost' })).toEqual([
      { jid: 'friend@example.com', nick: 'Friend', subscription: 'both', ask: 'none', group: 'Work;Play' },
    ]);
    expect(await rosterOf(c)).toEqual({ 'friend@example.com': 'both' });
    mark = c.elements.length;
    const del = await api('delete_rosteritem', {
      localuser: u,
      localhost: 'localhost',
      user: 'friend',
      host: 'example.com',
    });
    expect([del.status, del.text]).toEqual([200, '0']);
    expect(await nextPush(c, mark)).toEqual(['friend@example.com', 'remove']);
    expect(await ok('get_roster', { user: u, host: 'localhost' })).toEqual([]);
    expect(await rosterOf(c)).toEqual({});
    const again = await api('delete_rosteritem', {
      localuser: u,
      localhost: 'localhost',
      user: 'friend',
      host: 'example.com',
    });
    expect([again.status, again.text]).toEqual([200, '0']);
    expect(await ok('get_roster', { user: u, host: 'localhost' })).toEqual([]);
    // Nothing to push: once a ping after it is answered, a push would have come before it.
    const pong = await c.iq("type='get' to='localhost'", "<ping xmlns='urn:xmpp:ping'/>");
    expect(get_attr_s('type', pong[2])).toBe('result');
    expect(
      c.elements.slice(mark).filter((e) => e[1] === 'iq' && get_attr_s('type', e[2]) === 'set'),
    ).toHaveLength(1);
    // An account that does not exist is still refused.
    const noOwner = await api('delete_rosteritem', {
      localuser: 'ghost',
      localhost: 'localhost',
      user: 'friend',
      host: 'example.com',
    });
    expectBare(noOwner, 404, 'unknown_user');
    expectBare(await api('get_roster', { user: 'ghost', host: 'localhost' }), 404, 'unknown_user');
    expect(await t.server.auth.user_exists('ghost', 'localhost')).toBe(false);
  });

  it('link_contacts / unlink_contacts change both rosters, pushed to both clients', async () => {
    const u = await newUser();
    const v = await newUser();
    const cu = await online(u, 'pw');
    const cv = await online(v, 'pw');
    await rosterOf(cu);
    await rosterOf(cv);
    let mu = cu.elements.length;
    let mv = cv.elements.length;
    const link = await api('link_contacts', {
      jid1: `${u}@localhost`,
      nick1: 'U',
      jid2: `${v}@localhost`,
      nick2: 'V',
    });
    expect([link.status, link.text]).toEqual([200, '0']);
    expect(await nextPush(cu, mu)).toEqual([`${v}@localhost`, 'both']);
    expect(await nextPush(cv, mv)).toEqual([`${u}@localhost`, 'both']);
    expect(await rosterOf(cu)).toEqual({ [`${v}@localhost`]: 'both' });
    expect(await ok('get_roster', { user: v, host: 'localhost' })).toEqual([
      { jid: `${u}@localhost`, nick: 'U', subscription: 'both', ask: 'none', group: '' },
    ]);
    mu = cu.elements.length;
    mv = cv.elements.length;
    const unlink = await api('unlink_contacts', { jid1: `${u}@localhost`, jid2: `${v}@localhost` });
    expect([unlink.status, unlink.text]).toEqual([200, '0']);
    expect(await nextPush(cu, mu)).toEqual([`${v}@localhost`, 'remove']);
    expect(await nextPush(cv, mv)).toEqual([`${u}@localhost`, 'remove']);
    expect(await rosterOf(cv)).toEqual({});
    expect(await ok('get_roster', { user: u, host: 'localhost' })).toEqual([]);
    const ghost = await api('link_contacts', {
      jid1: `${u}@localhost`,
      nick1: '',
      jid2: 'ghost@localhost',
      nick2: '',
    });
    expectBare(ghost, 404, 'unknown_user');
    expect(await ok('get_roster', { user: u, host: 'localhost' })).toEqual([]);
  });

  it("get_roster_with_presence tells each contact's best resource and presence", async () => {
    const u = await newUser();
    const v = await newUser();
    await ok('link_contacts', { jid1: `${u}@localhost`, nick1: 'U', jid2: `${v}@localhost`, nick2: 'V' });
    const row = async () =>
      (
        (await ok('get_roster_with_presence', { user: u, host: 'localhost' })) as Record<string, unknown>[]
      )[0];
    expect(await row()).toEqual({
      jid: `${v}@localhost`,
      resource: '',
      group: '',
      nick: 'V',
      subscription: 'both',
      pending: 'none',
      show: 'unavailable',
      status: '',
    });
    const cv = await online(v, 'pw', 'laptop');
    cv.write('<presence><show>xa</show><status>gone</status><priority>3</priority></presence>');
    await eventually(async () => (await row()).show === 'xa', "the contact's presence");
    expect(await row()).toMatchObject({
      jid: `${v}@localhost`,
      resource: 'laptop',
      show: 'xa',
      status: 'gone',
    });
  });
});

describe('mod_http_api: who may call', () => {
  it('stop is refused over HTTP even to the admin ("admin access" excludes !stop); the server keeps serving', async () => {
    const asked: string[] = [];
    const previous = t.server.stopRequested;
    t.server.stopRequested = (reason) => asked.push(reason);
    try {
      expectCoded(await api('stop', {}), 403, 32, FORBIDDEN);
      await new Promise((r) => setTimeout(r, 150));
      expect(asked).toEqual([]);
      expect(await t.canLogin('alice', 'wonderland')).toBe(true);
    } finally {
      t.server.stopRequested = previous;
    }
  });

  it('a non-admin account or no credentials is 403 code 32 and changes nothing; a wrong password or a malformed header is 401', async () => {
    const u = fresh();
    const bob = basic('bob@localhost', 'builder');
    const r = await api('register', { user: u, host: 'localhost', password: 'pw' }, bob);
    expectCoded(r, 403, 32, FORBIDDEN);
    expectCoded(
      await api('change_password', { user: 'alice', host: 'localhost', newpass: 'x' }, bob),
      403,
      32,
      FORBIDDEN,
    );
    const anon = await api('register', { user: u, host: 'localhost', password: 'pw' }, null);
    expectCoded(anon, 403, 32, FORBIDDEN);
    expect(anon.headers.get('www-authenticate')).toBeNull();
    const wrong = await api(
      'register',
      { user: u, host: 'localhost', password: 'pw' },
      basic('alice@localhost', 'wrong'),
    );
    expectCoded(wrong, 401, 10, UNAUTHORIZED);
    expect(wrong.headers.get('www-authenticate')).toMatch(/^Basic/);
    const garbage = await api('register', { user: u, host: 'localhost', password: 'pw' }, 'Digest abc');
    expectCoded(garbage, 401, 10, UNAUTHORIZED);
    expect(garbage.headers.get('www-authenticate')).toMatch(/^Basic/);
    expect((await api('check_account', { user: u, host: 'localhost' })).text).toBe('1');
    expect(await t.canLogin('alice', 'wonderland')).toBe(true);
  });

  it("a non-admin's session cannot be kicked by that user through REST", async () => {
    const c = await online('bob', 'builder', 'stay');
    const r = await api(
      'kick_session',
      { user: 'bob', host: 'localhost', resource: 'stay', reason: 'x' },
      basic('bob@localhost', 'builder'),
    );
    expect(r.status).toBe(403);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(c.closed).toBe(false);
  });

  it("a Bearer token from api_tokens acts as its account: the admin's works, a wrong one is 401, a non-admin's 403", async () => {
    const u = fresh();
    const r = await api('register', { user: u, host: 'localhost', password: 'tok' }, `Bearer ${ALICE_TOKEN}`);
    expect(r.status).toBe(200);
    expect(await t.canLogin(u, 'tok')).toBe(true);
    const wrong = await api('registered_users', { host: 'localhost' }, `Bearer ${ALICE_TOKEN}x`);
    expectCoded(wrong, 401, 10, UNAUTHORIZED);
    expect(wrong.headers.get('www-authenticate')).toMatch(/^Basic/);
    const v = fresh();
    const bob = await api('register', { user: v, host: 'localhost', password: 'x' }, `Bearer ${BOB_TOKEN}`);
    expect(bob.status).toBe(403);
    expect((await api('check_account', { user: v, host: 'localhost' })).text).toBe('1');
    // A token is not a password: it does not work as Basic credentials.
    expect(
      (await api('registered_users', { host: 'localhost' }, basic('alice@localhost', ALICE_TOKEN))).status,
    ).toBe(401);
  });
});

describe('mod_http_api: bad inputs change nothing', () => {
  it('a wrong type is 400 with the message as a bare JSON string', async () => {
    const u = await newUser('keep');
    const pw = await api('change_password', { user: u, host: 'localhost', newpass: 12345 });
    expectBare(pw, 400, /^Arg 12345 is not in format binary$/);
    expect(await t.canLogin(u, 'keep')).toBe(true);
    const arr = await api('register', { user: [u], host: 'localhost', password: 'x' });
    expectBare(arr, 400, /is not in format binary$/);
    await ok('set_last', { user: u, host: 'localhost', timestamp: 1_700_000_000, status: 'Kept' });
    for (const timestamp of ['soon', 1.5, true, {}]) {
      const last = await api('set_last', { user: u, host: 'localhost', timestamp, status: 'Changed' });
      expectBare(last, 400, /^Arg .* is not in format integer$/);
    }
    expect(await ok('get_last', { user: u, host: 'localhost' })).toEqual({
      timestamp: '2023-11-14T22:13:20Z',
      status: 'Kept',
    });
    const subs = await api('add_rosteritem', {
      localuser: u,
      localhost: 'localhost',
      user: 'x',
      host: 'example.com',
      nick: '',
      group: '',
      subs: 'maybe',
    });
    expectBare(subs, 400, /subs must be/);
    expect(await ok('get_roster', { user: u, host: 'localhost' })).toEqual([]);
  });

  it('a missing argument is 400 with the message as a bare JSON string', async () => {
    const u = await newUser('keep');
    const r = await api('change_password', { user: u, host: 'localhost' });
    expectBare(r, 400, 'Request have missing argument: newpass');
    expect(await t.canLogin(u, 'keep')).toBe(true);
    const nullArg = await api('register', { user: fresh(), host: 'localhost', password: null });
    expectBare(nullArg, 400, /password/);
    const add = await api('add_rosteritem', {
      localuser: u,
      localhost: 'localhost',
      user: 'x',
      host: 'example.com',
    });
    expectBare(add, 400, /^Request have missing argument: /);
    expect(await ok('get_roster', { user: u, host: 'localhost' })).toEqual([]);
    const empty = await api('registered_users', {});
    expectBare(empty, 400, 'Request have missing argument: host');
  });

  it('an unknown host is 400 with the message as a bare JSON string', async () => {
    const u = fresh();
    const reg = await api('register', { user: u, host: 'nohost.example', password: 'pw' });
    expectBare(reg, 400, 'Unknown virtual host: nohost.example');
    expectBare(
      await api('registered_users', { host: 'nohost.example' }),
      400,
      'Unknown virtual host: nohost.example',
    );
    expect((await api('stats_host', { name: 'registeredusers', host: 'nohost.example' })).status).toBe(400);
    expect((await api('unregister', { user: 'bob', host: 'nohost.example' })).status).toBe(400);
    expect(
      (
        await api('add_rosteritem', {
          localuser: 'bob',
          localhost: 'nohost.example',
          user: 'x',
          host: 'example.com',
          nick: '',
          group: '',
          subs: 'both',
        })
      ).status,
    ).toBe(400);
    expect(await ok('registered_vhosts')).toEqual(['localhost']);
    expect((await api('check_account', { user: u, host: 'nohost.example' })).text).toBe('1');
    expect(await t.canLogin('bob', 'builder')).toBe(true);
  });

  it('send_message with an unknown type or a bad JID is 400 and delivers nothing', async () => {
    const u = await newUser();
    const c = await online(u, 'pw', 'm');
    const mark = c.elements.length;
    const badType = await api('send_message', {
      type: 'error',
      from: 'localhost',
      to: `${u}@localhost/m`,
      subject: '',
      body: 'wrong type',
    });
    expect(badType.status).toBe(400);
    const badJid = await api('send_message', {
      type: 'chat',
      from: 'a@@b',
      to: `${u}@localhost/m`,
      subject: '',
      body: 'bad jid',
    });
    expect(badJid.status).toBe(400);
    await ok('send_message', {
      type: 'chat',
      from: 'localhost',
      to: `${u}@localhost/m`,
      subject: '',
      body: 'good',
    });
    const msg = await c.next('message', mark);
    expect(bodyOf(msg)).toBe('good');
    expect(c.elements.slice(mark).filter((e) => e[1] === 'message')).toHaveLength(1);
  });

  it('an argument the command does not take is 400 "Request have unknown arguments: [...]" (a misspelt name is not ignored)', async () => {
    const u = fresh();
    const r = await api('register', { user: u, host: 'localhost', password: 'pw', pasword: 'typo' });
    expectBare(r, 400, 'Request have unknown arguments: [pasword]');
    expect((await api('check_account', { user: u, host: 'localhost' })).text).toBe('1');
  });

  it('a malformed user name is 400, never 500: kick_session, get_presence, change_password', async () => {
    const kick = await api('kick_session', { user: 'a@b', host: 'localhost', resource: 'r', reason: '' });
    expect(kick.status).toBe(400);
    expect((await api('get_presence', { user: 'a@b', host: 'localhost' })).status).toBe(400);
    expect((await api('get_presence', { user: 'bob', host: 'nohost.example' })).status).toBe(400);
    const empty = await api('change_password', { user: 'bob', host: 'localhost', newpass: '' });
    // A coded command error keeps ejabberd's json_error form.
    expectCoded(empty, 400, 10001, 'The new password must not be empty');
    expectCoded(
      await api('register', { user: 'a@b', host: 'localhost', password: 'pw' }),
      400,
      10001,
      "Can't register user a@b@localhost: invalid account",
    );
    expect(await t.canLogin('bob', 'builder')).toBe(true);
    expect(t.log.lines.some((l) => l.includes('Internal error') || l.includes('[error] mod_http_api'))).toBe(
      false,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// api_permissions as ejabberd's example config writes it.

describe('mod_http_api with api_permissions configured', () => {
  async function apiServer(
    permissions: Record<string, ApiPermission>,
  ): Promise<{ t: TestServer; base: string }> {
    const s = await startTestServer((config) => {
      config.acl.admin = { user: ['alice@localhost'] };
      config.api_permissions = permissions;
      config.listen.push({
        ...httpListenerDefaults(),
        port: 0,
        ip: '127.0.0.1',
        request_handlers: { '/api': 'mod_http_api' },
      });
    });
    const bound = s.server.listeners.find((l) => l.config.module === 'ejabberd_http');
    return { t: s, base: `http://127.0.0.1:${bound?.port}/api` };
  }

  describe('"admin access": anonymous loopback callers may call everything', () => {
    let s: { t: TestServer; base: string };
    beforeAll(async () => {
      s = await apiServer({
        'console commands': consoleCommandsPermission(),
        'admin access': {
          who: [
            {
              kind: 'access',
              rules: [
                {
                  verdict: 'allow',
                  who: [
                    { kind: 'acl', acl: 'loopback' },
                    { kind: 'acl', acl: 'admin' },
                  ],
                },
              ],
            },
          ],
          // ejabberd's example excludes stop and start (tsjabberd has stop; start is the process itself); ban_account
          // is excluded as well here, to check that an exclusion holds for anonymous loopback callers.
          what: ['*', '!stop', '!start', '!ban_account'],
        },
        'public commands': {
          who: [{ kind: 'ip', ip: '127.0.0.1/8' }],
          what: ['status', 'connected_users_number'],
        },
      });
    });
    afterAll(async () => {
      await s.t.stop();
    });

    it('an unauthenticated call from 127.0.0.1 registers an account that logs in', async () => {
      const r = await api(
        'register',
        { user: 'loop1', host: 'localhost', password: 'pw' },
        null,
        'POST',
        s.base,
      );
      expect(r.status).toBe(200);
      expect(r.json).toBe('User loop1@localhost successfully registered');
      const c = await RawClient.connect(s.t.port);
      open.push(c);
      await c.login('loop1', 'pw', 'r');
      const users = await api('registered_users', { host: 'localhost' }, null, 'POST', s.base);
      expect(users.status).toBe(200);
      expect(users.json).toEqual(expect.arrayContaining(['alice', 'bob', 'loop1']));
      const kick = await api(
        'kick_session',
        { user: 'loop1', host: 'localhost', resource: 'r', reason: 'bye' },
        null,
        'POST',
        s.base,
      );
      expect([kick.status, kick.text]).toEqual([200, '0']);
      await c.until(() => c.closed, 'the stream to close');
    });

    it('excluded commands stay refused (403 code 32, also without credentials); credentials that do not check out are still 401', async () => {
      await api('register', { user: 'loop2', host: 'localhost', password: 'pw' }, null, 'POST', s.base);
      const ban = await api(
        'ban_account',
        { user: 'loop2', host: 'localhost', reason: '' },
        null,
        'POST',
        s.base,
      );
      expectCoded(ban, 403, 32, FORBIDDEN);
      const c = await RawClient.connect(s.t.port);
      open.push(c);
      await c.login('loop2', 'pw', 'r');
      // Excluded for the admin too (no entry allows it): 403 for an authenticated caller.
      const byAdmin = await api(
        'ban_account',
        { user: 'loop2', host: 'localhost', reason: '' },
        ADMIN,
        'POST',
        s.base,
      );
      expectCoded(byAdmin, 403, 32, FORBIDDEN);
      expect(c.closed).toBe(false);
      expect(await s.t.server.auth.check_password('loop2', 'localhost', 'pw')).toBe(true);
      const wrong = await api(
        'registered_users',
        { host: 'localhost' },
        basic('alice@localhost', 'nope'),
        'POST',
        s.base,
      );
      expectCoded(wrong, 401, 10, UNAUTHORIZED);
      // An authenticated non-admin calling from loopback is allowed too, as in ejabberd.
      const bob = await api('status', {}, basic('bob@localhost', 'builder'), 'POST', s.base);
      expect(bob.status).toBe(200);
      expect(bob.json).toMatch(/is started/);
    });
  });

  describe('"public commands" next to the default admin access', () => {
    let s: { t: TestServer; base: string };
    beforeAll(async () => {
      s = await apiServer({
        ...defaultApiPermissions(),
        'public commands': {
          who: [{ kind: 'ip', ip: '127.0.0.1/8' }],
          what: ['status', 'connected_users_number'],
        },
      });
    });
    afterAll(async () => {
      await s.t.stop();
    });

    it('status and connected_users_number answer anyone on loopback; the rest still needs the admin (403 code 32 otherwise)', async () => {
      const status = await api('status', {}, null, 'POST', s.base);
      expect(status.status).toBe(200);
      expect(status.json).toMatch(/is started/);
      const before = await api('connected_users_number', {}, null, 'POST', s.base);
      expect(before.status).toBe(200);
      const c = await RawClient.connect(s.t.port);
      open.push(c);
      await c.login('bob', 'builder', 'pub');
      const after = await api('connected_users_number', {}, null, 'GET', s.base);
      expect(after.json).toEqual({
        num_sessions: (before.json as { num_sessions: number }).num_sessions + 1,
      });
      const reg = await api(
        'register',
        { user: 'pub1', host: 'localhost', password: 'pw' },
        null,
        'POST',
        s.base,
      );
      expectCoded(reg, 403, 32, FORBIDDEN);
      const asBob = await api(
        'register',
        { user: 'pub1', host: 'localhost', password: 'pw' },
        basic('bob@localhost', 'builder'),
        'POST',
        s.base,
      );
      expectCoded(asBob, 403, 32, FORBIDDEN);
      expect(await s.t.server.auth.user_exists('pub1', 'localhost')).toBe(false);
      const admin = await api('registered_users', { host: 'localhost' }, ADMIN, 'POST', s.base);
      expect(admin.status).toBe(200);
      expect(admin.json).toEqual(['alice', 'bob']);
    });
  });
});
