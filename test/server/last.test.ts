import { error_condition } from '@tsjabberd/router';
import {
  element_to_string,
  get_attr_s,
  get_path_s,
  get_subtag,
  get_tag_cdata,
  type XmlElement,
} from '@tsjabberd/xml-stanza';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Subscription } from '../../packages/server/src/storage/storage.js';
import { startTestServer, type TestServer } from './helpers.js';
import type { RawClient } from './raw-client.js';

let t: TestServer;

/**
 * `user`'s roster gets `contact` with `subscription`, written to storage as if the handshake had happened
 * (mod_roster reads it; the handshake itself is tested in roster.test.ts).
 */
async function rosterItem(user: string, contact: string, subscription: Subscription): Promise<void> {
  await t.server.storage.roster.put(user, 'localhost', {
    jid: contact,
    name: '',
    subscription,
    ask: 'none',
    groups: [],
    askMessage: '',
    approved: false,
  });
}

beforeAll(async () => {
  t = await startTestServer();
  for (const [user, password] of [
    ['carol', 'singer'],
    ['dave', 'diver'],
    ['erin', 'engineer'],
    ['frank', 'farmer'],
  ]) {
    await t.server.auth.try_register(user, 'localhost', password);
  }
  // bob sees alice's presence; erin only has alice in her own view (alice's roster: 'to'); carol nothing.
  await rosterItem('alice', 'bob@localhost', 'from');
  await rosterItem('alice', 'erin@localhost', 'to');
  // dave shares presence with bob both ways, but dave never logs in.
  await rosterItem('dave', 'bob@localhost', 'both');
});
afterAll(() => t.stop());

const LAST = "<query xmlns='jabber:iq:last'/>";

/** `[seconds, text]` of a jabber:iq:last result. */
function lastOf(reply: XmlElement): [number, string] {
  expect(get_attr_s('type', reply[2]), element_to_string(reply)).toBe('result');
  const query = get_subtag(reply, 'query');
  if (query === false) throw new Error(`no <query/> in ${element_to_string(reply)}`);
  expect(get_attr_s('xmlns', query[2])).toBe('jabber:iq:last');
  const seconds = get_attr_s('seconds', query[2]);
  expect(seconds).toMatch(/^\d+$/);
  return [Number(seconds), get_tag_cdata(query)];
}

