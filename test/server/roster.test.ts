import { get_attr_s, get_subtag, type XmlElement } from '@tsjabberd/xml-stanza';
import { client, xml } from '@xmpp/client';
import type { Element } from 'ltx';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers.js';
import { childText, ImClient, subscribeBoth } from './im-client.js';

let t: TestServer;
const open: ImClient[] = [];
let n = 0;

beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.stop());
afterEach(() => {
  for (const c of open.splice(0)) c.kill();
});

/** A fresh pair of accounts per test, so rosters never carry over. */
async function users(count: number): Promise<string[]> {
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const name = `u${++n}`;
    await t.server.auth.try_register(name, 'localhost', 'secret');
    names.push(name);
  }
  return names;
}

/** Logs in, asks for the roster (so it gets pushes) and, unless `quiet`, sends initial presence. */
async function online(user: string, resource = 'r', quiet = false): Promise<ImClient> {
  const c = await ImClient.login(t.port, user, 'secret', resource);
  open.push(c);
  await c.roster();
  if (!quiet) {
    c.send('<presence/>');
    await c.presence(c.jid); // RFC 6121 4.2.2: the server echoes initial presence to the sender
  }
  return c;
}

describe('mod_roster: the roster IQ (RFC 6121 2)', () => {
  it('adds an item with name and groups, updates it, and removes it, pushing each change', async () => {
    const [a] = await users(1);
    const c = await online(a);
    const set = await c.iq(
      'set',
      `<query xmlns='jabber:iq:roster'><item jid='Friend@Example.COM' name='Friend'><group>Work</group><group>Ünïcode</group></item></query>`,
    );
    expect(get_attr_s('type', set[2])).toBe('result');
    const pushed = await c.push('friend@example.com', 'none');
    expect(get_attr_s('name', pushed[2])).toBe('Friend');
    expect((await c.roster()).get('friend@example.com')).toEqual({
      subscription: 'none',
      ask: '',
      name: 'Friend',
      groups: ['Work', 'Ünïcode'],
    });
    await c.iq('set', `<query xmlns='jabber:iq:roster'><item jid='friend@example.com' name='Pal'/></query>`);
    await c.push('friend@example.com');
    expect((await c.roster()).get('friend@example.com')).toMatchObject({ name: 'Pal', groups: [] });
    await c.iq(
      'set',
      `<query xmlns='jabber:iq:roster'><item jid='friend@example.com' subscription='remove'/></query>`,
    );
    await c.push('friend@example.com', 'remove');
    expect((await c.roster()).has('friend@example.com')).toBe(false);
  });

  it('pushes a change to every interested resource of the user', async () => {
    const [a] = await users(1);
    const phone = await online(a, 'phone');
    const laptop = await online(a, 'laptop');
    await phone.iq('set', `<query xmlns='jabber:iq:roster'><item jid='x@example.com'/></query>`);
    await phone.push('x@example.com');
    await laptop.push('x@example.com');
  });

  it('refuses malformed roster sets with the errors RFC 6121 2.3.3 names', async () => {
    const [a, b] = await users(2);
    const c = await online(a);
    const error = async (payload: string, to?: string) => {
      const r = await c.iq('set', payload, to);
      expect(get_attr_s('type', r[2])).toBe('error');
      return (get_subtag(r, 'error') as XmlElement)[3].map((e) => (e as XmlElement)[1])[0];
    };
    expect(await error(`<query xmlns='jabber:iq:roster'><item jid='a@b'/><item jid='c@d'/></query>`)).toBe(
      'bad-request',
    );
    expect(
      await error(
        `<query xmlns='jabber:iq:roster'><item jid='a@b'><group>g</group><group>g</group></item></query>`,
      ),
    ).toBe('bad-request');
    expect(await error(`<query xmlns='jabber:iq:roster'><item jid='a@b'><group/></item></query>`)).toBe(
      'not-acceptable',
    );
    expect(await error(`<query xmlns='jabber:iq:roster'><item jid='@@'/></query>`)).toBe('bad-request');
    expect(
      await error(`<query xmlns='jabber:iq:roster'><item jid='nobody@x' subscription='remove'/></query>`),
    ).toBe('item-not-found');
    // Another user's roster is not the client's to change.
    expect(await error(`<query xmlns='jabber:iq:roster'><item jid='a@b'/></query>`, `${b}@localhost`)).toBe(
      'forbidden',
    );
  });

  it('offers roster versioning and answers an up-to-date version with an empty result (XEP-0237)', async () => {
    const [a] = await users(1);
    const c = await online(a);
    expect(
      c.raw.elements.some(
        (e) => e[1] === 'stream:features' && e[3].some((f) => f[0] === 'xmlelement' && f[1] === 'ver'),
      ),
    ).toBe(true);
    await c.iq('set', `<query xmlns='jabber:iq:roster'><item jid='v@example.com'/></query>`);
    await c.push('v@example.com');
    const full = await c.iq('get', `<query xmlns='jabber:iq:roster' ver=''/>`);
    const ver = get_attr_s('ver', (get_subtag(full, 'query') as XmlElement)[2]);
    expect(ver).not.toBe('');
    const same = await c.iq('get', `<query xmlns='jabber:iq:roster' ver='${ver}'/>`);
    expect(get_attr_s('type', same[2])).toBe('result');
    expect(get_subtag(same, 'query')).toBe(false);
  });
});

