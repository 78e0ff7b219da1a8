import type { ServerConfig } from '@tsjabberd/server';
import { element_to_string, get_attr_s, type XmlElement } from '@tsjabberd/xml-stanza';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { entropy, mod_register } from '../../packages/server/src/modules/mod_register.js';
import { startTestServer, type TestServer } from './helpers.js';
import { RawClient } from './raw-client.js';

const NS = 'jabber:iq:register';

/** A server with mod_register configured by `opts` (and whatever else `change` does). */
function withRegister(opts: Record<string, unknown>, change: (c: ServerConfig) => void = () => {}) {
  return startTestServer((c) => {
    c.modules = { ...c.modules, mod_register: opts };
    change(c);
  });
}

/** Connected, TLS up, stream restarted: the features of the secured stream, before SASL. */
async function preAuth(t: TestServer): Promise<{ c: RawClient; features: XmlElement }> {
  const c = await RawClient.connect(t.port);
  c.open();
  await c.next('stream:features');
  await c.starttls();
  c.open();
  const features = await c.next('stream:features');
  return { c, features };
}

function children(el: XmlElement): XmlElement[] {
  return el[3].filter((n): n is XmlElement => n[0] === 'xmlelement');
}

function child(el: XmlElement, name: string): XmlElement | undefined {
  return children(el).find((c) => c[1] === name);
}

/** The error condition of an IQ error, '' for a result. */
function condition(iq: XmlElement): string {
  const error = child(iq, 'error');
  return error === undefined ? '' : (children(error).find((c) => c[1] !== 'text')?.[1] ?? '');
}

let ids = 0;
/** Sends an IQ with a `jabber:iq:register` query and waits for the reply with its id. */
async function query(c: RawClient, type: 'get' | 'set', inner = '', to = ''): Promise<XmlElement> {
  const id = `reg${++ids}`;
  const mark = c.elements.length;
  c.write(
    `<iq type='${type}' id='${id}'${to === '' ? '' : ` to='${to}'`}><query xmlns='${NS}'>${inner}</query></iq>`,
  );
  return c.until(
    () => c.elements.slice(mark).find((e) => e[1] === 'iq' && get_attr_s('id', e[2]) === id),
    `the answer to ${id}`,
  );
}

function fields(username: string, password: string): string {
  return `<username>${username}</username><password>${password}</password>`;
}

/** Logs in with SCRAM-SHA-256 and binds; the outcome or the failure condition. */
async function tryLogin(t: TestServer, user: string, password: string, resource: string): Promise<string> {
  const c = await RawClient.connect(t.port);
  try {
    return await c.login(user, password, resource);
  } catch (e) {
    return (e as Error).message;
  } finally {
    c.close();
  }
}

