import { error_condition } from '@tsjabberd/router';
import {
  element_to_string,
  get_attr_s,
  get_path_s,
  get_subtag,
  type XmlElement,
} from '@tsjabberd/xml-stanza';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { vcard_from_yaml } from '../../packages/server/src/modules/mod_vcard.js';
import { startTestServer, type TestServer } from './helpers.js';
import { RawClient } from './raw-client.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.stop());

function vcardOf(reply: XmlElement): XmlElement {
  expect(get_attr_s('type', reply[2])).toBe('result');
  const vcard = get_subtag(reply, 'vCard');
  if (vcard === false) throw new Error(`no <vCard/> in ${element_to_string(reply)}`);
  expect(get_attr_s('xmlns', vcard[2])).toBe('vcard-temp');
  return vcard;
}

const ALICE_VCARD =
  "<vCard xmlns='vcard-temp'><FN>Alice Liddell</FN><NICKNAME>al &amp; co &lt;3 ☂</NICKNAME>" +
  '<PHOTO><TYPE>image/png</TYPE><BINVAL>iVBORw0KGgo=</BINVAL></PHOTO></vCard>';

describe('mod_vcard: a user vCard', () => {
  it('is stored by its owner and read back by the owner and by another user', async () => {
    const alice = await t.login('alice', 'wonderland', 'vcard-set');
    const set = await alice.iq("type='set'", ALICE_VCARD);
    expect(get_attr_s('type', set[2])).toBe('result');

    // Without `to`: the client's own bare JID.
    const own = vcardOf(await alice.iq("type='get'", "<vCard xmlns='vcard-temp'/>"));
    expect(get_path_s(own, [['elem', 'FN'], 'cdata'])).toBe('Alice Liddell');
    expect(get_path_s(own, [['elem', 'NICKNAME'], 'cdata'])).toBe('al & co <3 ☂');
    expect(get_path_s(own, [['elem', 'PHOTO'], ['elem', 'BINVAL'], 'cdata'])).toBe('iVBORw0KGgo=');

    const bob = await t.login('bob', 'builder', 'vcard-get');
    const reply = await bob.iq("type='get' to='alice@localhost'", "<vCard xmlns='vcard-temp'/>");
    expect(get_attr_s('from', reply[2])).toBe('alice@localhost');
    const seen = vcardOf(reply);
    expect(get_path_s(seen, [['elem', 'FN'], 'cdata'])).toBe('Alice Liddell');
    expect(get_path_s(seen, [['elem', 'NICKNAME'], 'cdata'])).toBe('al & co <3 ☂');
  });

  it('is replaced by a later set, also when addressed to the own bare JID', async () => {
    const alice = await t.login('alice', 'wonderland', 'vcard-replace');
    const set = await alice.iq(
      "type='set' to='alice@localhost'",
      "<vCard xmlns='vcard-temp'><FN>Alice Liddell</FN><NICKNAME>alice</NICKNAME></vCard>",
    );
    expect(get_attr_s('type', set[2])).toBe('result');
    const own = vcardOf(await alice.iq("type='get'", "<vCard xmlns='vcard-temp'/>"));
    expect(get_path_s(own, [['elem', 'NICKNAME'], 'cdata'])).toBe('alice');
    expect(get_subtag(own, 'PHOTO')).toBe(false);
  });

  it('cannot be set by another user (forbidden), and stays as it was', async () => {
    const bob = await t.login('bob', 'builder', 'vcard-forge');
    const reply = await bob.iq(
      "type='set' to='alice@localhost'",
      "<vCard xmlns='vcard-temp'><FN>Bob in disguise</FN></vCard>",
    );
    expect(get_attr_s('type', reply[2])).toBe('error');
    expect(error_condition(reply)).toBe('forbidden');
    const after = vcardOf(await bob.iq("type='get' to='alice@localhost'", "<vCard xmlns='vcard-temp'/>"));
    expect(get_path_s(after, [['elem', 'FN'], 'cdata'])).toBe('Alice Liddell');
    expect(t.log.lines.some((l) => l.includes('bob@localhost/vcard-forge may not set the vCard'))).toBe(true);
  });

  it('is an empty <vCard/> for a user who never set one', async () => {
    await t.server.auth.try_register('dora', 'localhost', 'explorer');
    const alice = await t.login('alice', 'wonderland', 'vcard-empty');
    const vcard = vcardOf(await alice.iq("type='get' to='dora@localhost'", "<vCard xmlns='vcard-temp'/>"));
    expect(vcard[3]).toEqual([]);
  });

  it('is service-unavailable for an account that does not exist', async () => {
    const alice = await t.login('alice', 'wonderland', 'vcard-nobody');
    const reply = await alice.iq("type='get' to='nobody@localhost'", "<vCard xmlns='vcard-temp'/>");
    expect(error_condition(reply)).toBe('service-unavailable');
  });

  it('must be a <vCard/> element', async () => {
    const alice = await t.login('alice', 'wonderland', 'vcard-bad');
    const reply = await alice.iq("type='set'", "<card xmlns='vcard-temp'><FN>x</FN></card>");
    expect(error_condition(reply)).toBe('bad-request');
  });
});

