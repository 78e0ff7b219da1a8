import { parse } from '@tsjabberd/jid';
import { get_attr_s, type XmlElement } from '@tsjabberd/xml-stanza';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isBlocked } from '../../packages/server/src/modules/mod_blocking.js';
import { startTestServer, type TestServer } from './helpers.js';
import { RawClient } from './raw-client.js';

const NS = 'urn:xmpp:blocking';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer((c) => {
    c.modules = { ...c.modules, mod_blocking: {} };
  });
  for (const user of ['carol', 'dave', 'erin', 'frank', 'gina', 'hank'])
    await t.server.auth.try_register(user, 'localhost', 'pw');
});
afterAll(() => t.stop());

const PASSWORDS: Record<string, string> = { alice: 'wonderland', bob: 'builder' };

/** Logged in, bound, and available (so that messages to the bare JID reach it). */
async function online(user: string, resource: string): Promise<RawClient> {
  const c = await RawClient.connect(t.port);
  await c.login(user, PASSWORDS[user] ?? 'pw', resource);
  c.write('<presence/>');
  await settle();
  return c;
}

function settle(ms = 80): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function children(el: XmlElement): XmlElement[] {
  return el[3].filter((n): n is XmlElement => n[0] === 'xmlelement');
}

function condition(stanza: XmlElement): string {
  const error = children(stanza).find((c) => c[1] === 'error');
  return error === undefined ? '' : (children(error).find((c) => c[1] !== 'text')?.[1] ?? '');
}

function jidsOf(el: XmlElement): string[] {
  return children(el)
    .filter((i) => i[1] === 'item')
    .map((i) => get_attr_s('jid', i[2]));
}

let ids = 0;
/** Sends an IQ (no `to` unless given) and waits for the reply with its id. */
async function iq(c: RawClient, type: 'get' | 'set', payload: string, to = ''): Promise<XmlElement> {
  const id = `b${++ids}`;
  const mark = c.elements.length;
  c.write(`<iq type='${type}' id='${id}'${to === '' ? '' : ` to='${to}'`}>${payload}</iq>`);
  return c.until(
    () =>
      c.elements
        .slice(mark)
        .find((e) => e[1] === 'iq' && get_attr_s('id', e[2]) === id && get_attr_s('type', e[2]) !== 'set'),
    `the answer to ${id}`,
  );
}

async function blocklist(c: RawClient): Promise<string[]> {
  const reply = await iq(c, 'get', `<blocklist xmlns='${NS}'/>`);
  expect(get_attr_s('type', reply[2])).toBe('result');
  const list = children(reply)[0];
  expect(list[1]).toBe('blocklist');
  return jidsOf(list);
}

function items(jids: string[]): string {
  return jids.map((j) => `<item jid='${j}'/>`).join('');
}

async function block(c: RawClient, jids: string[]): Promise<XmlElement> {
  return iq(c, 'set', `<block xmlns='${NS}'>${items(jids)}</block>`);
}

async function unblock(c: RawClient, jids: string[]): Promise<XmlElement> {
  return iq(c, 'set', `<unblock xmlns='${NS}'>${items(jids)}</unblock>`);
}

let messages = 0;
/**
 * `from` sends a chat message to `to` (a bare JID); the outcome: 'delivered' when `receiver` got it,
 * else the error condition the sender got back.
 */
async function send(from: RawClient, to: string, receiver: RawClient): Promise<string> {
  const id = `m${++messages}`;
  const body = `hello ${id}`;
  const fromMark = from.elements.length;
  const toMark = receiver.elements.length;
  from.write(`<message to='${to}' type='chat' id='${id}'><body>${body}</body></message>`);
  return from.until(() => {
    if (receiver.elements.slice(toMark).some((e) => e[1] === 'message' && get_attr_s('id', e[2]) === id))
      return 'delivered';
    const error = from.elements
      .slice(fromMark)
      .find(
        (e) => e[1] === 'message' && get_attr_s('id', e[2]) === id && get_attr_s('type', e[2]) === 'error',
      );
    return error === undefined ? undefined : condition(error);
  }, `the fate of message ${id}`);
}

/** The pushes (IQ set with a blocking payload) `c` received after `mark`. */
function pushes(c: RawClient, mark: number): XmlElement[] {
  return c.elements
    .slice(mark)
    .filter(
      (e) =>
        e[1] === 'iq' &&
        get_attr_s('type', e[2]) === 'set' &&
        children(e)[0]?.[2].some(([k, v]) => k === 'xmlns' && v === NS),
    );
}

