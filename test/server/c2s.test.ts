import { client, xml } from '@xmpp/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers.js';
import { RawClient } from './raw-client.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.stop());

/** @xmpp/client logged in (STARTTLS, then its preferred mechanism, SCRAM-SHA-1). */
async function xmppClient(username: string, password: string, resource: string) {
  const c = client({
    service: `xmpp://127.0.0.1:${t.port}`,
    domain: 'localhost',
    username,
    password,
    resource,
  });
  c.on('error', () => {});
  await c.start();
  return c;
}

describe('login with @xmpp/client', () => {
  it('negotiates STARTTLS and SCRAM-SHA-1, binds the resource', async () => {
    const c = await xmppClient('alice', 'wonderland', 'phone');
    expect(c.jid?.toString()).toBe('alice@localhost/phone');
    expect(
      t.log.lines.some((l) => l.includes('alice@localhost authenticated with SCRAM-SHA-1 over TLS')),
    ).toBe(true);
    await c.stop();
  });

  it('fails with a wrong password and with an unknown user alike', async () => {
    for (const [user, password] of [
      ['alice', 'wrong'],
      ['nobody', 'wonderland'],
    ]) {
      const c = client({
        service: `xmpp://127.0.0.1:${t.port}`,
        domain: 'localhost',
        username: user,
        password,
      });
      c.on('error', () => {});
      await expect(c.start()).rejects.toThrow(/not-authorized/);
      await c.stop().catch(() => {});
    }
  });

  it('lets two users exchange messages', async () => {
    const alice = await xmppClient('alice', 'wonderland', 'a1');
    const bob = await xmppClient('bob', 'builder', 'b1');
    const got = new Promise<string>((resolve) =>
      bob.on('stanza', (s) => {
        if (s.is('message')) resolve(`${s.attrs.from} ${s.getChildText('body')}`);
      }),
    );
    await alice.send(xml('message', { to: 'bob@localhost/b1', type: 'chat' }, xml('body', {}, 'hello bob')));
    expect(await got).toBe('alice@localhost/a1 hello bob');
    await alice.stop();
    await bob.stop();
  });

  it('answers disco#info, version and ping on the server JID', async () => {
    const c = await xmppClient('alice', 'wonderland', 'disco');
    const info = await c.iqCaller.get(xml('query', 'http://jabber.org/protocol/disco#info'), 'localhost');
    const features = info.getChildren('feature').map((f) => f.attrs.var);
    expect(features).toEqual(
      expect.arrayContaining([
        'jabber:iq:version',
        'urn:xmpp:ping',
        'http://jabber.org/protocol/disco#items',
      ]),
    );
    expect(info.getChild('identity')?.attrs).toMatchObject({ category: 'server', type: 'im' });
    const version = await c.iqCaller.get(xml('query', 'jabber:iq:version'), 'localhost');
    expect(version.getChildText('name')).toBe('tsjabberd');
    const pong = await c.iqCaller.request(
      xml('iq', { type: 'get', to: 'localhost' }, xml('ping', 'urn:xmpp:ping')),
    );
    expect(pong.attrs.type).toBe('result');
    await c.stop();
  });
});