describe("mod_vcard: the server's vCard", () => {
  it('names tsjabberd, cannot be set, and disco#info shows vcard-temp', async () => {
    const bob = await t.login('bob', 'builder', 'vcard-server');
    const vcard = vcardOf(await bob.iq("type='get' to='localhost'", "<vCard xmlns='vcard-temp'/>"));
    expect(get_path_s(vcard, [['elem', 'FN'], 'cdata'])).toBe('tsjabberd');
    expect(get_path_s(vcard, [['elem', 'URL'], 'cdata'])).toMatch(/^https:\/\//);
    expect(get_path_s(vcard, [['elem', 'DESC'], 'cdata'])).toContain('XMPP server');

    const set = await bob.iq("type='set' to='localhost'", "<vCard xmlns='vcard-temp'><FN>mine</FN></vCard>");
    expect(error_condition(set)).toBe('not-allowed');

    const info = await bob.iq(
      "type='get' to='localhost'",
      "<query xmlns='http://jabber.org/protocol/disco#info'/>",
    );
    const features = (get_subtag(info, 'query') as XmlElement)[3].map((f) =>
      get_attr_s('var', (f as XmlElement)[2]),
    );
    expect(features).toContain('vcard-temp');
  });

  it('is the one the `vcard` option gives, in ejabberd YAML form', async () => {
    const other = await startTestServer((c) => {
      c.modules = {
        ...c.modules,
        mod_vcard: {
          vcard: {
            fn: 'Example Chat',
            url: 'https://chat.example',
            adr: [{ work: true, locality: 'Paris' }],
          },
        },
      };
    });
    try {
      const c = await RawClient.connect(other.port);
      await c.login('alice', 'wonderland', 'vcard-option');
      const vcard = vcardOf(await c.iq("type='get' to='localhost'", "<vCard xmlns='vcard-temp'/>"));
      expect(element_to_string(vcard)).toBe(
        "<vCard xmlns='vcard-temp'><FN>Example Chat</FN><URL>https://chat.example</URL>" +
          '<ADR><WORK/><LOCALITY>Paris</LOCALITY></ADR></vCard>',
      );
      c.close();
    } finally {
      await other.stop();
    }
  });

  it('refuses a `vcard` option that is not a map of fields', () => {
    expect(() => vcard_from_yaml('tsjabberd')).toThrow(/expected a map of vCard fields/);
    expect(() => vcard_from_yaml({ 'bad name': 'x' })).toThrow(/not a vCard field name/);
    expect(() => vcard_from_yaml({ fn: null })).toThrow(/vcard\.fn: expected text/);
  });
});
