import { get_subtag, get_tag_cdata, type XmlElement } from '@tsjabberd/xml-stanza';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { httpListenerDefaults } from '../../packages/server/src/config/defaults.js';
import { parseConfig } from '../../packages/server/src/config/load.js';
import { startTestServer, type TestServer } from './helpers.js';
import { RawClient } from './raw-client.js';

let t: TestServer;
let base: string;
const open: RawClient[] = [];

beforeAll(async () => {
  t = await startTestServer((config) => {
    config.acl.admin = { user: ['alice@localhost'] };
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
): Promise<{ status: number; json: unknown; headers: Headers }> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (auth !== null) headers.Authorization = auth;
  const res = await fetch(`${base}/${command}`, {
    method,
    headers,
    body: method === 'GET' ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown = text;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.status, json, headers: res.headers };
}

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

  it('401 without credentials or with a wrong password, logged with the peer', async () => {
    const none = await api('registered_users', { host: 'localhost' }, null);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Basic/);
    expect(none.json).toMatchObject({ status: 'error', code: 10 });
    const wrong = await api('registered_users', { host: 'localhost' }, basic('alice@localhost', 'nope'));
    expect(wrong.status).toBe(401);
    const nohost = await api('registered_users', { host: 'localhost' }, basic('alice', 'wonderland'));
    expect(nohost.status).toBe(401);
    expect(t.log.lines.some((l) => l.includes('127.0.0.1'))).toBe(true);
  });

  it('403 for an account that is not admin', async () => {
    const r = await api('registered_users', { host: 'localhost' }, basic('bob@localhost', 'builder'));
    expect(r.status).toBe(403);
    expect(r.json).toMatchObject({ status: 'error' });
  });

  it('404 for an unknown command', async () => {
    const r = await api('no_such_command', {});
    expect(r.status).toBe(404);
    expect(r.json).toMatchObject({ status: 'error', code: 40 });
  });

  it('400 for bad JSON and for a missing argument (no account created)', async () => {
    const bad = await api('registered_users', '{not json');
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ status: 'error', message: 'Invalid JSON input' });
    const arr = await api('registered_users', '[1]');
    expect(arr.status).toBe(400);
    const missing = await api('register', { user: 'rest2', host: 'localhost' });
    expect(missing.status).toBe(400);
    expect(missing.json).toMatchObject({ status: 'error', message: expect.stringContaining('password') });
    const typed = await api('register', { user: 'rest2', host: 'localhost', password: 5 });
    expect(typed.status).toBe(400);
    const users = await api('registered_users', { host: 'localhost' });
    expect(users.json).not.toContain('rest2');
  });

  it('413 for a body over max_body_size', async () => {
    const r = await api('registered_users', { host: 'localhost', pad: 'x'.repeat(5000) });
    expect(r.status).toBe(413);
  });

  it('GET takes the arguments from the query string; other methods than POST and GET are 405', async () => {
    const get = await api('registered_users?host=localhost', undefined, ADMIN, 'GET');
    expect(get.status).toBe(200);
    expect(get.json).toEqual(expect.arrayContaining(['alice', 'bob']));
    const put = await api('registered_users', { host: 'localhost' }, ADMIN, 'PUT');
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('POST, GET');
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
