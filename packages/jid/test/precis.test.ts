import { describe, expect, it } from 'vitest';
import { nameprep, nodeprep, parse, resourceprep, string_to_jid } from '../src/index.js';

/** The reason `parse` gives for `input`. */
function reasonFor(input: string): string {
  try {
    parse(input);
  } catch (e) {
    return (e as Error & { reason: string }).reason;
  }
  throw new Error(`${JSON.stringify(input)} was accepted`);
}

describe('localpart: UsernameCaseMapped (RFC 8265) and RFC 7622 exclusions', () => {
  it('maps fullwidth and halfwidth characters to their narrow forms', () => {
    expect(nodeprep('ＪＵＬＩＥＴ')).toBe('juliet');
    expect(nodeprep('ｶﾞ')).toBe('ガ');
  });

  it('lower-cases with toLowerCase, not case folding', () => {
    expect(nodeprep('JULIET')).toBe('juliet');
    expect(nodeprep('Straße')).toBe('straße');
    expect(nodeprep('ΣΟΦΊΑ')).toBe('σοφία');
    expect(nodeprep('ΟΔΟΣ')).toBe('οδος');
  });

  it('normalises to NFC', () => {
    expect(nodeprep('e\u0301')).toBe('\u00e9');
    expect(nodeprep('\u1100\u1161')).toBe('\uac00');
  });

  it('accepts letters, digits and combining marks of any script', () => {
    for (const s of [
      'juliet',
      'äöü',
      'δοκιμή',
      'пример',
      '例子',
      'テスト',
      'उदाहरण',
      'مثال',
      '\u0ba4\u0bae\u0bbf\u0bb4\u0bcd',
    ]) {
      expect(nodeprep(s)).toBe(s.normalize('NFC'));
    }
    expect(nodeprep('a\\b!#$%()*+,-.;=?[]^_`{|}~')).toBe('a\\b!#$%()*+,-.;=?[]^_`{|}~');
  });

  it('rejects compatibility characters instead of folding them', () => {
    expect(reasonFor('\ufb01@x')).toBe("localpart contains compatibility character 'ﬁ' (U+FB01)");
    expect(reasonFor('x\u00b2@x')).toBe("localpart contains compatibility character '²' (U+00B2)");
    expect(nodeprep('\u2163')).toBe('error');
  });

  it('rejects symbols, non-ASCII punctuation, emoji and private-use characters', () => {
    expect(reasonFor('\u2603@x')).toBe("localpart contains disallowed character '☃' (U+2603)");
    expect(reasonFor('a\u2014b@x')).toBe("localpart contains disallowed character '—' (U+2014)");
    expect(nodeprep('😀')).toBe('error');
    expect(reasonFor('\ue000@x')).toBe('localpart contains private-use character U+E000');
  });

  it('rejects unassigned and default-ignorable code points', () => {
    expect(reasonFor('a\u0378@x')).toBe('localpart contains unassigned code point U+0378');
    expect(reasonFor('a\u200bb@x')).toBe('localpart contains default-ignorable code point U+200B');
    expect(reasonFor('a\u00adb@x')).toBe('localpart contains default-ignorable code point U+00AD');
    expect(reasonFor('a\ufe0f@x')).toBe('localpart contains default-ignorable code point U+FE0F');
  });

  it('rejects joiners (CONTEXTJ is not implemented) and conjoining Hangul jamo', () => {
    expect(reasonFor('a\u200db@x')).toBe('localpart contains joiner U+200D (CONTEXTJ is not supported)');
    expect(reasonFor('\u1100@x')).toBe("localpart contains conjoining Hangul jamo 'ᄀ' (U+1100)");
  });

  it('applies the RFC 5892 exceptions', () => {
    expect(nodeprep('\u3007')).toBe('\u3007');
    expect(nodeprep('\u06fd')).toBe('\u06fd');
    expect(reasonFor('\u0628\u0640\u0628@x')).toBe("localpart contains disallowed character 'ـ' (U+0640)");
    expect(nodeprep('\u3031')).toBe('error');
  });

  it('applies the CONTEXTO rules', () => {
    expect(nodeprep('l\u00b7l')).toBe('l\u00b7l');
    expect(nodeprep('L\u00b7L')).toBe('l\u00b7l');
    expect(reasonFor('a\u00b7b@x')).toBe(
      "localpart contains '·' (U+00B7) outside the context RFC 5892 allows it in",
    );
    expect(nodeprep('\u0375\u03b1')).toBe('\u0375\u03b1');
    expect(nodeprep('\u0375a')).toBe('error');
    expect(nodeprep('\u05d0\u05f3')).toBe('\u05d0\u05f3');
    expect(nodeprep('a\u05f3')).toBe('error');
    expect(nodeprep('\u30c6\u30fb\u30b9')).toBe('\u30c6\u30fb\u30b9');
    expect(nodeprep('a\u30fbb')).toBe('error');
    expect(nodeprep('\u0661\u0662')).toBe('\u0661\u0662');
    expect(nodeprep('\u06f1\u06f2')).toBe('\u06f1\u06f2');
    expect(nodeprep('\u0661\u06f2')).toBe('error');
  });
});

