/**
 * ejabberd_xmlrpc against a running server, called by Python's standard xmlrpc.client as xmpp-backends
 * calls it, with every effect checked over XMPP.
 */
import { execFile } from 'node:child_process';
import { request } from 'node:http';
import path from 'node:path';
import { get_attr_s, get_subtag, get_tag_cdata, type XmlElement } from '@tsjabberd/xml-stanza';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { httpListenerDefaults } from '../../packages/server/src/config/defaults.js';
import { eventually, startTestServer, type TestServer } from './helpers.js';

const CALL = path.join(import.meta.dirname, 'fixtures', 'xmlrpc_call.py');

let t: TestServer;
let uri: string;
let port: number;
/** The port of a second listener with only `/xmlrpc: ejabberd_xmlrpc` (ejabberd's request_handlers form). */
let handlerPort: number;
let n = 0;

/** The admin's auth struct, ejabberd's optional first parameter. */
const ADMIN = { user: 'alice', server: 'localhost', password: 'wonderland' };

beforeAll(async () => {
  t = await startTestServer((config) => {
    config.acl.admin = { user: ['alice@localhost'] };
    // ejabberd's standalone form, as xmpp-backends documents it (module: ejabberd_xmlrpc, port 4560).
    config.listen.push({
      ...httpListenerDefaults(),
      port: 0,
      ip: '127.0.0.1',
      request_handlers: { '/': 'ejabberd_xmlrpc' },
      max_body_size: 20_000,
    });
    // The form of ejabberd's example config: ejabberd_http with the handler at /xmlrpc.
    config.listen.push({
      ...httpListenerDefaults(),
      port: 0,
      ip: '127.0.0.1',
      request_handlers: { '/xmlrpc': 'ejabberd_xmlrpc' },
    });
  });
  const http = t.server.listeners.filter((l) => l.config.module === 'ejabberd_http');
  const handledAt = (p: string) =>
    http.find((l) => l.config.module === 'ejabberd_http' && p in l.config.request_handlers)?.port ?? 0;
  port = handledAt('/');
  handlerPort = handledAt('/xmlrpc');
  uri = `http://127.0.0.1:${port}/`;
});
afterAll(async () => {
  await t.stop();
});
afterEach(() => {
  t.closeClients();
});

type Answer = { result: unknown } | { fault: number; string: string } | { protocol_error: number };

/** One call through Python's xmlrpc.client. */
function py(method: string, ...params: unknown[]): Promise<Answer> {
  return pyAt(uri, method, ...params);
}

/** One call through Python's xmlrpc.client, `ServerProxy(at)`. */
function pyAt(at: string, method: string, ...params: unknown[]): Promise<Answer> {
  return new Promise((resolve, reject) => {
    execFile('python3', [CALL, at, method, JSON.stringify(params)], (error, stdout, stderr) => {
      if (error) reject(new Error(`${error.message}\n${stderr}`));
      else resolve(JSON.parse(stdout) as Answer);
    });
  });
}

/** A call as the admin; its result (a fault fails the test). */
async function admin(method: string, args: Record<string, unknown> = {}): Promise<unknown> {
  const answer = await py(method, ADMIN, args);
  if (!('result' in answer)) throw new Error(`${method}: ${JSON.stringify(answer)}`);
  return answer.result;
}

/** A raw POST, for what xmlrpc.client will not send. */
function post(
  body: string,
  method = 'POST',
  at = { port: 0, path: '/' },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: at.port || port, path: at.path, method }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        text += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function fresh(): string {
  return `xr${++n}`;
}

/** xmpp-backends' flattening of a session: a list of one-member structs into one object. */
function flatten(fields: Record<string, unknown>[]): Record<string, unknown> {
  return Object.assign({}, ...fields);
}