async function waitFor(test: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const available = (user: string) =>
  t.server.node.ejabberd_sm.get_user_present_resources(user, 'localhost').length > 0;

describe('mod_last', () => {
  /** alice's session, available in one test and logging out in the next. */
  let alice: RawClient;

  it("answers the server's uptime, and refuses a set", async () => {
    const bob = await t.login('bob', 'builder', 'last-uptime');
    const [seconds, text] = lastOf(await bob.iq("type='get' to='localhost'", LAST));
    expect(seconds).toBeGreaterThanOrEqual(0);
    expect(seconds).toBeLessThan(600);
    expect(text).toBe('');
    expect(error_condition(await bob.iq("type='set' to='localhost'", LAST))).toBe('not-allowed');
  });

  it('answers 0 seconds for a user with an available resource, to a subscriber and to the user', async () => {
    alice = await t.login('alice', 'wonderland', 'last-online');
    alice.write('<presence/>');
    await waitFor(() => available('alice'), 'alice to be available');
    const bob = await t.login('bob', 'builder', 'last-ask-online');
    const reply = await bob.iq("type='get' to='alice@localhost'", LAST);
    expect(get_attr_s('from', reply[2])).toBe('alice@localhost');
    expect(lastOf(reply)).toEqual([0, '']);
    expect(lastOf(await alice.iq("type='get'", LAST))).toEqual([0, '']);
  });

  it('answers the seconds since an offline contact logged out, with its status text', async () => {
    alice.write("<presence type='unavailable'><status>Heading Home</status></presence>");
    alice.close();
    await waitFor(() => !available('alice'), 'alice to log out');
    await waitFor(
      () => t.log.lines.some((l) => l.includes('recorded the logout of alice@localhost/last-online')),
      'the logout to be recorded',
    );
    const bob = await t.login('bob', 'builder', 'last-ask-offline');
    const [seconds, status] = lastOf(await bob.iq("type='get' to='alice@localhost'", LAST));
    expect(seconds).toBeGreaterThanOrEqual(0);
    expect(seconds).toBeLessThan(10);
    expect(status).toBe('Heading Home');
  });

  it('answers a subscribed contact probe for an offline user with the last status and a delay', async () => {
    const bob = await t.login('bob', 'builder', 'last-probe');
    const mark = bob.elements.length;
    bob.write("<presence type='probe' to='alice@localhost'/>");
    const presence = await bob.next('presence', mark);
    expect(get_attr_s('from', presence[2])).toBe('alice@localhost');
    expect(get_attr_s('type', presence[2])).toBe('unavailable');
    expect(get_path_s(presence, [['elem', 'status'], 'cdata'])).toBe('Heading Home');
    const delay = get_subtag(presence, 'delay');
    if (delay === false) throw new Error(`no <delay/> in ${element_to_string(presence)}`);
    expect(get_attr_s('xmlns', delay[2])).toBe('urn:xmpp:delay');
    const stamp = get_attr_s('stamp', delay[2]);
    expect(stamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(Date.now() - Date.parse(stamp)).toBeLessThan(60_000);
  });

  it('tells nothing to a probe from a contact without a subscription', async () => {
    const carol = await t.login('carol', 'singer', 'last-probe-denied');
    const mark = carol.elements.length;
    carol.write("<presence type='probe' to='alice@localhost'/>");
    // A ping after the probe: once it is answered, an answer to the probe would have come before it.
    const pong = await carol.iq("type='get' to='localhost'", "<ping xmlns='urn:xmpp:ping'/>");
    expect(get_attr_s('type', pong[2])).toBe('result');
    await new Promise((r) => setTimeout(r, 100));
    expect(carol.elements.slice(mark).filter((e) => e[1] === 'presence')).toEqual([]);
  });

  it('is forbidden to a requester the user does not share presence with', async () => {
    for (const [user, password] of [
      ['carol', 'singer'],
      ['erin', 'engineer'],
    ]) {
      const c = await t.login(user, password, 'last-forbidden');
      const reply = await c.iq("type='get' to='alice@localhost'", LAST);
      expect(get_attr_s('type', reply[2])).toBe('error');
      expect(error_condition(reply), user).toBe('forbidden');
    }
    expect(
      t.log.lines.some((l) =>
        l.includes('carol@localhost/last-forbidden asked the last activity of alice@localhost'),
      ),
    ).toBe(true);
  });

  it('answers the seconds since registration with "Registered but didn\'t login" for a user who never logged out', async () => {
    // dave was registered in beforeAll and never logged in: the register_user hook recorded it.
    expect(await t.server.storage.last.get('dave', 'localhost')).toMatchObject({
      status: "Registered but didn't login",
    });
    const bob = await t.login('bob', 'builder', 'last-never');
    const reply = await bob.iq("type='get' to='dave@localhost'", LAST);
    expect(get_attr_s('from', reply[2])).toBe('dave@localhost');
    const [seconds, status] = lastOf(reply);
    expect(seconds).toBeGreaterThanOrEqual(0);
    expect(seconds).toBeLessThan(600);
    expect(status).toBe("Registered but didn't login");
  });

  it('records a registration made after start as its last activity, until the first logout', async () => {
    const before = Math.floor(Date.now() / 1000);
    expect(await t.server.auth.try_register('gina', 'localhost', 'gardener')).toBe('ok');
    const last = await t.server.storage.last.get('gina', 'localhost');
    expect(last).toEqual({ seconds: expect.any(Number), status: "Registered but didn't login" });
    expect(last?.seconds).toBeGreaterThanOrEqual(before);
    expect(last?.seconds).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
    // A failed registration (the account exists) records nothing new.
    await t.server.storage.last.set('gina', 'localhost', { seconds: 1_700_000_000, status: 'kept' });
    expect(await t.server.auth.try_register('gina', 'localhost', 'other')).toBe('exists');
    expect(await t.server.storage.last.get('gina', 'localhost')).toEqual({
      seconds: 1_700_000_000,
      status: 'kept',
    });
  });

  it('records a connection that drops without unavailable presence, and counts only available resources', async () => {
    const first = await t.login('frank', 'farmer', 'last-drop');
    first.write('<presence/>');
    await waitFor(() => available('frank'), 'frank to be available');
    first.close();
    await waitFor(() => !available('frank'), 'frank to be gone');
    // A session that never sent presence is not available: frank is still "offline".
    const second = await t.login('frank', 'farmer', 'last-bound-only');
    await waitFor(
      () => t.log.lines.some((l) => l.includes('recorded the logout of frank@localhost/last-drop')),
      'the dropped connection to be recorded',
    );
    const [seconds] = lastOf(await second.iq("type='get'", LAST));
    expect(seconds).toBeGreaterThanOrEqual(0);
    expect(seconds).toBeLessThan(10);
  });
});