describe('presence subscriptions (RFC 6121 3)', () => {
  it('ends the handshake with both in both rosters, and each sees the other online', async () => {
    const [a, b] = await users(2);
    const alice = await online(a);
    const bob = await online(b);
    alice.send(`<presence to='${bob.bare}' type='subscribe'><status>Hi, it is Alice</status></presence>`);
    const ask = await alice.push(bob.bare, 'none');
    expect(get_attr_s('ask', ask[2])).toBe('subscribe');
    const request = await bob.presence(alice.bare, 'subscribe');
    expect(get_attr_s('from', request[2])).toBe(alice.bare); // stamped with the bare JID (3.1.2)
    expect(childText(request, 'status')).toBe('Hi, it is Alice');
    bob.send(`<presence to='${alice.bare}' type='subscribed'/>`);
    await bob.push(alice.bare, 'from');
    await alice.push(bob.bare, 'to');
    await alice.presence(bob.bare, 'subscribed');
    await alice.presence(bob.jid); // 3.1.5: bob's server sends bob's presence to the new subscriber
    bob.send(`<presence to='${alice.bare}' type='subscribe'/>`);
    await alice.presence(bob.bare, 'subscribe');
    alice.send(`<presence to='${bob.bare}' type='subscribed'/>`);
    await alice.push(bob.bare, 'both');
    await bob.push(alice.bare, 'both');
    await bob.presence(alice.jid);
    expect((await alice.roster()).get(bob.bare)?.subscription).toBe('both');
    expect((await bob.roster()).get(alice.bare)?.subscription).toBe('both');
  });

  it('keeps a request for an offline user and delivers it at the next login (3.1.3)', async () => {
    const [a, b] = await users(2);
    const alice = await online(a);
    alice.send(`<presence to='${b}@localhost' type='subscribe'><status>later</status></presence>`);
    await alice.push(`${b}@localhost`, 'none');
    const bob = await online(b);
    const request = await bob.presence(alice.bare, 'subscribe');
    expect(childText(request, 'status')).toBe('later');
    // The pending request alone is not a roster item (3.1.3).
    expect((await bob.roster()).has(alice.bare)).toBe(false);
  });

  it('honours a pre-approval: the later request is accepted without asking (3.4)', async () => {
    const [a, b] = await users(2);
    const alice = await online(a);
    const bob = await online(b);
    bob.send(`<presence to='${alice.bare}' type='subscribed'/>`);
    const approved = await bob.push(alice.bare, 'none');
    expect(get_attr_s('approved', approved[2])).toBe('true');
    alice.send(`<presence to='${bob.bare}' type='subscribe'/>`);
    await alice.presence(bob.bare, 'subscribed');
    await alice.push(bob.bare, 'to');
    await bob.push(alice.bare, 'from');
    expect(await bob.nothing((e) => e[1] === 'presence' && get_attr_s('type', e[2]) === 'subscribe')).toBe(
      true,
    );
  });

  it('cancels: unsubscribe stops the presence and leaves from/to on each side', async () => {
    const [a, b] = await users(2);
    const alice = await online(a);
    const bob = await online(b);
    await subscribeBoth(alice, bob);
    alice.send(`<presence to='${bob.bare}' type='unsubscribe'/>`);
    await alice.push(bob.bare, 'from');
    await bob.push(alice.bare, 'to');
    await alice.presence(bob.jid, 'unavailable'); // 3.3.3: alice no longer sees bob
    expect((await bob.roster()).get(alice.bare)?.subscription).toBe('to');
  });

  it('answers a subscription request to an account that does not exist with unsubscribed', async () => {
    const [a] = await users(1);
    const alice = await online(a);
    alice.send(`<presence to='ghost@localhost' type='subscribe'/>`);
    await alice.presence('ghost@localhost', 'unsubscribed');
  });

  it('removing a contact cancels both subscriptions', async () => {
    const [a, b] = await users(2);
    const alice = await online(a);
    const bob = await online(b);
    await subscribeBoth(alice, bob);
    await alice.iq(
      'set',
      `<query xmlns='jabber:iq:roster'><item jid='${bob.bare}' subscription='remove'/></query>`,
    );
    await alice.push(bob.bare, 'remove');
    await bob.push(alice.bare, 'none');
    expect((await bob.roster()).get(alice.bare)?.subscription).toBe('none');
  });
});