describe('in-band registration (mod_register loaded, no rate limit)', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await withRegister({ registration_timeout: 'infinity' }, (c) => {
      c.acl = { ...c.acl, reserved: { user: ['admin', 'root'] } };
      c.access_rules = {
        ...c.access_rules,
        register: [
          ['deny', 'reserved'],
          ['allow', 'all'],
        ],
      };
      c.modules.mod_register = { registration_timeout: 'infinity', access: 'register' };
    });
  });
  afterAll(() => t.stop());

  it('announces the register stream feature before authentication', async () => {
    const { c, features } = await preAuth(t);
    const register = child(features, 'register');
    expect(register?.[2]).toContainEqual(['xmlns', 'http://jabber.org/features/iq-register']);
    c.close();
  });

  it('answers the form, registers, and the new account logs in', async () => {
    const { c } = await preAuth(t);
    const form = await query(c, 'get');
    expect(get_attr_s('type', form[2])).toBe('result');
    const q = child(form, 'query') as XmlElement;
    expect(children(q).map((e) => e[1])).toEqual(['instructions', 'username', 'password']);
    expect(child(q, 'registered')).toBeUndefined();

    const done = await query(c, 'set', fields('Newbie', 'sesame-42'));
    expect(get_attr_s('type', done[2])).toBe('result');
    expect(children(done)).toEqual([]);
    c.close();
    expect(await t.server.auth.user_exists('newbie', 'localhost')).toBe(true);
    expect(await tryLogin(t, 'newbie', 'sesame-42', 'first')).toBe('newbie@localhost/first');
    expect(
      t.log.lines.some((l) =>
        /the account newbie@localhost was registered from IP address 127\.0\.0\.1/.test(l),
      ),
    ).toBe(true);
  });

  it('refuses an existing username with conflict', async () => {
    const { c } = await preAuth(t);
    const conflict = await query(c, 'set', fields('alice', 'other-secret'));
    expect(condition(conflict)).toBe('conflict');
    // The request, and so the password, is not echoed back.
    expect(element_to_string(conflict)).not.toContain('other-secret');
    expect(condition(await query(c, 'set', fields('ALICE', 'other')))).toBe('conflict');
    c.close();
    expect(await tryLogin(t, 'alice', 'wonderland', 'still')).toBe('alice@localhost/still');
  });

  it('refuses a username that is not a localpart with jid-malformed', async () => {
    const { c } = await preAuth(t);
    expect(condition(await query(c, 'set', fields('no@way', 'secret')))).toBe('jid-malformed');
    expect(condition(await query(c, 'set', fields('', 'secret')))).toBe('jid-malformed');
    c.close();
  });

  it('wants both fields (bad-request) and a password (not-acceptable)', async () => {
    const { c } = await preAuth(t);
    expect(condition(await query(c, 'set', '<username>lonely</username>'))).toBe('bad-request');
    expect(condition(await query(c, 'set', '<password>secret</password>'))).toBe('bad-request');
    expect(condition(await query(c, 'set', fields('lonely', '')))).toBe('not-acceptable');
    c.close();
    expect(await t.server.auth.user_exists('lonely', 'localhost')).toBe(false);
  });

  it('refuses a username the access rule denies with forbidden', async () => {
    const { c } = await preAuth(t);
    const denied = await query(c, 'set', fields('Admin', 'secret'));
    expect(condition(denied)).toBe('forbidden');
    c.close();
    expect(await t.server.auth.user_exists('admin', 'localhost')).toBe(false);
  });

  it('does not remove an account before authentication', async () => {
    const { c } = await preAuth(t);
    expect(condition(await query(c, 'set', `${fields('bob', 'builder')}<remove/>`))).toBe('not-allowed');
    expect(condition(await query(c, 'set', '<remove/>'))).toBe('not-allowed');
    c.close();
    expect(await t.server.auth.user_exists('bob', 'localhost')).toBe(true);
  });

  it('answers other IQs before authentication with service-unavailable', async () => {
    const { c } = await preAuth(t);
    const mark = c.elements.length;
    c.write("<iq type='get' id='v1' to='localhost'><query xmlns='jabber:iq:version'/></iq>");
    expect(condition(await c.next('iq', mark))).toBe('service-unavailable');
    c.close();
  });

  it('shows a logged-in user as registered, and lists the feature in disco#info', async () => {
    const c = await RawClient.connect(t.port);
    await c.login('alice', 'wonderland', 'form');
    const q = child(await query(c, 'get', '', 'localhost'), 'query') as XmlElement;
    expect(child(q, 'registered')).toBeDefined();
    expect(child(q, 'username')?.[3]).toEqual([['xmlcdata', 'alice']]);
    const mark = c.elements.length;
    c.write(
      "<iq type='get' id='d1' to='localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>",
    );
    const info = child(await c.next('iq', mark), 'query') as XmlElement;
    expect(children(info).map((f) => get_attr_s('var', f[2]))).toContain(NS);
    c.close();
  });

  it('changes the password of the logged-in user', async () => {
    await t.server.auth.try_register('dora', 'localhost', 'explorer');
    const c = await RawClient.connect(t.port);
    await c.login('dora', 'explorer', 'pw');
    const done = await query(c, 'set', fields('dora', 'map-and-backpack'));
    expect(get_attr_s('type', done[2])).toBe('result');
    c.close();
    expect(await tryLogin(t, 'dora', 'explorer', 'old')).toBe('login failed: not-authorized');
    expect(await tryLogin(t, 'dora', 'map-and-backpack', 'new')).toBe('dora@localhost/new');
    expect(t.log.lines.some((l) => /dora@localhost has changed password from 127\.0\.0\.1/.test(l))).toBe(
      true,
    );
  });

  it("does not change another user's password, nor set an empty one", async () => {
    const c = await RawClient.connect(t.port);
    await c.login('alice', 'wonderland', 'pw2');
    // Another username while logged in is a registration of a further account: access_from (none).
    expect(condition(await query(c, 'set', fields('bob', 'hijacked')))).toBe('forbidden');
    expect(condition(await query(c, 'set', fields('alice', '')))).toBe('bad-request');
    c.close();
    expect(await tryLogin(t, 'bob', 'builder', 'b')).toBe('bob@localhost/b');
    expect(await tryLogin(t, 'alice', 'wonderland', 'a')).toBe('alice@localhost/a');
  });

  it('removes the account: result, then every session closed with not-authorized', async () => {
    await t.server.auth.try_register('erin', 'localhost', 'leaving');
    const a = await RawClient.connect(t.port);
    await a.login('erin', 'leaving', 'one');
    const b = await RawClient.connect(t.port);
    await b.login('erin', 'leaving', 'two');
    const done = await query(a, 'set', '<remove/>');
    expect(get_attr_s('type', done[2])).toBe('result');
    expect(await a.streamError()).toBe('not-authorized');
    expect(await b.streamError()).toBe('not-authorized');
    await a.until(() => a.closed, 'the stream to close');
    expect(await t.server.auth.user_exists('erin', 'localhost')).toBe(false);
    expect(await tryLogin(t, 'erin', 'leaving', 'again')).toBe('login failed: not-authorized');
    expect(
      t.log.lines.some((l) => /the account erin@localhost was removed by erin@localhost\/one/.test(l)),
    ).toBe(true);
  });

  it('removes another account only with its password', async () => {
    await t.server.auth.try_register('gus', 'localhost', 'gus-pass');
    const gus = await RawClient.connect(t.port);
    await gus.login('gus', 'gus-pass', 'victim');
    const c = await RawClient.connect(t.port);
    await c.login('alice', 'wonderland', 'remover');
    expect(condition(await query(c, 'set', '<username>gus</username><remove/>'))).toBe('bad-request');
    expect(condition(await query(c, 'set', `${fields('gus', 'wrong')}<remove/>`))).toBe('not-authorized');
    expect(await t.server.auth.user_exists('gus', 'localhost')).toBe(true);
    expect(get_attr_s('type', (await query(c, 'set', `${fields('gus', 'gus-pass')}<remove/>`))[2])).toBe(
      'result',
    );
    expect(await gus.streamError()).toBe('not-authorized');
    expect(await t.server.auth.user_exists('gus', 'localhost')).toBe(false);
    // The remover's own session goes on.
    expect(child(await query(c, 'get', '', 'localhost'), 'query')).toBeDefined();
    c.close();
  });
});

