import { JID } from '@xmpp/jid';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as jidlib from '../src/index.js';
import {
  bare,
  equal,
  format,
  isBare,
  Jid,
  JidError,
  type JidPart,
  jid_to_string,
  type LJID,
  MAX_PART_BYTES,
  make,
  nameprep,
  nodeprep,
  parse,
  remove_resource,
  replace_resource,
  resourceprep,
  string_to_jid,
  tolower,
} from '../src/index.js';

/** `parse` throws a JidError for `input` with this part and reason, and `string_to_jid` answers 'error'. */
function expectRejected(input: string, part: JidPart, reason: string): JidError {
  expect(string_to_jid(input)).toBe('error');
  let caught: unknown;
  try {
    parse(input);
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(JidError);
  const err = caught as JidError;
  expect(err.part).toBe(part);
  expect(err.reason).toBe(reason);
  expect(err.jid).toBe(input);
  return err;
}

function mustMake(
  ...args: [LJID] | [server: string] | [user: string, server: string, resource?: string]
): Jid {
  const j = (make as (...a: unknown[]) => Jid | 'error')(...args);
  if (j === 'error') throw new Error(`make(${JSON.stringify(args)}) failed`);
  return j;
}

/** A domainpart of exactly `bytes` ASCII bytes, made of labels of at most 63. */
function domainOf(bytes: number): string {
  const labels: string[] = [];
  let left = bytes;
  while (left > 64) {
    labels.push('a'.repeat(62));
    left -= 63;
  }
  labels.push('b'.repeat(left));
  const d = labels.join('.');
  expect(d.length).toBe(bytes);
  return d;
}

describe('parse and format', () => {
  it('splits a full JID into localpart, domainpart and resourcepart', () => {
    const j = parse('juliet@example.com/balcony');
    expect([j.local, j.domain, j.resource]).toEqual(['juliet', 'example.com', 'balcony']);
    expect([j.user, j.server, j.resource, j.luser, j.lserver, j.lresource]).toEqual([
      'juliet',
      'example.com',
      'balcony',
      'juliet',
      'example.com',
      'balcony',
    ]);
    expect(j.toString()).toBe('juliet@example.com/balcony');
  });

  it('parses bare, domain-only and domain/resource JIDs', () => {
    expect(tolower(parse('juliet@example.com'))).toEqual(['juliet', 'example.com', '']);
    expect(tolower(parse('example.com'))).toEqual(['', 'example.com', '']);
    expect(tolower(parse('example.com/service'))).toEqual(['', 'example.com', 'service']);
    expect(parse('example.com').toString()).toBe('example.com');
    expect(parse('example.com/service').toString()).toBe('example.com/service');
  });

  it('round-trips canonical JIDs through toString', () => {
    for (const s of [
      'juliet@example.com',
      'juliet@example.com/balcony',
      'example.com',
      'conference.example.com/room@nick',
      'romeo@example.net/a/b/c',
      'x@[::1]/r',
      'äöü@bücher.example/Résumé',
      'καλημέρα@ελλάδα.gr/Θ',
      'user@127.0.0.1',
    ]) {
      const j = parse(s);
      expect(j.toString()).toBe(s);
      expect(jid_to_string(j)).toBe(s);
      expect(parse(j.toString()).equals(j)).toBe(true);
    }
  });

  it('prints the prepared form with toString and the parts as written with jid_to_string', () => {
    const j = parse('Juliet@Example.COM/Balcony');
    expect(j.toString()).toBe('juliet@example.com/Balcony');
    expect(format(j)).toBe('juliet@example.com/Balcony');
    expect(jidlib.toString(j)).toBe('juliet@example.com/Balcony');
    expect(jid_to_string(j)).toBe('Juliet@Example.COM/Balcony');
    expect(`${j}`).toBe('juliet@example.com/Balcony');
    expect(JSON.stringify({ to: j })).toBe('{"to":"juliet@example.com/Balcony"}');
  });

  it('keeps @ and / after the first / in the resourcepart', () => {
    const j = parse('juliet@example.com/foo@bar/baz');
    expect(tolower(j)).toEqual(['juliet', 'example.com', 'foo@bar/baz']);
    expect(j.toString()).toBe('juliet@example.com/foo@bar/baz');
    // An @ after the first / does not separate a localpart.
    expect(tolower(parse('example.com/user@host'))).toEqual(['', 'example.com', 'user@host']);
    expect(tolower(parse('a@b//c'))).toEqual(['a', 'b', '/c']);
    expect(tolower(parse('a@b/@'))).toEqual(['a', 'b', '@']);
  });

  it('strips one trailing dot from the domainpart', () => {
    const j = parse('juliet@example.com./balcony');
    expect(tolower(j)).toEqual(['juliet', 'example.com', 'balcony']);
    expect(j.server).toBe('example.com');
    expect(jid_to_string(j)).toBe('juliet@example.com/balcony');
    expect(parse('example.com.').equals(parse('example.com'))).toBe(true);
    expectRejected('example.com..', 'domainpart', 'domainpart contains an empty label');
  });

  it('accepts an IPv6 literal as domainpart, lower-cased', () => {
    expect(tolower(parse('x@[::1]/r'))).toEqual(['x', '[::1]', 'r']);
    expect(parse('[2001:DB8::1]').toString()).toBe('[2001:db8::1]');
    expect(parse('a@[::ffff:192.0.2.1]').domain).toBe('[::ffff:192.0.2.1]');
  });

  it('parses internationalised JIDs', () => {
    const j = parse('ÄÖ@Bücher.Example/Ré');
    expect(tolower(j)).toEqual(['äö', 'bücher.example', 'Ré']);
    expect(jid_to_string(j)).toBe('ÄÖ@Bücher.Example/Ré');
    // An A-label becomes its U-label: both spellings are one JID.
    const a = parse('x@xn--bcher-kva.example');
    expect(a.domain).toBe('bücher.example');
    expect(a.server).toBe('xn--bcher-kva.example');
    expect(a.equals(parse('x@BÜCHER.example'))).toBe(true);
    // Decomposed input is composed (NFC).
    expect(parse('Cafe\u0301@example.com/re\u0301sume\u0301').toString()).toBe('café@example.com/résumé');
    expect(tolower(parse('ΟΔΟΣ@example.gr'))).toEqual(['οδος', 'example.gr', '']);
    expect(tolower(parse('用户@例子.中国/资源'))).toEqual(['用户', '例子.中国', '资源']);
  });

  it('is an @xmpp/jid JID', () => {
    const j = parse('Juliet@Example.com/Balcony');
    expect(j).toBeInstanceOf(JID);
    expect(j).toBeInstanceOf(Jid);
    expect(j.getLocal()).toBe('juliet');
    expect(j.getDomain()).toBe('example.com');
    expect(j.getResource()).toBe('Balcony');
    expect(new JID('juliet', 'example.com', 'Balcony').toString()).toBe(j.toString());
  });

  it('undoes XEP-0106 escapes for display only when asked', () => {
    const j = parse('d\\27artagnan@musketeers.lit');
    expect(j.local).toBe('d\\27artagnan');
    expect(j.toString()).toBe('d\\27artagnan@musketeers.lit');
    expect(j.toString(true)).toBe("d'artagnan@musketeers.lit");
  });

  it('never escapes a localpart behind the caller (unlike xmpp.js)', () => {
    expect(new JID('a\\b', 'example.com').local).toBe('a\\5cb');
    expect(new Jid('a\\b', 'example.com').local).toBe('a\\b');
    expect(() => new Jid("d'artagnan", 'example.com')).toThrow(JidError);
  });

  it('is immutable', () => {
    const j = parse('juliet@example.com/balcony');
    expect(Object.isFrozen(j)).toBe(true);
    expect(() => j.setResource('other')).toThrow(/immutable/);
    expect(() => j.setLocal('romeo')).toThrow(/immutable/);
    expect(() => j.setDomain('example.net')).toThrow(/immutable/);
    expect(() => {
      j.resource = 'other';
    }).toThrow(/immutable/);
    expect(() => {
      j.local = 'romeo';
    }).toThrow(/immutable/);
    expect(j.toString()).toBe('juliet@example.com/balcony');
  });

  it('validates in the constructor', () => {
    const j = new Jid('Juliet', 'Example.com', 'balcony');
    expect(tolower(j)).toEqual(['juliet', 'example.com', 'balcony']);
    expect(new Jid(null, 'example.com').toString()).toBe('example.com');
    expect(new Jid(undefined, 'example.com', null).toString()).toBe('example.com');
    expect(() => new Jid('a b', 'example.com')).toThrow('invalid JID "a b@example.com": localpart contains');
    expect(() => new Jid('a', '')).toThrow('invalid JID "a@": empty domainpart');
  });
});

describe('equality', () => {
  it('ignores case in localpart and domainpart, not in resourcepart', () => {
    const a = parse('Juliet@EXAMPLE.com/Balcony');
    expect(equal(a, parse('juliet@example.COM/Balcony'))).toBe(true);
    expect(equal(a, parse('juliet@example.com/balcony'))).toBe(false);
    expect(a.equals(parse('JULIET@Example.Com/Balcony'))).toBe(true);
  });

  it('tells bare from full and different parts apart', () => {
    const full = parse('juliet@example.com/balcony');
    expect(equal(full, parse('juliet@example.com'))).toBe(false);
    expect(equal(full, parse('romeo@example.com/balcony'))).toBe(false);
    expect(equal(full, parse('juliet@example.net/balcony'))).toBe(false);
    expect(equal(parse('example.com'), parse('example.com'))).toBe(true);
    expect(equal(parse('example.com'), parse('a@example.com'))).toBe(false);
  });

  it('compares prepared forms: Unicode case, width and normalisation', () => {
    expect(equal(parse('ÄÖ@example.com'), parse('äö@example.com'))).toBe(true);
    expect(equal(parse('ｊｕｌｉｅｔ@example.com'), parse('juliet@example.com'))).toBe(true);
    expect(equal(parse('x@y/e\u0301'), parse('x@y/\u00e9'))).toBe(true);
    expect(equal(parse('x@y/É'), parse('x@y/é'))).toBe(false);
  });

  it('prepares a plain xmpp.js JID before comparing with it', () => {
    const j = parse('juliet@example.com/balcony');
    expect(j.equals(new JID('JULIET', 'Example.com', 'balcony'))).toBe(true);
    expect(j.equals(new JID('juliet', 'example.com', 'Balcony'))).toBe(false);
    expect(j.equals(new JID('juliet', 'exa mple.com', 'balcony'))).toBe(false);
  });
});

describe('bare and isBare', () => {
  it('drops the resource', () => {
    const full = parse('Juliet@example.com/balcony');
    const b = bare(full);
    expect(b.toString()).toBe('juliet@example.com');
    expect(b.user).toBe('Juliet');
    expect(b.resource).toBe('');
    expect(b.lresource).toBe('');
    expect(b).toBeInstanceOf(Jid);
    expect(full.bare().equals(b)).toBe(true);
    expect(full.toString()).toBe('juliet@example.com/balcony');
  });

  it('answers the same object for a bare JID', () => {
    const b = parse('juliet@example.com');
    expect(bare(b)).toBe(b);
  });

  it('tells whether there is a resource', () => {
    expect(isBare(parse('juliet@example.com'))).toBe(true);
    expect(isBare(parse('example.com'))).toBe(true);
    expect(isBare(parse('juliet@example.com/balcony'))).toBe(false);
    expect(parse('example.com/x').isBare()).toBe(false);
  });
});

describe('jlib names', () => {
  it('make(User, Server, Resource) prepares and keeps the parts as written', () => {
    const j = mustMake('Juliet', 'Example.COM', 'Balcony');
    expect([j.user, j.server, j.resource]).toEqual(['Juliet', 'Example.COM', 'Balcony']);
    expect([j.luser, j.lserver, j.lresource]).toEqual(['juliet', 'example.com', 'Balcony']);
    expect(jid_to_string(j)).toBe('Juliet@Example.COM/Balcony');
  });

  it('make takes a server alone, user and server, or an LJID', () => {
    expect(mustMake('Example.com').toString()).toBe('example.com');
    expect(mustMake('juliet', 'example.com').toString()).toBe('juliet@example.com');
    expect(mustMake(['juliet', 'example.com', 'r']).toString()).toBe('juliet@example.com/r');
    expect(mustMake('', 'example.com', '').toString()).toBe('example.com');
    // The resource may hold what a string JID could not express unambiguously.
    expect(mustMake('', 'example.com', 'a@b/c').toString()).toBe('example.com/a@b/c');
  });

  it("make answers 'error' for parts that are not a JID", () => {
    expect(make('juliet', '')).toBe('error');
    expect(make('')).toBe('error');
    expect(make('a@b', 'example.com')).toBe('error');
    expect(make('a/b', 'example.com')).toBe('error');
    expect(make('juliet', 'exa mple.com')).toBe('error');
    expect(make('juliet', 'example.com', 'a\u0000b')).toBe('error');
    expect(make(['juliet', 'example.com', 'x'.repeat(1024)])).toBe('error');
  });

  it("string_to_jid parses, or answers 'error'", () => {
    const j = string_to_jid('Juliet@Example.com/Balcony');
    expect(j).toBeInstanceOf(Jid);
    expect(j !== 'error' && tolower(j)).toEqual(['juliet', 'example.com', 'Balcony']);
    for (const bad of ['', '@example.com', 'juliet@', 'juliet@example.com/', 'a b@c', 'a@b@c']) {
      expect(string_to_jid(bad)).toBe('error');
    }
  });

  it('jid_to_string formats a Jid or an LJID', () => {
    expect(jid_to_string(parse('Juliet@Example.com/Balcony'))).toBe('Juliet@Example.com/Balcony');
    expect(jid_to_string(parse('example.com'))).toBe('example.com');
    expect(jid_to_string(['juliet', 'example.com', ''])).toBe('juliet@example.com');
    expect(jid_to_string(['', 'example.com', 'r'])).toBe('example.com/r');
  });

  it('tolower gives the LJID of a Jid', () => {
    const ljid: LJID = tolower(parse('Juliet@EXAMPLE.com/Balcony'));
    expect(ljid).toEqual(['juliet', 'example.com', 'Balcony']);
  });

  it("tolower prepares an LJID again, or answers 'error'", () => {
    expect(tolower(['Juliet', 'EXAMPLE.com.', 'Balcony'])).toEqual(['juliet', 'example.com', 'Balcony']);
    expect(tolower(['', 'Example.com', ''])).toEqual(['', 'example.com', '']);
    expect(tolower(['a b', 'example.com', ''])).toBe('error');
    expect(tolower(['a', '', ''])).toBe('error');
    expect(tolower(['a', 'example.com', '\u0007'])).toBe('error');
  });

  it('remove_resource empties the resource of a Jid or an LJID', () => {
    const j = remove_resource(parse('Juliet@Example.com/Balcony'));
    expect(j).toBeInstanceOf(Jid);
    expect([j.user, j.server, j.resource, j.luser, j.lserver, j.lresource]).toEqual([
      'Juliet',
      'Example.com',
      '',
      'juliet',
      'example.com',
      '',
    ]);
    expect(remove_resource(['juliet', 'example.com', 'balcony'])).toEqual(['juliet', 'example.com', '']);
  });

  it("replace_resource swaps the resource, or answers 'error'", () => {
    const j = replace_resource(parse('Juliet@example.com/balcony'), 'Orchard');
    expect(j !== 'error' && [j.user, j.resource, j.lresource, j.toString()]).toEqual([
      'Juliet',
      'Orchard',
      'Orchard',
      'juliet@example.com/Orchard',
    ]);
    expect(replace_resource(parse('juliet@example.com'), 'a\tb')).toBe('error');
  });

  it("nodeprep, nameprep and resourceprep prepare one part, or answer 'error'", () => {
    expect(nodeprep('Juliet')).toBe('juliet');
    expect(nodeprep('')).toBe('');
    expect(nodeprep('a@b')).toBe('error');
    expect(nameprep('Example.COM.')).toBe('example.com');
    expect(nameprep('')).toBe('error');
    expect(nameprep('exa mple.com')).toBe('error');
    expect(resourceprep('Balcony')).toBe('Balcony');
    expect(resourceprep('')).toBe('');
    expect(resourceprep('a\u0000')).toBe('error');
  });
});

describe('invalid JIDs', () => {
  it('rejects an empty localpart before @', () => {
    expectRejected('@example.com', 'localpart', "empty localpart before '@'");
    expectRejected('@example.com/r', 'localpart', "empty localpart before '@'");
    expectRejected('@', 'localpart', "empty localpart before '@'");
  });

  it('rejects an empty resourcepart after /', () => {
    expectRejected('juliet@example.com/', 'resourcepart', "empty resourcepart after '/'");
    expectRejected('example.com/', 'resourcepart', "empty resourcepart after '/'");
  });

  it('rejects an empty domainpart', () => {
    expectRejected('', 'domainpart', 'empty domainpart');
    expectRejected('juliet@', 'domainpart', 'empty domainpart');
    expectRejected('juliet@/balcony', 'domainpart', 'empty domainpart');
    expectRejected('/balcony', 'domainpart', 'empty domainpart');
    expectRejected('.', 'domainpart', 'empty domainpart');
  });

  it('names the JID and the rule in the message', () => {
    const err = expectRejected('@example.com', 'localpart', "empty localpart before '@'");
    expect(err.name).toBe('JidError');
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toBe(`invalid JID "@example.com": empty localpart before '@'`);
    const long = expectRejected(
      `${'x'.repeat(2000)}@example.com`,
      'localpart',
      'localpart longer than 1023 bytes (2000 bytes)',
    );
    expect(long.message).toBe(
      `invalid JID "${'x'.repeat(80)}"... (2012 characters): localpart longer than 1023 bytes (2000 bytes)`,
    );
  });

  it.each([
    ['"', 'a"b@example.com'],
    ['&', 'a&b@example.com'],
    ["'", "a'b@example.com"],
    [':', 'a:b@example.com'],
    ['<', 'a<b@example.com'],
    ['>', 'a>b@example.com'],
  ])('rejects %s in a localpart', (ch, input) => {
    const hex = ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    expectRejected(input, 'localpart', `localpart contains forbidden character '${ch}' (U+${hex})`);
  });

  it('rejects / and @ in a localpart given to make', () => {
    expect(() => new Jid('a/b', 'example.com')).toThrow(
      "localpart contains forbidden character '/' (U+002F)",
    );
    expect(() => new Jid('a@b', 'example.com')).toThrow(
      "localpart contains forbidden character '@' (U+0040)",
    );
  });

  it('rejects whitespace and controls in a localpart', () => {
    expectRejected('a b@example.com', 'localpart', 'localpart contains whitespace U+0020');
    expectRejected('a\tb@example.com', 'localpart', 'localpart contains control character U+0009');
    expectRejected('a\u00a0b@example.com', 'localpart', 'localpart contains whitespace U+00A0');
    expectRejected('a\u3000b@example.com', 'localpart', 'localpart contains whitespace U+0020');
    expectRejected('a\u0000b@example.com', 'localpart', 'localpart contains control character U+0000');
    expectRejected('a\u0085b@example.com', 'localpart', 'localpart contains control character U+0085');
    expectRejected('a\u007fb@example.com', 'localpart', 'localpart contains control character U+007F');
  });

  it('rejects controls but not spaces in a resourcepart', () => {
    expect(parse('a@example.com/my phone').resource).toBe('my phone');
    expectRejected('a@example.com/a\u0000', 'resourcepart', 'resourcepart contains control character U+0000');
    expectRejected('a@example.com/a\nb', 'resourcepart', 'resourcepart contains control character U+000A');
    expectRejected(
      'a@example.com/a\u009fb',
      'resourcepart',
      'resourcepart contains control character U+009F',
    );
  });

  it('rejects noncharacters and lone surrogates in every part', () => {
    expectRejected('a\uffffb@example.com', 'localpart', 'localpart contains noncharacter U+FFFF');
    expectRejected('a@example.com/\ufffe', 'resourcepart', 'resourcepart contains noncharacter U+FFFE');
    expectRejected('a@example.com/x\udfff', 'resourcepart', 'resourcepart contains lone surrogate U+DFFF');
    expectRejected('a\ud800@example.com', 'localpart', 'localpart contains lone surrogate U+D800');
    expectRejected('a@ex\ud800ample.com', 'domainpart', 'domainpart contains lone surrogate U+D800');
    expect(string_to_jid('a@exa\uffffmple.com')).toBe('error');
  });

  it('rejects forbidden characters in a domainpart', () => {
    expectRejected('a@b@example.com', 'domainpart', "domainpart contains forbidden character '@' (U+0040)");
    expectRejected('a@exa mple.com', 'domainpart', 'domainpart contains whitespace U+0020');
    expectRejected('a@exa\tmple.com', 'domainpart', 'domainpart contains control character U+0009');
    expectRejected('a@exa!mple.com', 'domainpart', "domainpart contains forbidden character '!' (U+0021)");
    expectRejected('a@exa:5222', 'domainpart', "domainpart contains forbidden character ':' (U+003A)");
    expectRejected('a@bü cher.de', 'domainpart', 'domainpart contains whitespace U+0020');
    expectRejected('a@bü\u00a0cher.de', 'domainpart', 'domainpart contains whitespace U+00A0');
  });

  it('rejects empty and over-long labels and malformed literals in a domainpart', () => {
    expectRejected('a@example..com', 'domainpart', 'domainpart contains an empty label');
    expectRejected('a@.example.com', 'domainpart', 'domainpart contains an empty label');
    expect(parse(`a@${'x'.repeat(63)}.com`).domain).toBe(`${'x'.repeat(63)}.com`);
    expectRejected(`a@${'x'.repeat(64)}.com`, 'domainpart', 'domainpart label longer than 63 bytes');
    expectRejected('a@[::1', 'domainpart', 'domainpart "[::1" is not a valid IPv6 literal');
    expectRejected('a@[1.2.3.4]', 'domainpart', 'domainpart "[1.2.3.4]" is not a valid IPv6 literal');
    expectRejected(
      'a@[fe80::1%eth0]',
      'domainpart',
      'domainpart "[fe80::1%eth0]" is not a valid IPv6 literal',
    );
    expectRejected('a@xn--zz.com', 'domainpart', 'domainpart label "xn--zz" is not a valid A-label');
  });
});

describe('length limits (1023 bytes of UTF-8 per part)', () => {
  it('exports the limit', () => {
    expect(MAX_PART_BYTES).toBe(1023);
  });

  it('accepts a 1023-byte localpart and rejects a 1024-byte one', () => {
    expect(parse(`${'a'.repeat(1023)}@example.com`).local).toHaveLength(1023);
    expectRejected(
      `${'a'.repeat(1024)}@example.com`,
      'localpart',
      'localpart longer than 1023 bytes (1024 bytes)',
    );
  });

  it('counts multi-byte characters in bytes, not characters', () => {
    // é is two bytes: 511 of them and an 'a' make 1023 bytes; 512 make 1024 in only 512 characters.
    expect(parse(`${'é'.repeat(511)}a@example.com`).local).toHaveLength(512);
    expectRejected(
      `${'é'.repeat(512)}@example.com`,
      'localpart',
      'localpart longer than 1023 bytes (1024 bytes)',
    );
    // € is three bytes, 😀 four (two UTF-16 units).
    expect(parse(`a@example.com/${'€'.repeat(341)}`).resource).toHaveLength(341);
    expectRejected(
      `a@example.com/${'€'.repeat(342)}`,
      'resourcepart',
      'resourcepart longer than 1023 bytes (1026 bytes)',
    );
    expect(parse(`a@example.com/${'😀'.repeat(255)}abc`).resource).toHaveLength(513);
    expectRejected(
      `a@example.com/${'😀'.repeat(256)}`,
      'resourcepart',
      'resourcepart longer than 1023 bytes (1024 bytes)',
    );
  });

  it('applies the limit after preparation too', () => {
    // İ (2 bytes) lower-cases to i + U+0307 (3 bytes).
    expect(utf8(parse(`${'İ'.repeat(341)}@example.com`).local)).toBe(1023);
    expectRejected(
      `${'İ'.repeat(342)}@example.com`,
      'localpart',
      'localpart longer than 1023 bytes (1026 bytes)',
    );
  });

  it('accepts a 1023-byte resourcepart and rejects a 1024-byte one', () => {
    expect(parse(`a@example.com/${'r'.repeat(1023)}`).resource).toHaveLength(1023);
    expectRejected(
      `a@example.com/${'r'.repeat(1024)}`,
      'resourcepart',
      'resourcepart longer than 1023 bytes (1024 bytes)',
    );
  });

  it('accepts a 1023-byte domainpart and rejects a 1024-byte one', () => {
    expect(parse(`a@${domainOf(1023)}`).domain).toHaveLength(1023);
    expectRejected(`a@${domainOf(1024)}`, 'domainpart', 'domainpart longer than 1023 bytes (1024 bytes)');
  });
});

function utf8(s: string): number {
  return new TextEncoder().encode(s).length;
}

describe('properties', () => {
  const unit = fc.constantFrom(
    'a',
    'Z',
    '0',
    '@',
    '/',
    '.',
    '-',
    ' ',
    ':',
    '[',
    ']',
    'é',
    'E\u0301',
    'ß',
    'İ',
    'ｘ',
    '日',
    '\u00b7',
    'l',
    '\u200b',
    '\u00a0',
    '\ud800',
    '😀',
    'Σ',
  );

  it('string_to_jid answers a Jid or error and never throws', () => {
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 24 }), (s) => {
        const j = string_to_jid(s);
        expect(j === 'error' || j instanceof Jid).toBe(true);
      }),
    );
  });

  it('the canonical form of a JID parses back to the same JID (preparation is idempotent)', () => {
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 24 }), (s) => {
        const j = string_to_jid(s);
        if (j === 'error') return;
        const again = parse(j.toString());
        expect(again.toString()).toBe(j.toString());
        expect(tolower(again)).toEqual(tolower(j));
      }),
    );
  });

  it('make and jid_to_string round-trip valid ASCII parts', () => {
    const local = fc.stringMatching(/^[a-zA-Z0-9._\\-]{1,20}$/);
    const label = fc.stringMatching(/^[a-zA-Z0-9-]{1,10}$/);
    const domain = fc.array(label, { minLength: 1, maxLength: 4 }).map((ls) => ls.join('.'));
    const resource = fc.stringMatching(/^[ -~]{1,20}$/);
    fc.assert(
      fc.property(local, domain, resource, (u, s, r) => {
        const j = mustMake(u, s, r);
        const back = parse(jid_to_string(j));
        expect([back.user, back.server, back.resource]).toEqual([u, s, r]);
        expect(equal(back, j)).toBe(true);
        expect(tolower(j)).toEqual([u.toLowerCase(), s.toLowerCase(), r]);
      }),
    );
  });
});