describe('order (RFC 6120 10.1)', () => {
  it("keeps a client's stanzas in order while one waits on the roster storage", async () => {
    const [a, b] = await users(2);
    const alice = await online(a);
    const bob = await online(b);
    // The subscription waits on mod_roster's storage; the messages after it must not overtake it.
    alice.send(
      `<presence to='${bob.bare}' type='subscribe'/>` +
        [1, 2, 3].map((i) => `<message to='${bob.jid}' type='chat'><body>${i}</body></message>`).join(''),
    );
    await bob.expect((e) => e[1] === 'message' && childText(e, 'body') === '3', 'the last message');
    const seen = bob.raw.elements
      .filter((e) => get_attr_s('from', e[2]).startsWith(alice.bare) && e[1] !== 'iq')
      .map((e) => (e[1] === 'message' ? childText(e, 'body') : get_attr_s('type', e[2])));
    expect(seen).toEqual(['subscribe', '1', '2', '3']);
  });
});

describe('presence broadcast (RFC 6121 4)', () => {
  it("delivers a contact's presence on login and its unavailable on logout", async () => {
    const [a, b] = await users(2);
    const alice = await online(a);
    const bob = await online(b);
    await subscribeBoth(alice, bob);
    await bob.logout();
    await alice.presence(bob.jid, 'unavailable');
    const again = await online(b, 'r2');
    await alice.presence(again.jid); // the broadcast of bob's initial presence
    await again.presence(alice.jid); // the answer to bob's probe
    alice.send(`<presence><show>away</show><status>lunch</status></presence>`);
    const update = await again.presence(alice.jid);
    expect(childText(update, 'show')).toBe('away');
  });

  it('sends unavailable for a connection that dies without closing its stream', async () => {
    const [a, b] = await users(2);
    const alice = await online(a);
    const bob = await online(b);
    await subscribeBoth(alice, bob);
    bob.kill();
    await alice.presence(bob.jid, 'unavailable');
  });

  it('sends presence to the other resources of the user and to directed-presence targets', async () => {
    const [a, b] = await users(2);
    const phone = await online(a, 'phone');
    const laptop = await online(a, 'laptop');
    await phone.presence(laptop.jid); // the new resource's presence reaches the older one
    const bob = await online(b);
    // Directed presence to a non-contact: bob sees it, and later sees the unavailable too (4.6).
    phone.send(`<presence to='${bob.jid}'><status>direct</status></presence>`);
    await bob.presence(phone.jid);
    phone.kill();
    await bob.presence(phone.jid, 'unavailable');
    await laptop.presence(phone.jid, 'unavailable');
  });

  it('does not show presence to someone who is not subscribed', async () => {
    const [a, b] = await users(2);
    const alice = await online(a);
    const bob = await online(b);
    alice.send(`<presence><status>hidden</status></presence>`);
    expect(
      await bob.nothing((e) => e[1] === 'presence' && get_attr_s('from', e[2]).startsWith(alice.bare)),
    ).toBe(true);
    // A probe from a non-subscriber is not answered either.
    bob.send(`<presence to='${alice.bare}' type='probe'/>`);
    expect(
      await bob.nothing((e) => e[1] === 'presence' && get_attr_s('from', e[2]).startsWith(alice.bare)),
    ).toBe(true);
  });
});