describe('ejabberd_xmlrpc: accounts', () => {
  it('register answers {res: 0, text}; the account logs in; again answers res 1', async () => {
    const u = fresh();
    expect(await admin('register', { user: u, host: 'localhost', password: 'p:w' })).toEqual({
      res: 0,
      text: `User ${u}@localhost successfully registered`,
    });
    expect(await t.canLogin(u, 'p:w')).toBe(true);
    const again = (await admin('register', { user: u, host: 'localhost', password: 'x' })) as {
      res: number;
      text: string;
    };
    expect(again.res).toBe(1);
    expect(again.text).toMatch(/already registered/);
    expect(await t.canLogin(u, 'p:w')).toBe(true);
  });

  it('check_account and check_password answer {res: 0} or {res: 1}', async () => {
    expect(await admin('check_account', { user: 'bob', host: 'localhost' })).toEqual({ res: 0 });
    expect(await admin('check_account', { user: 'nobody', host: 'localhost' })).toEqual({ res: 1 });
    expect(await admin('check_password', { user: 'bob', host: 'localhost', password: 'builder' })).toEqual({
      res: 0,
    });
    expect(await admin('check_password', { user: 'bob', host: 'localhost', password: 'no' })).toEqual({
      res: 1,
    });
  });

  it('change_password: the new password logs in; an unknown user is fault -118 and not created', async () => {
    const u = fresh();
    await admin('register', { user: u, host: 'localhost', password: 'old' });
    expect(await admin('change_password', { user: u, host: 'localhost', newpass: 'new' })).toEqual({
      res: 0,
    });
    expect(await t.canLogin(u, 'new')).toBe(true);
    expect(await t.canLogin(u, 'old')).toBe(false);
    const ghost = await py('change_password', ADMIN, { user: 'ghost', host: 'localhost', newpass: 'x' });
    expect(ghost).toMatchObject({ fault: -118 });
    expect(await admin('check_account', { user: 'ghost', host: 'localhost' })).toEqual({ res: 1 });
  });

  it('registered_users and registered_vhosts answer lists of one-member structs', async () => {
    const users = (await admin('registered_users', { host: 'localhost' })) as {
      users: { username: string }[];
    };
    expect(users.users.map((u) => u.username)).toEqual(expect.arrayContaining(['alice', 'bob']));
    expect(await admin('registered_vhosts')).toEqual({ vhosts: [{ vhost: 'localhost' }] });
  });

  it('unregister answers {res: 0, text: ""}; the account no longer logs in', async () => {
    const u = fresh();
    await admin('register', { user: u, host: 'localhost', password: 'pw' });
    const c = await t.login(u, 'pw', 'r');
    expect(await admin('unregister', { user: u, host: 'localhost' })).toEqual({ res: 0, text: '' });
    await c.until(() => c.closed, 'the stream to close');
    expect(await t.canLogin(u, 'pw')).toBe(false);
  });

  it('ban_account kicks the sessions and locks the account', async () => {
    const u = fresh();
    await admin('register', { user: u, host: 'localhost', password: 'pw' });
    const c = await t.login(u, 'pw', 'r');
    expect(await admin('ban_account', { user: u, host: 'localhost', reason: 'Blocked.' })).toEqual({
      res: 0,
    });
    await c.until(() => c.closed, 'the stream to close');
    expect(await t.canLogin(u, 'pw')).toBe(false);
  });

  it('get_last answers the tuple as an array of structs (>= 17.04): the registration, a set_last, NOT FOUND for no account', async () => {
    const u = fresh();
    await admin('register', { user: u, host: 'localhost', password: 'pw' });
    const registered = (await admin('get_last', { user: u, host: 'localhost' })) as {
      last_activity: [{ timestamp: string }, { status: string }];
    };
    expect(registered.last_activity[1]).toEqual({ status: "Registered but didn't login" });
    expect(registered.last_activity[0].timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(Date.now() - Date.parse(registered.last_activity[0].timestamp)).toBeLessThan(60_000);
    expect(
      await admin('set_last', { user: u, host: 'localhost', timestamp: 1_700_000_000, status: 'Registered' }),
    ).toEqual({ res: 0 });
    expect(await admin('get_last', { user: u, host: 'localhost' })).toEqual({
      last_activity: [{ timestamp: '2023-11-14T22:13:20Z' }, { status: 'Registered' }],
    });
    // An account that does not exist: a result, NOT FOUND at the current time in microseconds.
    const before = Date.now();
    const ghost = (await admin('get_last', { user: 'ghost', host: 'localhost' })) as {
      last_activity: [{ timestamp: string }, { status: string }];
    };
    expect(ghost.last_activity[1]).toEqual({ status: 'NOT FOUND' });
    const stamp = ghost.last_activity[0].timestamp;
    expect(stamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(stamp).toHaveLength(27);
    expect(Date.parse(stamp)).toBeGreaterThanOrEqual(before - 1);
    expect(Date.parse(stamp)).toBeLessThanOrEqual(Date.now());
    expect(await admin('check_account', { user: 'ghost', host: 'localhost' })).toEqual({ res: 1 });
    // An unknown host is still a fault.
    expect(await py('get_last', ADMIN, { user: u, host: 'nohost.example' })).toMatchObject({ fault: -118 });
  });

  it('status, stats and stats_host', async () => {
    const status = (await admin('status')) as { res: number; text: string };
    expect(status.res).toBe(0);
    expect(status.text).toMatch(/is started/);
    // xmpp-backends reads the API version as the token before "is running in that node".
    expect(/([^ ]*) is running in that node/.exec(status.text)?.[1]).toBe('23.01');
    const registered = await t.server.auth.count_users('localhost');
    expect(await admin('stats', { name: 'registeredusers' })).toEqual({ stat: registered });
    expect(await admin('stats_host', { name: 'registeredusers', host: 'localhost' })).toEqual({
      stat: registered,
    });
    expect(await admin('stats', { name: 'uptimeseconds' })).toEqual({ stat: expect.any(Number) });
    expect(await py('stats', ADMIN, { name: 'nonsense' })).toMatchObject({ fault: -118 });
  });
});

describe('ejabberd_xmlrpc: sessions and messages', () => {
  it('send_message (chat, normal, headline) reaches the client', async () => {
    const c = await t.login('bob', 'builder', 'xmlrpc');
    for (const type of ['chat', 'normal', 'headline']) {
      const mark = c.elements.length;
      expect(
        await admin('send_message', {
          type,
          from: 'localhost',
          to: 'bob@localhost/xmlrpc',
          subject: 'S',
          body: `a ${type} message`,
        }),
      ).toEqual({ res: 0 });
      const msg = await c.next('message', mark);
      expect(get_attr_s('type', msg[2])).toBe(type);
      expect(get_tag_cdata(get_subtag(msg, 'body') as XmlElement)).toBe(`a ${type} message`);
    }
  });

  it('user_sessions_info and connected_users_info as xmpp-backends reads them; kick_session closes the stream, and again answers {res: 0}', async () => {
    const u = fresh();
    await admin('register', { user: u, host: 'localhost', password: 'pw' });
    const c = await t.login(u, 'pw', 'desk');
    c.write('<presence><show>away</show><status>lunch</status><priority>5</priority></presence>');
    const mine = async () => {
      const r = (await admin('user_sessions_info', { user: u, host: 'localhost' })) as {
        sessions_info: { session: Record<string, unknown>[] }[];
      };
      return r.sessions_info.map((s) => flatten(s.session));
    };
    await eventually(async () => (await mine())[0]?.status === 'away', 'the presence to be recorded');
    const [session] = await mine();
    expect(session).toMatchObject({
      resource: 'desk',
      priority: 5,
      status: 'away',
      statustext: 'lunch',
      ip: '127.0.0.1',
      connection: 'c2s_tls',
      uptime: expect.any(Number),
    });
    const all = (await admin('connected_users_info')) as {
      connected_users_info: { session: Record<string, unknown>[] }[];
    };
    expect(all.connected_users_info.map((s) => flatten(s.session).jid)).toContain(`${u}@localhost/desk`);
    expect(await admin('connected_users')).toMatchObject({
      connected_users: expect.arrayContaining([{ sessions: `${u}@localhost/desk` }]),
    });
    expect(
      await admin('kick_session', { user: u, host: 'localhost', resource: 'desk', reason: 'bye' }),
    ).toEqual({ res: 0 });
    await c.until(() => c.closed, 'the stream to close');
    expect(await mine()).toEqual([]);
    // A session that is not there: {res: 0} as in ejabberd, logged.
    expect(
      await admin('kick_session', { user: u, host: 'localhost', resource: 'desk', reason: 'again' }),
    ).toEqual({ res: 0 });
    expect(t.log.lines.some((l) => l.includes(`kick_session: no session ${u}@localhost/desk to kick`))).toBe(
      true,
    );
    expect(await t.canLogin(u, 'pw')).toBe(true);
  });
});

describe("ejabberd_xmlrpc: mod_xmlrpc's documented calls", () => {
  it('get_resources, get_presence (user, server) and send_stanza in the document shapes', async () => {
    const u = fresh();
    await admin('register', { user: u, host: 'localhost', password: 'pw' });
    const c = await t.login(u, 'pw', 'phone');
    c.write('<presence><show>dnd</show><status>busy</status></presence>');
    expect(await admin('get_resources', { user: u, server: 'localhost' })).toEqual(['phone']);
    await eventually(
      async () =>
        ((await admin('get_presence', { user: u, server: 'localhost' })) as { show: string }).show === 'dnd',
      'the presence',
    );
    expect(await admin('get_presence', { user: u, server: 'localhost' })).toEqual({
      jid: `${u}@localhost/phone`,
      show: 'dnd',
      status: 'busy',
    });
    const mark = c.elements.length;
    expect(
      await admin('send_stanza', {
        from: 'localhost',
        to: `${u}@localhost/phone`,
        stanza: '<message type="chat"><body>raw stanza</body></message>',
      }),
    ).toBe(0);
    const msg = await c.next('message', mark);
    expect(get_tag_cdata(get_subtag(msg, 'body') as XmlElement)).toBe('raw stanza');
    expect(await admin('send_stanza', { from: 'localhost', to: `${u}@localhost`, stanza: '<message' })).toBe(
      400,
    );
  });

  it('get_roster answers an array of {jid, group, nick, subscription, pending}; delete_rosteritem {res: 0}, also for an absent item', async () => {
    const u = fresh();
    await admin('register', { user: u, host: 'localhost', password: 'pw' });
    expect(
      await admin('add_rosteritem', {
        localuser: u,
        localhost: 'localhost',
        user: 'bob',
        host: 'localhost',
        nick: 'Bob',
        group: 'Friends',
        subs: 'both',
      }),
    ).toEqual({ res: 0 });
    expect(await admin('get_roster', { user: u, server: 'localhost' })).toEqual([
      { jid: 'bob@localhost', group: 'Friends', nick: 'Bob', subscription: 'both', pending: 'none' },
    ]);
    const item = { localuser: u, localhost: 'localhost', user: 'bob', host: 'localhost' };
    expect(await admin('delete_rosteritem', item)).toEqual({ res: 0 });
    expect(await admin('get_roster', { user: u, server: 'localhost' })).toEqual([]);
    expect(await admin('delete_rosteritem', item)).toEqual({ res: 0 });
    expect(await admin('get_roster', { user: u, server: 'localhost' })).toEqual([]);
    // An account that does not exist is still refused, and not created.
    expect(await py('delete_rosteritem', ADMIN, { ...item, localuser: 'ghost' })).toMatchObject({
      fault: -118,
    });
    expect(await admin('check_account', { user: 'ghost', host: 'localhost' })).toEqual({ res: 1 });
  });
});

describe('ejabberd_xmlrpc: at request_handlers /xmlrpc', () => {
  it("answers ServerProxy('http://127.0.0.1:PORT/xmlrpc'), which posts to the handler's exact path", async () => {
    const at = `http://127.0.0.1:${handlerPort}/xmlrpc`;
    const status = await pyAt(at, 'status', ADMIN, {});
    expect(status).toMatchObject({ result: { res: 0, text: expect.stringMatching(/is started/) } });
    const u = fresh();
    expect(await pyAt(at, 'register', ADMIN, { user: u, host: 'localhost', password: 'pw' })).toEqual({
      result: { res: 0, text: `User ${u}@localhost successfully registered` },
    });
    expect(await t.canLogin(u, 'pw')).toBe(true);
    expect(await pyAt(at, 'check_account', ADMIN, { user: u, host: 'localhost' })).toEqual({
      result: { res: 0 },
    });
    // Credentials are checked there as well.
    expect(
      await pyAt(at, 'unregister', { ...ADMIN, password: 'nope' }, { user: u, host: 'localhost' }),
    ).toMatchObject({ fault: -118 });
    expect(await t.server.auth.user_exists(u, 'localhost')).toBe(true);
  });

  it('is not reached outside its path: another path or a longer name is 404', async () => {
    const call = "<?xml version='1.0'?><methodCall><methodName>status</methodName></methodCall>";
    for (const path of ['/', '/xmlrpcx', '/other/xmlrpc']) {
      expect((await post(call, 'POST', { port: handlerPort, path })).status, path).toBe(404);
    }
    const ok = await post(call, 'POST', { port: handlerPort, path: '/xmlrpc/' });
    expect(ok.status).toBe(200);
    expect(ok.body).toContain('<methodResponse>');
  });
});

describe('ejabberd_xmlrpc: refusals', () => {
  it('needs credentials by default: none, a wrong password and a non-admin are all fault -118', async () => {
    expect(await py('registered_users', { host: 'localhost' })).toMatchObject({
      fault: -118,
      string: expect.stringContaining('access_rules_unauthorized'),
    });
    expect(await py('registered_users', { ...ADMIN, password: 'nope' }, { host: 'localhost' })).toEqual({
      fault: -118,
      string: 'Error -118\nInvalid authentication data',
    });
    expect(
      await py(
        'registered_users',
        { user: 'nobody', server: 'localhost', password: 'x' },
        { host: 'localhost' },
      ),
    ).toEqual({ fault: -118, string: 'Error -118\nInvalid authentication data' });
    // A refused call changes nothing.
    const u = fresh();
    expect(
      await py('register', { ...ADMIN, password: 'nope' }, { user: u, host: 'localhost', password: 'pw' }),
    ).toMatchObject({ fault: -118 });
    expect(await py('register', { user: u, host: 'localhost', password: 'pw' })).toMatchObject({
      fault: -118,
      string: expect.stringContaining('access_rules_unauthorized'),
    });
    expect(await t.server.auth.user_exists(u, 'localhost')).toBe(false);
    expect(
      await py(
        'registered_users',
        { user: 'bob', server: 'localhost', password: 'builder' },
        { host: 'localhost' },
      ),
    ).toMatchObject({ fault: -118, string: expect.stringContaining('access_rules_unauthorized') });
    expect(t.log.lines.some((l) => l.includes('authentication failed for alice@localhost'))).toBe(true);
  });

  it('unknown call -112, missing argument -116, unused argument -120, wrong type -122; nothing created', async () => {
    expect(await py('no_such_command', ADMIN, {})).toMatchObject({ fault: -112 });
    expect(await py('register', ADMIN, { user: 'half', host: 'localhost' })).toMatchObject({
      fault: -116,
      string: expect.stringContaining('password'),
    });
    expect(
      await py('register', ADMIN, { user: 'half', host: 'localhost', password: 'x', extra: 1 }),
    ).toMatchObject({ fault: -120, string: expect.stringContaining('extra') });
    expect(await py('register', ADMIN, { user: 'half', host: 'localhost', password: 5 })).toMatchObject({
      fault: -122,
    });
    expect(await py('register', ADMIN, { user: ['half'], host: 'localhost', password: 'x' })).toMatchObject({
      fault: -122,
    });
    expect(await admin('check_account', { user: 'half', host: 'localhost' })).toEqual({ res: 1 });
  });

  it('a member named twice is -114', async () => {
    const body =
      "<?xml version='1.0'?><methodCall><methodName>check_account</methodName><params><param><value><struct>" +
      '<member><name>user</name><value>bob</value></member><member><name>user</name><value>eve</value></member>' +
      '<member><name>host</name><value>localhost</value></member></struct></value></param></params></methodCall>';
    const r = await post(body);
    expect(r.status).toBe(200);
    expect(r.body).toContain('<name>faultCode</name>');
    expect(r.body).toContain('-114');
  });

  it('malformed XML or a non-call is HTTP 400, an oversized body 413, GET 405; the server keeps serving', async () => {
    expect((await post('<methodCall><methodName>status')).status).toBe(400);
    expect((await post('<notACall/>')).status).toBe(400);
    expect(
      (
        await post(
          '<!DOCTYPE x [<!ENTITY a "aaaa">]><methodCall><methodName>status</methodName></methodCall>',
        )
      ).status,
    ).toBe(400);
    expect((await post(`<methodCall>${'x'.repeat(30_000)}</methodCall>`)).status).toBe(413);
    expect((await post('', 'GET')).status).toBe(405);
    expect((await admin('status')) as { res: number }).toMatchObject({ res: 0 });
  });
});