describe('login with a raw client', () => {
  it('logs in with SCRAM-SHA-256 after STARTTLS', async () => {
    const c = await RawClient.connect(t.port);
    expect(await c.login('alice', 'wonderland', 'sha256', 'SCRAM-SHA-256')).toBe('alice@localhost/sha256');
    c.close();
  });

  it('logs in with SCRAM-SHA-1 and with PLAIN over TLS, and over direct TLS', async () => {
    const a = await RawClient.connect(t.port);
    expect(await a.login('alice', 'wonderland', 's1', 'SCRAM-SHA-1')).toBe('alice@localhost/s1');
    const b = await RawClient.connect(t.port);
    expect(await b.login('bob', 'builder', 'p', 'PLAIN')).toBe('bob@localhost/p');
    const d = await RawClient.connect(t.tlsPort, { tls: true });
    expect(await d.login('bob', 'builder', 'direct', 'SCRAM-SHA-256', false)).toBe('bob@localhost/direct');
    for (const c of [a, b, d]) c.close();
  });

  it('does not offer PLAIN before TLS, and refuses it', async () => {
    const c = await RawClient.connect(t.port);
    c.open();
    const features = await c.next('stream:features');
    const mechanisms = (
      features[3].find((f) => f[1] === 'mechanisms') as import('@tsjabberd/xml-stanza').XmlElement
    )[3].map((m) => ((m as import('@tsjabberd/xml-stanza').XmlElement)[3][0] as ['xmlcdata', string])[1]);
    expect(mechanisms).not.toContain('PLAIN');
    expect(mechanisms).toEqual(expect.arrayContaining(['SCRAM-SHA-256', 'SCRAM-SHA-1']));
    expect(await c.plain('alice', 'wonderland')).toBe('invalid-mechanism');
    c.close();
  });

  it('delivers a message to a bare JID to the resource of highest priority', async () => {
    const high = await RawClient.connect(t.port);
    await high.login('bob', 'builder', 'desk');
    high.write('<presence><priority>5</priority></presence>');
    const low = await RawClient.connect(t.port);
    await low.login('bob', 'builder', 'phone');
    low.write('<presence><priority>1</priority></presence>');
    const alice = await RawClient.connect(t.port);
    await alice.login('alice', 'wonderland', 'sender');
    await new Promise((r) => setTimeout(r, 100));
    const highMark = high.elements.length;
    alice.write("<message to='bob@localhost' type='chat' id='m1'><body>to the best one</body></message>");
    const got = await high.next('message', highMark);
    expect(got[2]).toEqual(
      expect.arrayContaining([
        ['from', 'alice@localhost/sender'],
        ['to', 'bob@localhost/desk'],
      ]),
    );
    await new Promise((r) => setTimeout(r, 100));
    expect(low.elements.some((e) => e[1] === 'message')).toBe(false);
    for (const c of [high, low, alice]) c.close();
  });

  it('answers the legacy session IQ and ignores whitespace keepalives', async () => {
    const c = await RawClient.connect(t.port);
    await c.login('alice', 'wonderland', 'legacy');
    let mark = c.elements.length;
    c.write("<iq type='set' id='sess'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>");
    expect((await c.next('iq', mark))[2]).toEqual(
      expect.arrayContaining([
        ['type', 'result'],
        ['id', 'sess'],
      ]),
    );
    c.write(' \n \n ');
    mark = c.elements.length;
    c.write("<iq type='get' id='p1' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>");
    expect((await c.next('iq', mark))[2]).toEqual(
      expect.arrayContaining([
        ['type', 'result'],
        ['id', 'p1'],
      ]),
    );
    expect(c.elements.some((e) => e[1] === 'stream:error')).toBe(false);
    c.close();
  });

  it('replaces a session whose resource is taken: the old stream gets conflict', async () => {
    const first = await RawClient.connect(t.port);
    await first.login('alice', 'wonderland', 'same');
    const second = await RawClient.connect(t.port);
    expect(await second.login('alice', 'wonderland', 'same')).toBe('alice@localhost/same');
    expect(await first.streamError()).toBe('conflict');
    await first.until(() => first.closed, 'the old connection to close');
    second.close();
  });
});

describe('hostile input over a raw socket', () => {
  async function afterLogin(): Promise<RawClient> {
    const c = await RawClient.connect(t.port);
    await c.login('alice', 'wonderland', `h${Math.random().toString(36).slice(2, 8)}`);
    return c;
  }

  for (const [what, input, condition] of [
    ['a DOCTYPE', '<!DOCTYPE foo [<!ENTITY x "y">]>', 'restricted-xml'],
    ['a comment', '<!-- hello -->', 'restricted-xml'],
    ['a processing instruction', "<?php echo 'x'; ?>", 'restricted-xml'],
    ['an entity reference', '<message><body>&x;</body></message>', 'restricted-xml'],
    ['a mismatched tag', '<message></presence>', 'not-well-formed'],
  ] as const) {
    it(`answers ${what} with ${condition} and closes the stream`, async () => {
      const c = await afterLogin();
      c.write(input);
      expect(await c.streamError()).toBe(condition);
      await c.until(() => c.closed, 'the connection to close');
    });
  }

  it('answers an oversized stanza with policy-violation', async () => {
    const c = await afterLogin();
    c.write(`<message to='bob@localhost'><body>${'x'.repeat(300_000)}</body></message>`);
    expect(await c.streamError()).toBe('policy-violation');
  });

  it('answers a wrong to with host-unknown', async () => {
    const c = await RawClient.connect(t.port);
    c.open('example.org');
    expect(await c.streamError()).toBe('host-unknown');
    expect(c.header?.[0]).toBe('stream:stream');
  });

  it('answers the wrong stream namespace with invalid-namespace', async () => {
    const c = await RawClient.connect(t.port);
    c.write(
      "<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>",
    );
    expect(await c.streamError()).toBe('invalid-namespace');
  });

  it('answers a stanza before authentication with not-authorized', async () => {
    const c = await RawClient.connect(t.port);
    c.open();
    await c.next('stream:features');
    c.write("<message to='bob@localhost'><body>spam</body></message>");
    expect(await c.streamError()).toBe('not-authorized');
  });

  it('answers a stanza with a forged from with invalid-from', async () => {
    const c = await afterLogin();
    c.write("<message from='bob@localhost/x' to='alice@localhost'><body>forged</body></message>");
    expect(await c.streamError()).toBe('invalid-from');
  });

  it('closes its side when the client sends </stream:stream>', async () => {
    const c = await afterLogin();
    c.write('</stream:stream>');
    await c.until(() => c.ended, 'the server to close its stream');
  });
});