describe('with @xmpp/client', () => {
  it('two clients subscribe to each other and see each other online', async () => {
    const [a, b] = await users(2);
    const connect = async (user: string) => {
      const c = client({
        service: `xmpp://127.0.0.1:${t.port}`,
        domain: 'localhost',
        username: user,
        password: 'secret',
        resource: 'xmppjs',
      });
      c.on('error', () => {});
      const stanzas: Element[] = [];
      c.on('stanza', (s) => {
        stanzas.push(s);
        // RFC 6121 2.1.6: acknowledge roster pushes.
        if (s.is('iq') && s.attrs.type === 'set') void c.send(xml('iq', { type: 'result', id: s.attrs.id }));
      });
      await c.start();
      await c.iqCaller.get(xml('query', 'jabber:iq:roster'));
      await c.send(xml('presence'));
      return { c, stanzas };
    };
    const until = async (list: Element[], test: (s: Element) => boolean, what: string) => {
      for (let i = 0; i < 100; i++) {
        const found = list.find(test);
        if (found !== undefined) return found;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`timed out waiting for ${what}`);
    };
    const alice = await connect(a);
    const bob = await connect(b);
    try {
      await alice.c.send(xml('presence', { to: `${b}@localhost`, type: 'subscribe' }));
      await until(bob.stanzas, (s) => s.is('presence') && s.attrs.type === 'subscribe', 'the request');
      await bob.c.send(xml('presence', { to: `${a}@localhost`, type: 'subscribed' }));
      await bob.c.send(xml('presence', { to: `${a}@localhost`, type: 'subscribe' }));
      await until(alice.stanzas, (s) => s.is('presence') && s.attrs.type === 'subscribe', 'the request back');
      await alice.c.send(xml('presence', { to: `${b}@localhost`, type: 'subscribed' }));
      await until(
        alice.stanzas,
        (s) => s.is('presence') && s.attrs.from === `${b}@localhost/xmppjs` && s.attrs.type === undefined,
        "bob's presence",
      );
      await until(
        bob.stanzas,
        (s) => s.is('presence') && s.attrs.from === `${a}@localhost/xmppjs` && s.attrs.type === undefined,
        "alice's presence",
      );
      const roster = await alice.c.iqCaller.get(xml('query', 'jabber:iq:roster'));
      const item = roster.getChild('item');
      expect(item?.attrs).toMatchObject({ jid: `${b}@localhost`, subscription: 'both' });
    } finally {
      await alice.c.stop();
      await bob.c.stop();
    }
  });
});
