import { error_condition } from '@tsjabberd/router';
import { element_to_string, get_attr_s, get_subtag, type XmlElement } from '@tsjabberd/xml-stanza';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.stop());

const q = (inner: string) => `<query xmlns='jabber:iq:private'>${inner}</query>`;

/** The children of the result's `<query/>`, as XML text. */
function stored(reply: XmlElement): string[] {
  expect(get_attr_s('type', reply[2]), element_to_string(reply)).toBe('result');
  const query = get_subtag(reply, 'query');
  if (query === false) throw new Error(`no <query/> in ${element_to_string(reply)}`);
  expect(get_attr_s('xmlns', query[2])).toBe('jabber:iq:private');
  return query[3].filter((c): c is XmlElement => c[0] === 'xmlelement').map((c) => element_to_string(c));
}

const EXODUS = "<exodus xmlns='exodus:prefs'><defaultnick>Hamlet &amp; Sons</defaultnick></exodus>";
const BOOKMARKS =
  "<storage xmlns='storage:bookmarks'><conference jid='council@conference.localhost' autojoin='true' name='Council'><nick>alice</nick></conference></storage>";

describe('mod_private', () => {
  it('stores an element and gives it back, in a later session too', async () => {
    const alice = await t.login('alice', 'wonderland', 'private-1');
    const set = await alice.iq("type='set'", q(EXODUS));
    expect(get_attr_s('type', set[2])).toBe('result');
    expect(set[3]).toEqual([]);
    alice.close();

    const again = await t.login('alice', 'wonderland', 'private-2');
    expect(stored(await again.iq("type='get'", q("<exodus xmlns='exodus:prefs'/>")))).toEqual([EXODUS]);
    // Addressed to the own bare JID, as XEP-0049's examples may be.
    expect(
      stored(await again.iq("type='get' to='alice@localhost'", q("<exodus xmlns='exodus:prefs'/>"))),
    ).toEqual([EXODUS]);
  });

  it('keeps two namespaces apart, stored in one set, and replaces one without touching the other', async () => {
    const alice = await t.login('alice', 'wonderland', 'private-two');
    const set = await alice.iq(
      "type='set'",
      q(`${BOOKMARKS}<prefs xmlns='urn:example:prefs' theme='dark'/>`),
    );
    expect(get_attr_s('type', set[2])).toBe('result');
    expect(stored(await alice.iq("type='get'", q("<storage xmlns='storage:bookmarks'/>")))).toEqual([
      BOOKMARKS,
    ]);
    expect(stored(await alice.iq("type='get'", q("<prefs xmlns='urn:example:prefs'/>")))).toEqual([
      "<prefs xmlns='urn:example:prefs' theme='dark'/>",
    ]);

    await alice.iq("type='set'", q("<prefs xmlns='urn:example:prefs' theme='light'/>"));
    expect(
      stored(
        await alice.iq(
          "type='get'",
          q("<storage xmlns='storage:bookmarks'/><prefs xmlns='urn:example:prefs'/>"),
        ),
      ),
    ).toEqual([BOOKMARKS, "<prefs xmlns='urn:example:prefs' theme='light'/>"]);
  });

  it('answers the element as asked when nothing is stored in its namespace', async () => {
    const bob = await t.login('bob', 'builder', 'private-empty');
    expect(stored(await bob.iq("type='get'", q("<storage xmlns='storage:rosternotes'/>")))).toEqual([
      "<storage xmlns='storage:rosternotes'/>",
    ]);
  });

  it('keeps a prefix declared on the query with the element it names', async () => {
    const bob = await t.login('bob', 'builder', 'private-prefix');
    const set = await bob.iq(
      "type='set'",
      "<query xmlns='jabber:iq:private' xmlns:g='urn:example:game'><g:score level='3'>42</g:score></query>",
    );
    expect(get_attr_s('type', set[2])).toBe('result');
    expect(stored(await bob.iq("type='get'", q("<score xmlns='urn:example:game'/>")))).toEqual([
      "<g:score level='3' xmlns:g='urn:example:game'>42</g:score>",
    ]);
  });

  it("forbids another user's storage, for get and for set", async () => {
    const bob = await t.login('bob', 'builder', 'private-snoop');
    const get = await bob.iq("type='get' to='alice@localhost'", q("<exodus xmlns='exodus:prefs'/>"));
    expect(get_attr_s('type', get[2])).toBe('error');
    expect(error_condition(get)).toBe('forbidden');
    const set = await bob.iq(
      "type='set' to='alice@localhost'",
      q("<exodus xmlns='exodus:prefs'><defaultnick>Macbeth</defaultnick></exodus>"),
    );
    expect(error_condition(set)).toBe('forbidden');
    expect(
      t.log.lines.some((l) =>
        l.includes('bob@localhost/private-snoop may not set the private storage of alice@localhost'),
      ),
    ).toBe(true);

    const alice = await t.login('alice', 'wonderland', 'private-check');
    expect(stored(await alice.iq("type='get'", q("<exodus xmlns='exodus:prefs'/>")))).toEqual([EXODUS]);
  });

  it('refuses jabber: namespaces and elements without a namespace of their own (not-acceptable)', async () => {
    const alice = await t.login('alice', 'wonderland', 'private-reserved');
    for (const [type, inner] of [
      ['set', "<query xmlns='jabber:iq:roster'><item jid='x@localhost'/></query>"],
      ['get', "<query xmlns='jabber:iq:roster'/>"],
      ['set', '<prefs><a>1</a></prefs>'],
      // One bad element refuses the whole set: the good one is not stored either.
      ['set', "<good xmlns='urn:example:good'>kept?</good><x xmlns='jabber:x:data'/>"],
    ]) {
      const reply = await alice.iq(`type='${type}'`, q(inner));
      expect(get_attr_s('type', reply[2]), inner).toBe('error');
      expect(error_condition(reply), inner).toBe('not-acceptable');
    }
    expect(stored(await alice.iq("type='get'", q("<good xmlns='urn:example:good'/>")))).toEqual([
      "<good xmlns='urn:example:good'/>",
    ]);
    expect(t.log.lines.some((l) => l.includes('is in the reserved namespace jabber:iq:roster'))).toBe(true);
  });

  it('answers an empty query: get bad-request ("Bad Format"), set not-acceptable', async () => {
    const alice = await t.login('alice', 'wonderland', 'private-nothing');
    expect(error_condition(await alice.iq("type='get'", q('')))).toBe('bad-request');
    expect(error_condition(await alice.iq("type='set'", q('')))).toBe('not-acceptable');
  });
});
