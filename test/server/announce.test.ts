import { get_attr_s, get_subtag, get_tag_cdata, type XmlElement } from '@tsjabberd/xml-stanza';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandError, type EjabberdCommands } from '../../packages/server/src/commands/ejabberd_commands.js';
import { commandsFor } from '../../packages/server/src/control.js';
import { startTestServer, type TestServer } from './helpers.js';
import type { RawClient } from './raw-client.js';

let t: TestServer;
let commands: EjabberdCommands;
let alice: RawClient;
let bob: RawClient;
let carol: RawClient;

beforeAll(async () => {
  t = await startTestServer((c) => {
    c.acl.admin = { user: ['alice@localhost'] };
    c.access_rules.announce = [['allow', 'admin']];
    c.modules.mod_announce = { access: 'announce' };
  });
  commands = commandsFor(t.server);
  await t.server.auth.try_register('carol', 'localhost', 'pw');
  alice = await t.login('alice', 'wonderland', 'a');
  bob = await t.login('bob', 'builder', 'b');
  carol = await t.login('carol', 'pw', 'c');
});
afterAll(async () => {
  await t.stop();
});

const bodyOf = (m: XmlElement) => get_tag_cdata(get_subtag(m, 'body') as XmlElement);

/** The first message with body `body` that `c` received after `mark`. */
function announcement(c: RawClient, body: string, mark = 0): Promise<XmlElement> {
  return c.until(
    () =>
      c.elements
        .slice(mark)
        .find((e) => e[1] === 'message' && get_subtag(e, 'body') !== false && bodyOf(e) === body),
    `the announcement "${body}"`,
  );
}

describe('mod_announce', () => {
  it("an admin's message to host/announce/online reaches every online resource, from the host", async () => {
    alice.write(
      "<message to='localhost/announce/online' id='a1'><subject>Maintenance</subject><body>Down at noon</body></message>",
    );
    for (const c of [alice, bob, carol]) {
      const m = await announcement(c, 'Down at noon');
      expect(get_attr_s('from', m[2])).toBe('localhost');
      expect(get_attr_s('type', m[2])).toBe('normal');
      expect(get_tag_cdata(get_subtag(m, 'subject') as XmlElement)).toBe('Maintenance');
    }
    // A second resource of a user gets its own copy.
    const bob2 = await t.login('bob', 'builder', 'b2');
    alice.write(
      "<message to='localhost/announce/all-hosts/online' type='headline'><body>Everywhere</body></message>",
    );
    for (const c of [bob, bob2, carol]) {
      const m = await announcement(c, 'Everywhere');
      expect(get_attr_s('type', m[2])).toBe('headline');
      expect(get_attr_s('to', m[2])).toMatch(/^(bob|carol)@localhost\/(b|b2|c)$/);
    }
    bob2.close();
  });

  it('a sender the access rule does not allow gets forbidden, and nobody receives the message', async () => {
    const markBob = bob.elements.length;
    const markCarol = carol.elements.length;
    bob.write("<message to='localhost/announce/online' id='nope'><body>Not from me</body></message>");
    const error = await bob.until(
      () =>
        bob.elements
          .slice(markBob)
          .find((e) => e[1] === 'message' && get_attr_s('id', e[2]) === 'nope' && bob.typeOf(e) === 'error'),
      'the error',
    );
    expect(get_attr_s('from', error[2])).toBe('localhost/announce/online');
    expect(get_subtag(get_subtag(error, 'error') as XmlElement, 'forbidden')).not.toBe(false);
    // Anything the refused message had caused would have reached carol before this one.
    alice.write("<message to='localhost/announce/online'><body>After the refusal</body></message>");
    await announcement(carol, 'After the refusal', markCarol);
    const seen = carol.elements
      .slice(markCarol)
      .filter((e) => e[1] === 'message')
      .map(bodyOf);
    expect(seen).toEqual(['After the refusal']);
    expect(
      bob.elements
        .slice(markBob)
        .some((e) => e[1] === 'message' && bob.typeOf(e) !== 'error' && bodyOf(e) === 'Not from me'),
    ).toBe(false);
  });

  it('other resources of the server are still bounced with item-not-found', async () => {
    const mark = alice.elements.length;
    alice.write("<message to='localhost/announce/motd' id='m1'><body>x</body></message>");
    const error = await alice.until(
      () => alice.elements.slice(mark).find((e) => e[1] === 'message' && get_attr_s('id', e[2]) === 'm1'),
      'the bounce',
    );
    expect(alice.typeOf(error)).toBe('error');
    expect(get_subtag(get_subtag(error, 'error') as XmlElement, 'item-not-found')).not.toBe(false);
  });
});

describe('the announce command', () => {
  it('sends the message to every online resource of the host', async () => {
    const marks = [alice, bob, carol].map((c) => c.elements.length);
    expect(
      await commands.execute('announce', { host: 'localhost', subject: 'News', body: 'From the console' }),
    ).toBe(true);
    for (const [i, c] of [alice, bob, carol].entries()) {
      const m = await announcement(c, 'From the console', marks[i]);
      expect(get_attr_s('from', m[2])).toBe('localhost');
      expect(get_attr_s('type', m[2])).toBe('normal');
      expect(get_tag_cdata(get_subtag(m, 'subject') as XmlElement)).toBe('News');
    }
  });

  it('refuses an unknown host as invalid', async () => {
    const e = await commands
      .execute('announce', { host: 'nowhere.example', subject: '', body: 'x' })
      .catch((x) => x);
    expect(e).toBeInstanceOf(CommandError);
    expect((e as CommandError).kind).toBe('invalid');
  });
});