describe('the block list', () => {
  it('is empty at first, and announced in the server disco#info', async () => {
    const c = await online('carol', 'disco');
    expect(await blocklist(c)).toEqual([]);
    const mark = c.elements.length;
    c.write(
      "<iq type='get' id='d1' to='localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>",
    );
    const info = children(await c.next('iq', mark))[0];
    expect(children(info).map((f) => get_attr_s('var', f[2]))).toContain(NS);
    c.close();
  });

  it('blocks a contact: pushed to every resource, messages refused both ways, others still delivered', async () => {
    const a1 = await online('alice', 'a1');
    const a2 = await online('alice', 'a2');
    const bob = await online('bob', 'b');
    const carol = await online('carol', 'c');
    expect(await send(bob, 'alice@localhost', a1)).toBe('delivered');

    const m1 = a1.elements.length;
    const m2 = a2.elements.length;
    const reply = await block(a1, ['Bob@LOCALHOST']);
    expect(get_attr_s('type', reply[2])).toBe('result');
    for (const [c, mark, resource] of [
      [a1, m1, 'a1'],
      [a2, m2, 'a2'],
    ] as const) {
      await c.until(() => pushes(c, mark).length > 0, 'the block push');
      const [push] = pushes(c, mark);
      expect(get_attr_s('from', push[2])).toBe('alice@localhost');
      expect(get_attr_s('to', push[2])).toBe(`alice@localhost/${resource}`);
      expect(children(push)[0][1]).toBe('block');
      expect(jidsOf(children(push)[0])).toEqual(['bob@localhost']);
    }
    expect(await blocklist(a2)).toEqual(['bob@localhost']);

    // Incoming from the blocked contact: not delivered, the sender gets service-unavailable.
    expect(await send(bob, 'alice@localhost', a1)).toBe('service-unavailable');
    expect(await send(bob, 'alice@localhost/a2', a2)).toBe('service-unavailable');
    // An IQ from the blocked contact too.
    const probe = await iq(bob, 'get', "<ping xmlns='urn:xmpp:ping'/>", 'alice@localhost/a1');
    expect(condition(probe)).toBe('service-unavailable');
    // Another contact is not affected.
    expect(await send(carol, 'alice@localhost', a1)).toBe('delivered');
    // Outgoing to the blocked contact: not-acceptable with <blocked/>.
    const mark = a1.elements.length;
    expect(await send(a1, 'bob@localhost', bob)).toBe('not-acceptable');
    const error = a1.elements
      .slice(mark)
      .find((e) => e[1] === 'message' && get_attr_s('type', e[2]) === 'error') as XmlElement;
    const errorEl = children(error).find((e) => e[1] === 'error') as XmlElement;
    expect(children(errorEl).map((e) => [e[1], get_attr_s('xmlns', e[2])])).toContainEqual([
      'blocked',
      'urn:xmpp:blocking:errors',
    ]);

    // Unblocking restores delivery, and is pushed as well.
    const u1 = a2.elements.length;
    expect(get_attr_s('type', (await unblock(a1, ['bob@localhost']))[2])).toBe('result');
    await a2.until(() => pushes(a2, u1).length > 0, 'the unblock push');
    const [unpush] = pushes(a2, u1);
    expect(children(unpush)[0][1]).toBe('unblock');
    expect(jidsOf(children(unpush)[0])).toEqual(['bob@localhost']);
    expect(await blocklist(a1)).toEqual([]);
    expect(await send(bob, 'alice@localhost', a1)).toBe('delivered');
    expect(await send(a1, 'bob@localhost', bob)).toBe('delivered');
    for (const c of [a1, a2, bob, carol]) c.close();
    await settle();
  });

  it('unblocks everyone with an empty unblock', async () => {
    const dave = await online('dave', 'd');
    const bob = await online('bob', 'b2');
    const carol = await online('carol', 'c2');
    await block(dave, ['bob@localhost', 'carol@localhost']);
    expect(await blocklist(dave)).toEqual(['bob@localhost', 'carol@localhost']);
    expect(await send(bob, 'dave@localhost', dave)).toBe('service-unavailable');
    expect(await send(carol, 'dave@localhost', dave)).toBe('service-unavailable');
    const mark = dave.elements.length;
    expect(get_attr_s('type', (await unblock(dave, []))[2])).toBe('result');
    await dave.until(() => pushes(dave, mark).length > 0, 'the unblock-all push');
    expect(children(pushes(dave, mark)[0])[0]).toEqual(['xmlelement', 'unblock', [['xmlns', NS]], []]);
    expect(await blocklist(dave)).toEqual([]);
    expect(await send(bob, 'dave@localhost', dave)).toBe('delivered');
    expect(await send(carol, 'dave@localhost', dave)).toBe('delivered');
    for (const c of [dave, bob, carol]) c.close();
    await settle();
  });

  it('keeps the list in the storage, across sessions', async () => {
    const erin = await online('erin', 'e1');
    await block(erin, ['bob@localhost', 'example.org']);
    expect(await t.server.storage.blocking.list('erin', 'localhost')).toEqual([
      'bob@localhost',
      'example.org',
    ]);
    erin.close();
    await settle();
    // Written behind the module's back while erin is offline: the next session reads the storage.
    await t.server.storage.blocking.add('erin', 'localhost', ['carol@localhost']);
    const again = await online('erin', 'e2');
    expect(await blocklist(again)).toEqual(['bob@localhost', 'carol@localhost', 'example.org']);
    const carol = await online('carol', 'c3');
    expect(await send(carol, 'erin@localhost', again)).toBe('service-unavailable');
    for (const c of [again, carol]) c.close();
    await settle();
  });

  it('checks the first stanza of a user whose list is not in memory yet', async () => {
    await t.server.storage.blocking.add('frank', 'localhost', ['bob@localhost']);
    const bob = await online('bob', 'b4');
    const frank = await RawClient.connect(t.port);
    await frank.login('frank', 'pw', 'f');
    // frank's very first stanza: the list is read from the storage, then the message is refused.
    expect(await send(frank, 'bob@localhost', bob)).toBe('not-acceptable');
    for (const c of [bob, frank]) c.close();
    await settle();
  });

  it('refuses malformed requests', async () => {
    const c = await online('carol', 'bad');
    expect(condition(await iq(c, 'set', `<block xmlns='${NS}'/>`))).toBe('bad-request');
    expect(condition(await block(c, ['@nope']))).toBe('jid-malformed');
    expect(condition(await iq(c, 'get', `<block xmlns='${NS}'/>`))).toBe('bad-request');
    // Only the owner may read or change a list.
    expect(condition(await iq(c, 'get', `<blocklist xmlns='${NS}'/>`, 'alice@localhost'))).toBe(
      'not-allowed',
    );
    expect(
      condition(await iq(c, 'set', `<block xmlns='${NS}'>${items(['x@y'])}</block>`, 'alice@localhost')),
    ).toBe('not-allowed');
    expect(await t.server.storage.blocking.list('alice', 'localhost')).toEqual([]);
    expect(await blocklist(c)).toEqual([]);
    c.close();
    await settle();
  });

  it('sends unavailable presence to a newly blocked contact that receives the presence', async () => {
    // gina and hank are subscribed to each other (mod_roster answers roster_get_subscription_lists).
    const both = (jid: string) => ({
      jid,
      name: '',
      subscription: 'both' as const,
      ask: 'none' as const,
      groups: [],
      askMessage: '',
      approved: false,
    });
    await t.server.storage.roster.put('gina', 'localhost', both('hank@localhost'));
    await t.server.storage.roster.put('hank', 'localhost', both('gina@localhost'));
    const hank = await online('hank', 'watcher');
    const carol = await online('carol', 'bystander');
    const gina = await online('gina', 'hiding');
    const hankMark = hank.elements.length;
    const carolMark = carol.elements.length;
    await block(gina, ['hank@localhost', 'carol@localhost']);
    const gone = await hank.until(
      () =>
        hank.elements
          .slice(hankMark)
          .find(
            (e) =>
              e[1] === 'presence' &&
              get_attr_s('type', e[2]) === 'unavailable' &&
              get_attr_s('from', e[2]) === 'gina@localhost/hiding',
          ),
      'unavailable presence from gina',
    );
    expect(get_attr_s('to', gone[2])).toBe('hank@localhost/watcher');
    await settle();
    // carol was not receiving gina's presence: she learns nothing.
    expect(carol.elements.slice(carolMark).some((e) => e[1] === 'presence')).toBe(false);
    for (const c of [gina, hank, carol]) c.close();
    await settle();
  });
});

describe('JID matching (XEP-0016 2.1, as ejabberd)', () => {
  const list = new Set(['example.org', 'bad@example.net', 'x@example.com/phone', 'example.edu/bot']);
  const cases: [string, boolean][] = [
    ['example.org', true],
    ['anyone@example.org/res', true],
    ['sub.example.org', false],
    ['bad@example.net', true],
    ['bad@example.net/any', true],
    ['good@example.net', false],
    ['x@example.com/phone', true],
    ['x@example.com/laptop', false],
    ['x@example.com', false],
    ['example.edu/bot', true],
    ['someone@example.edu/bot', true],
    ['someone@example.edu/human', false],
  ];
  for (const [jid, blocked] of cases) {
    it(`${jid} is ${blocked ? '' : 'not '}blocked`, () => {
      expect(isBlocked(list, parse(jid))).toBe(blocked);
    });
  }
});
