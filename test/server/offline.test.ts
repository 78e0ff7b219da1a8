import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { get_attr_s, get_subtag, type XmlElement } from '@tsjabberd/xml-stanza';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers.js';
import { childText, ImClient } from './im-client.js';

const servers: TestServer[] = [];
const clients: ImClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.kill();
  for (const s of servers.splice(0)) await s.stop();
});

async function server(change: Parameters<typeof startTestServer>[0] = () => {}, sqliteDir?: string) {
  const s = await startTestServer(change, sqliteDir === undefined ? {} : { sqlite: true, dir: sqliteDir });
  servers.push(s);
  return s;
}

async function login(t: TestServer, user: string, password: string, presence = true): Promise<ImClient> {
  const c = await ImClient.login(t.port, user, password, 'r');
  clients.push(c);
  if (presence) c.send('<presence/>');
  return c;
}

function errorOf(e: XmlElement): string {
  const error = get_subtag(e, 'error');
  return error === false ? '' : ((error[3].find((c) => c[0] === 'xmlelement') as XmlElement)?.[1] ?? '');
}

describe('mod_offline (XEP-0160)', () => {
  it('keeps messages for an offline user and delivers them in order, with delay stamps, at login', async () => {
    const t = await server();
    const bob = await login(t, 'bob', 'builder');
    const before = Date.now();
    for (let i = 1; i <= 5; i++)
      bob.send(`<message to='alice@localhost' type='chat' id='m${i}'><body>message ${i}</body></message>`);
    await bob.nothing(() => true, 200);
    expect(await t.server.storage.offline.count('alice', 'localhost')).toBe(5);
    const alice = await login(t, 'alice', 'wonderland');
    const got: XmlElement[] = [];
    for (let i = 1; i <= 5; i++) got.push(await alice.expect((e) => e[1] === 'message', `message ${i}`));
    expect(got.map((m) => childText(m, 'body'))).toEqual([1, 2, 3, 4, 5].map((i) => `message ${i}`));
    for (const m of got) {
      expect(get_attr_s('from', m[2])).toBe('bob@localhost/r');
      const delay = get_subtag(m, 'delay') as XmlElement;
      expect(get_attr_s('xmlns', delay[2])).toBe('urn:xmpp:delay');
      const stamp = Date.parse(get_attr_s('stamp', delay[2]));
      expect(stamp).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
      expect(stamp).toBeLessThanOrEqual(Date.now());
    }
    expect(await t.server.storage.offline.count('alice', 'localhost')).toBe(0);
    // Delivered once: a second login gets nothing.
    alice.kill();
    const again = await login(t, 'alice', 'wonderland');
    expect(await again.nothing((e) => e[1] === 'message', 400)).toBe(true);
  });

  it('keeps them across a server restart (SQLite)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsjabberd-offline-'));
    const t = await server(() => {}, dir);
    const bob = await login(t, 'bob', 'builder');
    bob.send(`<message to='alice@localhost'><body>before the restart</body></message>`);
    bob.send(`<message to='alice@localhost'><body>second</body></message>`);
    await bob.nothing(() => true, 200);
    bob.kill();
    clients.splice(0);
    await t.stop({ keepDir: true });
    servers.splice(0);
    const t2 = await server(() => {}, dir);
    const alice = await login(t2, 'alice', 'wonderland');
    const m1 = await alice.expect((e) => e[1] === 'message', 'the first kept message');
    const m2 = await alice.expect((e) => e[1] === 'message', 'the second kept message');
    expect([childText(m1, 'body'), childText(m2, 'body')]).toEqual(['before the restart', 'second']);
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses past max_user_offline_messages with resource-constraint', async () => {
    const t = await server((c) => {
      c.modules.mod_offline = { max_user_offline_messages: 2 };
    });
    const bob = await login(t, 'bob', 'builder');
    for (let i = 1; i <= 3; i++)
      bob.send(`<message to='alice@localhost' id='x${i}'><body>${i}</body></message>`);
    const error = await bob.expect(
      (e) => e[1] === 'message' && get_attr_s('type', e[2]) === 'error',
      'an error',
    );
    expect(get_attr_s('id', error[2])).toBe('x3');
    expect(errorOf(error)).toBe('resource-constraint');
    expect(await t.server.storage.offline.count('alice', 'localhost')).toBe(2);
  });

  it('does not keep headline, groupchat, error or chat-state-only messages, nor no-store ones', async () => {
    const t = await server();
    const bob = await login(t, 'bob', 'builder');
    bob.send(`<message to='alice@localhost' type='headline'><body>news</body></message>`);
    bob.send(`<message to='alice@localhost' type='groupchat' id='g'><body>room</body></message>`);
    bob.send(`<message to='alice@localhost' type='error'><body>err</body></message>`);
    bob.send(
      `<message to='alice@localhost' type='chat'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>`,
    );
    bob.send(`<message to='alice@localhost'><body>secret</body><no-store xmlns='urn:xmpp:hints'/></message>`);
    const error = await bob.expect((e) => get_attr_s('id', e[2]) === 'g', 'the groupchat bounce');
    expect(errorOf(error)).toBe('service-unavailable');
    await bob.nothing(() => true, 200);
    expect(await t.server.storage.offline.count('alice', 'localhost')).toBe(0);
  });

  it('bounces a message to an account that does not exist', async () => {
    const t = await server();
    const bob = await login(t, 'bob', 'builder');
    bob.send(`<message to='nobody@localhost' id='n'><body>hello?</body></message>`);
    const error = await bob.expect((e) => get_attr_s('id', e[2]) === 'n', 'the bounce');
    expect(errorOf(error)).toBe('service-unavailable');
  });

  it('does not deliver kept messages before initial presence', async () => {
    const t = await server();
    const bob = await login(t, 'bob', 'builder');
    bob.send(`<message to='alice@localhost'><body>wait</body></message>`);
    await bob.nothing(() => true, 200);
    const alice = await login(t, 'alice', 'wonderland', false);
    expect(await alice.nothing((e) => e[1] === 'message', 300)).toBe(true);
    alice.send('<presence/>');
    const m = await alice.expect((e) => e[1] === 'message', 'the kept message');
    expect(childText(m, 'body')).toBe('wait');
  });
});