describe('rate limit by IP address (registration_timeout)', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await withRegister({});
  });
  afterAll(() => t.stop());

  it('refuses a second registration from the same address with resource-constraint', async () => {
    const { c } = await preAuth(t);
    // A failed registration does not count.
    expect(condition(await query(c, 'set', fields('alice', 'x')))).toBe('conflict');
    expect(get_attr_s('type', (await query(c, 'set', fields('first', 'one-1')))[2])).toBe('result');
    c.close();
    const again = await preAuth(t);
    expect(condition(await query(again.c, 'set', fields('second', 'two-2')))).toBe('resource-constraint');
    again.c.close();
    expect(await t.server.auth.user_exists('second', 'localhost')).toBe(false);
  });
});

describe('access none and password_strength', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await withRegister({ access: 'none', password_strength: 40 });
  });
  afterAll(() => t.stop());

  it('announces no feature and refuses every registration with forbidden', async () => {
    const { c, features } = await preAuth(t);
    expect(child(features, 'register')).toBeUndefined();
    expect(condition(await query(c, 'set', fields('nobody', 'Str0ng&amp;Long-Passw0rd')))).toBe('forbidden');
    c.close();
  });

  it('refuses a weak new password with not-acceptable', async () => {
    const c = await RawClient.connect(t.port);
    await c.login('bob', 'builder', 'weak');
    const weak = await query(c, 'set', fields('bob', 'abc'));
    expect(condition(weak)).toBe('not-acceptable');
    // XEP-0077 3.3: the error does not carry the request (and its password) back.
    expect(element_to_string(weak)).not.toContain('abc');
    expect(get_attr_s('type', (await query(c, 'set', fields('bob', 'Str0ng&amp;Long-Passw0rd')))[2])).toBe(
      'result',
    );
    c.close();
  });

  it('computes entropy as ejabberd does', () => {
    expect(entropy('')).toBe(0);
    expect(entropy('abc')).toBeCloseTo(3 * Math.log2(26));
    expect(entropy('aB1!')).toBeCloseTo(4 * Math.log2(26 + 26 + 9 + 33));
  });
});

describe('without mod_register', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(() => t.stop());

  it('announces no feature and answers service-unavailable', async () => {
    const { c, features } = await preAuth(t);
    expect(child(features, 'register')).toBeUndefined();
    expect(condition(await query(c, 'get'))).toBe('service-unavailable');
    expect(condition(await query(c, 'set', fields('sneaky', 'secret')))).toBe('service-unavailable');
    c.close();
    expect(await t.server.auth.user_exists('sneaky', 'localhost')).toBe(false);
  });

  it('refuses an invalid option value and an unknown access rule', async () => {
    const { storage, auth, config, rosters } = t.server;
    const module = mod_register({ storage, auth, config, rosters });
    const gen_mod = t.server.node.gen_mod;
    await expect(gen_mod.start_module('localhost', module, { registration_timeout: -1 })).rejects.toThrow(
      /registration_timeout/,
    );
    await expect(gen_mod.start_module('localhost', module, { access: 'nonexistent' })).rejects.toThrow(
      /no access rule 'nonexistent'/,
    );
    expect(gen_mod.is_loaded('localhost', 'mod_register')).toBe(false);
  });
});