describe('resourcepart: OpaqueString (RFC 8265)', () => {
  it('keeps case, symbols, punctuation and compatibility characters', () => {
    for (const s of [
      'Balcony',
      'Ré Sumé',
      '☃ snow',
      'ﬁle',
      'a—b',
      '日本語',
      'x²',
      ' lead and trail ',
      'tab-free',
    ]) {
      expect(resourceprep(s)).toBe(s);
    }
  });

  it('maps non-ASCII spaces to U+0020 and normalises to NFC', () => {
    expect(resourceprep('a\u00a0b\u2003c\u3000d')).toBe('a b c d');
    expect(resourceprep('re\u0301sume\u0301')).toBe('résumé');
  });

  it('rejects controls, separators, format characters and private use', () => {
    expect(reasonFor('a@x/a\u2028b')).toBe('resourcepart contains whitespace U+2028');
    expect(reasonFor('a@x/a\u200bb')).toBe('resourcepart contains default-ignorable code point U+200B');
    expect(reasonFor('a@x/\u0600')).toBe('resourcepart contains disallowed character U+0600');
    expect(reasonFor('a@x/\udb80\udc00')).toBe('resourcepart contains private-use character U+F0000');
    expect(reasonFor('a@x/\u0378')).toBe('resourcepart contains unassigned code point U+0378');
  });

  it('applies the CONTEXTO rules too', () => {
    expect(resourceprep('l\u00b7l')).toBe('l\u00b7l');
    expect(resourceprep('a\u00b7b')).toBe('error');
  });
});

describe('domainpart', () => {
  it('lower-cases ASCII labels and allows digits, hyphen and underscore', () => {
    expect(nameprep('Example.COM')).toBe('example.com');
    expect(nameprep('xmpp-01.Example.com')).toBe('xmpp-01.example.com');
    expect(nameprep('my_host.example')).toBe('my_host.example');
    expect(nameprep('localhost')).toBe('localhost');
    expect(nameprep('192.0.2.1')).toBe('192.0.2.1');
  });

  it('maps internationalised labels through UTS-46 to lower-case NFC U-labels', () => {
    expect(nameprep('BÜCHER.example')).toBe('bücher.example');
    expect(nameprep('bu\u0308cher.example')).toBe('bücher.example');
    expect(nameprep('ＥＸＡＭＰＬＥ。com')).toBe('example.com');
    expect(nameprep('例子。中国')).toBe('例子.中国');
    expect(nameprep('faß.de')).toBe('faß.de');
    expect(nameprep('１２３.example')).toBe('123.example');
  });

  it('turns A-labels into U-labels', () => {
    expect(nameprep('xn--bcher-kva.example')).toBe('bücher.example');
    expect(nameprep('XN--BCHER-KVA.example')).toBe('bücher.example');
    expect(nameprep('xn--zz.example')).toBe('error');
  });

  it('rejects what UTS-46 rejects and what maps to forbidden ASCII', () => {
    expect(string_to_jid('a@\u2488x.example')).toBe('error');
    expect(reasonFor('a@\u0301a.example')).toBe(
      'domainpart label "\u0301a" is not a valid internationalized label',
    );
    expect(reasonFor('a@a\uff01\u00e9.example')).toBe(
      'domainpart label "a！é" maps to forbidden character \'!\' (U+0021)',
    );
  });

  it('checks the 63-byte label limit on the A-label form', () => {
    expect(nameprep(`${'ü'.repeat(20)}.example`)).toBe(`${'ü'.repeat(20)}.example`);
    expect(nameprep(`${'ü'.repeat(60)}.example`)).toBe('error');
  });

  it('accepts IPv6 literals only in brackets and only when valid', () => {
    expect(nameprep('[::1]')).toBe('[::1]');
    expect(nameprep('[2001:DB8::A]')).toBe('[2001:db8::a]');
    expect(nameprep('[::ffff:192.0.2.1]')).toBe('[::ffff:192.0.2.1]');
    expect(nameprep('[::g]')).toBe('error');
    expect(nameprep('[]')).toBe('error');
    expect(nameprep('::1')).toBe('error');
  });
});
