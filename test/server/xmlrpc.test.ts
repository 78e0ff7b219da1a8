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
  });
  const bound = t.server.listeners.find((l) => l.config.module === 'ejabberd_http');
  port = bound?.port ?? 0;
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
  return new Promise((resolve, reject) => {
    execFile('python3', [CALL, uri, method, JSON.stringify(params)], (error, stdout, stderr) => {
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
function post(body: string, method = 'POST'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', method }, (res) => {
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

  it('set_last then get_last answer the tuple as an array of structs (>= 17.04)', async () => {
    const u = fresh();
    await admin('register', { user: u, host: 'localhost', password: 'pw' });
    expect(
      await admin('set_last', { user: u, host: 'localhost', timestamp: 1_700_000_000, status: 'Registered' }),
    ).toEqual({ res: 0 });
    expect(await admin('get_last', { user: u, host: 'localhost' })).toEqual({
      last_activity: [{ timestamp: '2023-11-14T22:13:20Z' }, { status: 'Registered' }],
    });
    expect(await py('get_last', ADMIN, { user: 'ghost', host: 'localhost' })).toMatchObject({ fault: -118 });
  });

  it('status, stats and stats_host', async () => {
    const status = (await admin('status')) as { res: number; text: string };
    expect(status.res).toBe(0);
    expect(status.text).toMatch(/is started/);
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

  it('user_sessions_info and connected_users_info as xmpp-backends reads them; kick_session closes the stream', async () => {
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

  it('get_roster answers an array of {jid, group, nick, subscription, pending}', async () => {
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
  });
});

describe('ejabberd_xmlrpc: refusals', () => {
  it('needs credentials by default: none is -103, a wrong password -103, a non-admin -118', async () => {
    expect(await py('registered_users', { host: 'localhost' })).toMatchObject({ fault: -103 });
    expect(await py('registered_users', { ...ADMIN, password: 'nope' }, { host: 'localhost' })).toMatchObject(
      { fault: -103 },
    );
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
