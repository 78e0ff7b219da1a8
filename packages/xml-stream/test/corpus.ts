/**
 * A deterministic generator of XMPP-stream-shaped XML documents for differential testing: valid ones
 * (namespaces, prefixes, references, CDATA, non-ASCII and astral names and text, CR/LF/tab), hostile
 * ones (restricted constructs, malformed names, references, tags and namespaces) and byte-level
 * mutations of valid ones. Everything derives from one seed, so a failure is reproducible.
 */

/** mulberry32: a small, fast, seedable PRNG (period 2^32), plenty for a test corpus. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
}

export const XML_NS = 'http://www.w3.org/XML/1998/namespace';
export const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';

const ASCII_START = [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_'];
const ASCII_MORE = [...'0123456789.-'];
/** NameStartChar (XML 1.0 production [4]): ordinary letters and the edges of every range. */
const OTHER_START = [
  'é',
  'ß',
  'Ω',
  'я',
  '中',
  '語',
  '\u00C0',
  '\u00D6',
  '\u00D8',
  '\u00F6',
  '\u00F8',
  '\u02FF',
  '\u0370',
  '\u037D',
  '\u037F',
  '\u1FFF',
  '\u200C',
  '\u200D',
  '\u2070',
  '\u218F',
  '\u2C00',
  '\u2FEF',
  '\u3001',
  '\uD7FF',
  '\uF900',
  '\uFDCF',
  '\uFDF0',
  '\uFFFD',
  '\u{10000}',
  '\u{1D49C}',
  '\u{20000}',
  '\u{EFFFF}',
];
/** NameChar but not NameStartChar (production [4a]). */
const OTHER_MORE = ['\u00B7', '\u0300', '\u036F', '\u203F', '\u2040'];
/** Neither: just outside the ranges, punctuation, private use, astral planes 15 and 16. */
const NOT_NAME = [
  '\u00D7',
  '\u00F7',
  '\u037E',
  '\u2000',
  '\u200B',
  '\u200E',
  '\u2041',
  '\u2190',
  '\u2BFF',
  '\u2FF0',
  '\u3000',
  '\uE000',
  '\uF8FF',
  '\uFDD0',
  '\uFDEF',
  '\u{F0000}',
  '\u{10FFFF}',
  '!',
  '#',
  '$',
  '%',
  '(',
  '*',
  '+',
  ',',
  '@',
  '^',
  '`',
  '|',
  '~',
  '{',
];
/** Characters XML 1.0 allows in text, including the odd ones (NEL, LS, BOM, astral non-characters). */
const TEXT_CHARS = [
  ...'abcxyzABC019 .,;:#=/!?-_()[]{}\'"',
  'é',
  'ß',
  '中',
  '\u00A0',
  '\u007F',
  '\u0080',
  '\u0085',
  '\u009F',
  '\u2028',
  '\uFEFF',
  '\uFFFD',
  '\uE000',
  '\uD7FF',
  '\u{1F600}',
  '\u{10000}',
  '\u{1FFFF}',
  '\u{10FFFF}',
];
/** Code points XML 1.0 forbids (as literal characters and as character references). */
const FORBIDDEN_CHARS = [
  '\u0000',
  '\u0001',
  '\u0008',
  '\u000B',
  '\u000C',
  '\u000E',
  '\u001F',
  '\uFFFE',
  '\uFFFF',
];
const WHITESPACE = [' ', ' ', ' ', '\n', '\t', '\r\n', '\r', '  '];
const URIS = [
  'jabber:client',
  'jabber:server',
  'urn:xmpp:ping',
  'http://jabber.org/protocol/disco#info',
  'urn:a',
  'urn:b',
  'urn:ü:ñ',
  'urn:x&amp;y',
  'urn:&#x1F600;',
  'urn:a&#x20;b',
  'urn:q&apos;',
];
/** Namespace names the spec accepts but that are unusual: padded (saxes trims these), odd characters. */
const ODD_URIS = [' urn:a', 'urn:a ', '  ', '&#32;', 'urn:a\tb', 'urn:a\nb', ` ${XML_NS}`, `${XMLNS_NS} `];
const ENCODINGS = ['UTF-8', 'utf-8', 'Utf-8'];
const BAD_ENCODINGS = ['ISO-8859-1', 'UTF-16', 'utf8', 'US-ASCII'];

/** Bytes and strings a mutation inserts: markup characters, odd Unicode, broken UTF-8. */
const MUTATION_INSERTS: (string | number[])[] = [
  ...'<>&;"\'/!?=:[]- \r\n\tx1#',
  'é',
  '\u{1F600}',
  '\uFFFE',
  '\u0085',
  [0x00],
  [0x0b],
  [0x7f],
  [0x80],
  [0xff],
  [0xc3],
  [0xe2, 0x82],
  [0xf0, 0x9f, 0x98],
  [0xc0, 0x80],
  [0xed, 0xa0, 0x80],
  [0xf4, 0x90, 0x80, 0x80],
  [0xef, 0xbb, 0xbf],
  '<!--x-->',
  '<?p d?>',
  '&foo;',
  '&#0;',
  '&#x1F600;',
  '&amp;',
  ']]>',
  '<![CDATA[x]]>',
  '</a>',
  '<a>',
  '<a/>',
  ' xmlns:p="urn:p"',
  ' p:a="1"',
  ' xmlns=""',
];

/** Well-formed XML that RFC 6120 section 11 refuses: comments, PIs, DTDs, undeclared entities. */
const RESTRICTED_CONTENT = [
  '<!--c-->',
  '<!---->',
  '<?pi x?>',
  '<?pi?>',
  '&foo;',
  '&nbsp;',
  '&é;',
  `&${'e'.repeat(40)};`,
];
const RESTRICTED_PROLOG = [
  '<!-- c -->',
  '<?pi x?>',
  '<?xml-stylesheet href="s"?>',
  '<!DOCTYPE r>',
  '<!DOCTYPE r [<!ENTITY e "x">]>',
];

/**
 * A document generator. `hostility` 0 makes only well-formed documents; `restriction` sprinkles
 * well-formed constructs that RFC 6120 refuses (and encodings other than UTF-8) over them.
 */
class DocumentGenerator {
  private readonly r: Rng;
  private readonly hostility: number;
  private readonly restriction: number;
  private maxDepth = 4;
  private prefixCounter = 0;

  constructor(r: Rng, hostility: number, restriction = 0) {
    this.r = r;
    this.hostility = hostility;
    this.restriction = restriction;
  }

  private restricted(p: number): boolean {
    return this.restriction > 0 && this.r.chance(p * this.restriction);
  }

  /** A hostile choice, with probability p scaled by the hostility. */
  private bad(p: number): boolean {
    return this.hostility > 0 && this.r.chance(p * this.hostility);
  }

  private ws(min = 0): string {
    let s = '';
    const n = min + (this.r.chance(0.6) ? 0 : this.r.int(3));
    for (let i = 0; i < n; i++) s += this.r.pick(WHITESPACE);
    return s;
  }

  private ncname(): string {
    const r = this.r;
    let s = r.chance(0.75) ? r.pick(ASCII_START) : r.pick(OTHER_START);
    if (r.chance(0.03)) s = `xml${s}`; // reserved-looking, still well-formed
    if (this.bad(0.04)) s = r.pick([...ASCII_MORE, ...OTHER_MORE, ...NOT_NAME]); // bad first character
    const n = r.int(7);
    for (let i = 0; i < n; i++) {
      s += r.chance(0.8) ? r.pick([...ASCII_START, ...ASCII_MORE]) : r.pick([...OTHER_START, ...OTHER_MORE]);
    }
    if (this.bad(0.02)) {
      const cut = r.int(s.length + 1);
      s = s.slice(0, cut) + r.pick(NOT_NAME) + s.slice(cut);
    }
    return s;
  }

  private newPrefix(): string {
    if (this.r.chance(0.5)) return this.ncname();
    return (
      this.r.pick(['p', 'q', 'stream', 'db', 'x', 'ns', 'π', '\u{10000}p']) + (this.prefixCounter++ % 3 || '')
    );
  }

  /** A qualified element name, usually valid for the prefixes in scope. */
  private elementName(prefixes: string[]): string {
    const r = this.r;
    if (this.bad(0.06)) {
      const nc = this.ncname();
      return r.pick([
        `undeclared${r.int(3)}:${nc}`,
        `xmlns:${nc}`,
        `:${nc}`,
        `${nc}:`,
        `${nc}:${nc}:${nc}`,
        `${prefixes.length > 0 ? r.pick(prefixes) : 'xml'}:${r.pick([...ASCII_MORE, ...OTHER_MORE])}${nc}`,
      ]);
    }
    if (prefixes.length > 0 && r.chance(0.35)) return `${r.pick(prefixes)}:${this.ncname()}`;
    if (r.chance(0.02)) return `xml:${this.ncname()}`;
    return this.ncname();
  }

  private charRef(): string {
    const r = this.r;
    if (this.bad(0.25)) {
      return r.pick([
        '&#0;',
        '&#x0;',
        '&#1;',
        '&#8;',
        '&#xB;',
        '&#x1F;',
        '&#xD800;',
        '&#xDFFF;',
        '&#xFFFE;',
        '&#65535;',
        '&#x110000;',
        '&#1114112;',
        '&#x7FFFFFFF;',
        '&#99999999999999999999;',
        '&#;',
        '&#x;',
        '&#X41;',
        '&#x-1;',
        '&# 65;',
        '&#65',
        '&#xg;',
        '&#+65;',
        '&#6 5;',
      ]);
    }
    const cp = r.pick([
      0x9,
      0xa,
      0xd,
      0x20,
      0x26,
      0x3c,
      0x3e,
      0x41,
      0x5d,
      0x7f,
      0x85,
      0xe9,
      0x2028,
      0xd7ff,
      0xe000,
      0xfeff,
      0xfffd,
      0x10000,
      0x1f600,
      0x1ffff,
      0x10ffff,
      0x20 + r.int(0xd7ff - 0x20),
      0x10000 + r.int(0x100000),
    ]);
    // Leading zeros are allowed without limit; a few references are far longer than any usual one.
    const zeros = '0'.repeat(r.chance(0.1) ? r.int(4) : r.chance(0.03) ? 25 + r.int(20) : 0);
    if (r.chance(0.5)) return `&#${zeros}${cp};`;
    const hex = cp.toString(16);
    return `&#x${zeros}${r.chance(0.5) ? hex : hex.toUpperCase()};`;
  }

  private entityRef(): string {
    const r = this.r;
    if (this.bad(0.3)) {
      return r.pick([
        '&foo;',
        '&nbsp;',
        '&AMP;',
        '&Amp;',
        '&lt',
        '&amp ;',
        '& amp;',
        '&a:b;',
        '&é;',
        '&\u{10000};',
        '&;',
        '&-x;',
        '&1a;',
        '&',
        `&${'e'.repeat(30 + r.int(15))};`,
        `&${'a'.repeat(29)}:b;`,
      ]);
    }
    return r.pick(['&amp;', '&lt;', '&gt;', '&quot;', '&apos;']);
  }

  private attrValue(quote: string): string {
    const r = this.r;
    let s = '';
    const n = r.int(6);
    for (let i = 0; i < n; i++) {
      const k = r.int(10);
      if (this.restricted(0.05)) s += r.pick(['&foo;', '&nbsp;']);
      else if (this.bad(0.03)) {
        s += r.pick([
          '<',
          '&',
          '&foo;',
          `&${'v'.repeat(40)};`,
          r.pick(FORBIDDEN_CHARS),
          this.charRef(),
          '<!--c-->',
        ]);
      } else if (k < 4) {
        for (let j = r.int(5); j >= 0; j--) {
          const c = r.pick(TEXT_CHARS);
          s += c === quote ? (quote === '"' ? '&quot;' : '&apos;') : c;
        }
      } else if (k < 5) s += this.entityRef();
      else if (k < 7) s += this.charRef();
      else if (k < 8) s += r.pick(['\t', '\n', '\r\n', '\r', ' ', '\r\r\n']);
      else if (k < 9) s += r.pick(['>', ']]>', ']]', quote === '"' ? "'" : '"']);
      else s += r.pick(OTHER_START);
    }
    return s;
  }

  /** Character data for a text run: a sequence of characters and references. */
  private textRun(): string {
    const r = this.r;
    let s = '';
    const n = 1 + r.int(5);
    for (let i = 0; i < n; i++) {
      const k = r.int(10);
      if (k < 5) {
        for (let j = r.int(6); j >= 0; j--) s += r.pick(TEXT_CHARS);
      } else if (k < 6) s += this.entityRef();
      else if (k < 7) s += this.charRef();
      else if (k < 9) s += r.pick(['\r\n', '\n', '\r', '\t', '  ', '\r\r\n', '\n\r']);
      else s += r.pick(['>', ']', ']]', '] ]>', ']]]']);
    }
    return s;
  }

  private cdata(): string {
    const r = this.r;
    let s = '';
    const n = r.int(5);
    for (let i = 0; i < n; i++) {
      s += r.pick([
        ...TEXT_CHARS,
        '<',
        '&',
        '&amp;',
        ']',
        ']]',
        ']]]',
        '<![CDATA[',
        '\r\n',
        '\r',
        '<a>',
        '-->',
        '?>',
      ]);
    }
    if (!this.bad(0.1)) s = s.replaceAll(']]>', ']] >'); // ']]>' would end the section early
    if (r.chance(0.2)) s += ']'; // as in ']]]>'
    return `<![CDATA[${s}${this.bad(0.03) ? '' : ']]>'}`;
  }

  /** Markup XMPP refuses or XML forbids, for inside an element. */
  private hostileContent(): string {
    const r = this.r;
    return r.pick([
      `<!--${this.textRun().replaceAll('-', '')}-->`,
      '<!---->',
      '<!-- a -- b -->',
      '<!--->',
      `<?pi ${this.textRun().replaceAll('?>', '')}?>`,
      '<?xml version="1.0"?>',
      '<?XML x?>',
      '<?a:b x?>',
      '<? x?>',
      '<!DOCTYPE x>',
      '<!doctype x>',
      '<!ELEMENT a ANY>',
      '<![CDATA[x',
      '<![cdata[x]]>',
      ']]>',
      ' ]]> ',
      '&',
      '< a>',
      '<>',
      '</>',
      '</nomatch>',
      '<a',
      '<a b>',
      '<a b=c>',
      '<a b="1"c="2">',
      '<a/ >',
      '<1a/>',
      '<-a/>',
      r.pick(FORBIDDEN_CHARS),
      this.charRef(),
      this.entityRef(),
    ]);
  }

  /** An element, with the prefixes in scope and (for namespaced-attribute checks) the URIs they bind. */
  private element(depth: number, scope: Map<string, string>): string {
    const r = this.r;
    const local = new Map(scope);
    const attrs: [string, string][] = [];
    const used = new Set<string>();
    const push = (name: string, value: string) => {
      if (used.has(name) && !this.bad(0.5)) return;
      used.add(name);
      attrs.push([name, value]);
    };
    // Declarations.
    if (r.chance(0.2)) push('xmlns', r.chance(0.15) ? '' : this.uri());
    for (let i = r.chance(0.25) ? 1 + r.int(2) : 0; i > 0; i--) {
      const prefix = r.chance(0.3) && local.size > 0 ? r.pick([...local.keys()]) : this.newPrefix();
      const uri = this.uri();
      push(`xmlns:${prefix}`, uri);
      local.set(prefix, uri);
    }
    if (this.bad(0.05)) {
      push(
        r.pick(['xmlns:p', 'xmlns:xml', 'xmlns:xmlns', 'xmlns', 'xmlns:q']),
        r.pick(['', XML_NS, XMLNS_NS, 'urn:other']),
      );
    }
    const prefixes = [...local.keys()];
    const name = this.elementName(prefixes);
    // Ordinary attributes.
    for (let i = r.int(4); i > 0; i--) {
      const k = r.int(10);
      if (k < 6 || prefixes.length === 0) push(this.ncname(), this.attrValue('"'));
      else if (k < 9) push(`${r.pick(prefixes)}:${this.ncname()}`, this.attrValue('"'));
      else push(r.pick(['xml:lang', 'xml:space', 'xml:id']), r.pick(['en', 'preserve', 'x-é']));
    }
    if (this.bad(0.08)) {
      const k = r.int(4);
      if (k === 0 && attrs.length > 0)
        attrs.push(r.pick(attrs)); // a duplicate
      else if (k === 1) {
        // The same namespace under two prefixes, then the same local name in both.
        const uri = this.uri();
        attrs.push(['xmlns:d1', uri], ['xmlns:d2', uri], ['d1:same', '1'], ['d2:same', '2']);
      } else if (k === 2) attrs.push([`nope${r.int(3)}:a`, 'v']);
      else attrs.push([this.elementName(prefixes), 'v']);
    }
    for (let i = attrs.length - 1; i > 0; i--) {
      const j = r.int(i + 1);
      [attrs[i], attrs[j]] = [attrs[j], attrs[i]];
    }
    let tag = `<${name}`;
    for (const [key, value] of attrs) {
      const q = r.chance(0.5) ? '"' : "'";
      const v = q === '"' ? value.replaceAll('"', '&quot;') : value.replaceAll("'", '&apos;');
      tag += `${this.ws(1)}${key}${r.chance(0.1) ? this.ws(1) : ''}=${r.chance(0.1) ? this.ws(1) : ''}${q}${v}${q}`;
    }
    if (this.bad(0.03)) {
      tag += r.pick([' a="<"', ' b=unquoted', ' c', ' d="1"e="2"', ' ="x"', ' f="x', ' g=\'x"']);
    }
    tag += this.ws();
    if (r.chance(0.25)) return `${tag}/>`;
    const body = depth < this.maxDepth ? this.content(depth + 1, local) : r.chance(0.5) ? this.textRun() : '';
    let end = name;
    if (this.bad(0.04)) end = r.pick([`${name}x`, name.toUpperCase(), 'other', `${name} x`, '']);
    if (this.bad(0.02)) return `${tag}>${body}`;
    return `${tag}>${body}</${end}${r.chance(0.1) ? this.ws(1) : ''}>`;
  }

  private uri(): string {
    if (this.r.chance(0.08)) return this.r.pick(ODD_URIS);
    return this.r.pick(URIS);
  }

  /** The content of an element at `depth` (its children are at depth + 1). */
  private content(depth: number, scope: Map<string, string>): string {
    const r = this.r;
    const pieces: { text: boolean; s: string }[] = [];
    const n = r.int(depth > 3 ? 3 : 6);
    for (let i = 0; i < n; i++) {
      const k = r.int(10);
      if (this.bad(0.05)) pieces.push({ text: false, s: this.hostileContent() });
      else if (this.restricted(0.1)) pieces.push({ text: false, s: r.pick(RESTRICTED_CONTENT) });
      else if (k < 4) pieces.push({ text: true, s: this.textRun() });
      else if (k < 5) pieces.push({ text: false, s: this.cdata() });
      else pieces.push({ text: false, s: this.element(depth, scope) });
    }
    // Adjacent text runs may join into ']]>', which only a hostile document may contain.
    let out = '';
    let run = '';
    for (const p of pieces) {
      if (p.text) {
        run += p.s;
        continue;
      }
      out += this.hostility > 0 ? run : run.replaceAll(']]>', ']]&gt;');
      run = '';
      out += p.s;
    }
    return out + (this.hostility > 0 ? run : run.replaceAll(']]>', ']]&gt;'));
  }

  private declaration(): string {
    const r = this.r;
    const q = () => (r.chance(0.5) ? '"' : "'");
    const eq = () => `${r.chance(0.2) ? ' ' : ''}=${r.chance(0.2) ? '\t' : ''}`;
    const version = this.bad(0.1) ? r.pick(['2.0', '1', '1.x', '']) : r.pick(['1.0', '1.0', '1.1', '1.9']);
    let parts = [`version${eq()}${this.quoted(version, q())}`];
    if (r.chance(0.5)) {
      const enc = this.bad(0.3) || this.restricted(0.8) ? r.pick(BAD_ENCODINGS) : r.pick(ENCODINGS);
      parts.push(`encoding${eq()}${this.quoted(enc, q())}`);
    }
    if (r.chance(0.3))
      parts.push(`standalone${eq()}${this.quoted(this.bad(0.2) ? 'maybe' : r.pick(['yes', 'no']), q())}`);
    if (this.bad(0.1)) parts = parts.reverse();
    if (this.bad(0.05)) parts = parts.slice(1);
    const target = this.bad(0.05) ? r.pick(['XML', 'Xml', 'xml-stylesheet']) : 'xml';
    return `<?${target} ${parts.join(this.ws(1))}${this.ws()}?>`;
  }

  private quoted(value: string, q: string): string {
    return `${q}${value}${q}`;
  }

  private misc(): string {
    const r = this.r;
    if (this.restricted(0.3)) return r.pick(RESTRICTED_PROLOG) + this.ws();
    if (!this.bad(0.15)) return this.ws();
    return r.pick([
      '<!-- prolog -->',
      '<?pi data?>',
      '<!DOCTYPE stream:stream>',
      '<!DOCTYPE r [<!ENTITY e "x">]>',
      '<!DOCTYPE r SYSTEM "r.dtd">',
      'text',
      '&amp;',
      '&#32;',
      '<![CDATA[ ]]>',
      '\u00A0',
      '\uFEFF',
      r.pick(FORBIDDEN_CHARS),
      '</x>',
    ]);
  }

  /** A stream: optional BOM and declaration, a root with declarations, stanzas, maybe the end tag. */
  document(): string {
    const r = this.r;
    this.maxDepth = r.chance(0.03) ? 12 : 2 + r.int(4);
    let doc = '';
    if (r.chance(0.05)) doc += '\uFEFF';
    if (this.bad(0.02)) doc += ' ';
    if (r.chance(this.restriction > 0 ? 0.5 : 0.3)) doc += this.declaration();
    doc += this.misc();
    if (this.bad(0.05)) doc += this.misc();
    // The root.
    const scope = new Map<string, string>();
    let open: string;
    let name: string;
    if (r.chance(0.4)) {
      name = 'stream:stream';
      scope.set('stream', 'http://etherx.jabber.org/streams');
      open = `<stream:stream${this.ws(1)}xmlns='jabber:client'${this.ws(1)}xmlns:stream='http://etherx.jabber.org/streams'${this.ws(1)}to='example.com' version='1.0'${r.chance(0.3) ? " xml:lang='en'" : ''}${this.ws()}`;
      if (r.chance(0.2)) {
        scope.set('db', 'jabber:server:dialback');
        open += ` xmlns:db="jabber:server:dialback"`;
      }
    } else {
      const decls: string[] = [];
      if (r.chance(0.75)) decls.push(`xmlns="${r.chance(0.05) ? '' : this.uri()}"`);
      for (let i = r.int(4); i > 0; i--) {
        const prefix = this.newPrefix();
        if (scope.has(prefix)) continue;
        const uri = this.uri();
        scope.set(prefix, uri);
        decls.push(`xmlns:${prefix}="${uri}"`);
      }
      if (r.chance(0.1)) decls.push(`xmlns:xml="${XML_NS}"`);
      if (this.bad(0.05)) decls.push(r.pick(['xmlns:e=""', `xmlns="${XML_NS}"`, 'xmlns:xmlns="urn:x"']));
      if (r.chance(0.2)) decls.push(`${this.ncname()}="${this.attrValue('"')}"`);
      name = this.elementName([...scope.keys()]);
      open = `<${name}${decls.map((d) => `${this.ws(1)}${d}`).join('')}${this.ws()}`;
    }
    if (r.chance(0.04)) return `${doc}${open}/>${this.ws()}`;
    doc += `${open}>`;
    for (let i = r.int(6); i > 0; i--) {
      doc += this.element(2, scope);
      // Between stanzas: whitespace keepalives, and now and then text that is checked then dropped.
      if (r.chance(0.15))
        doc += r.pick([this.textRun().replaceAll(']]>', ']]&gt;'), this.cdata(), '&#32;', 'x']);
      else doc += this.ws();
      if (this.bad(0.04)) doc += this.hostileContent();
      if (this.restricted(0.05)) doc += r.pick(RESTRICTED_CONTENT);
    }
    if (r.chance(0.1)) return doc; // the stream is still open
    if (r.chance(0.05)) return doc + r.pick(['<', '</', `</${name}`, '<m', '<m a="']);
    doc += `</${name}>${this.ws()}`;
    if (this.bad(0.1)) doc += this.misc() + (r.chance(0.3) ? '<again/>' : '');
    // Unfinished markup after the root: a document that ends there is not well-formed.
    if (this.bad(0.05))
      doc += r.pick(['<', '<!', '<!-', '<![CDATA[', '<!DOC', '<?', '<?x', '<a', '</', '&', '&amp']);
    return doc;
  }
}

/** One or more random edits of the bytes of a document; often leaves invalid XML or invalid UTF-8. */
export function mutate(r: Rng, input: Uint8Array): Buffer {
  let bytes = Buffer.from(input);
  const edits = 1 + r.int(3);
  for (let e = 0; e < edits; e++) {
    const at = r.int(bytes.length + 1);
    const k = r.int(10);
    if (k < 2) bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1)]);
    else if (k < 5) {
      const ins = r.pick(MUTATION_INSERTS);
      const b = typeof ins === 'string' ? Buffer.from(ins) : Buffer.from(ins);
      bytes = Buffer.concat([bytes.subarray(0, at), b, bytes.subarray(at)]);
    } else if (k < 7 && at < bytes.length) {
      const ins = r.pick(MUTATION_INSERTS);
      const b = typeof ins === 'string' ? Buffer.from(ins) : Buffer.from(ins);
      bytes = Buffer.concat([bytes.subarray(0, at), b, bytes.subarray(at + 1)]);
    } else if (k < 8) {
      const len = 1 + r.int(12);
      bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + len)]);
    } else if (k < 9) {
      const len = 1 + r.int(20);
      bytes = Buffer.concat([
        bytes.subarray(0, at + len),
        bytes.subarray(at, at + len),
        bytes.subarray(at + len),
      ]);
    } else bytes = bytes.subarray(0, at);
  }
  return bytes;
}

export type DocumentKind = 'clean' | 'restricted' | 'hostile' | 'mutated';

export interface CorpusDocument {
  kind: DocumentKind;
  bytes: Buffer;
}

/** `count` documents from `seed`: about 40% clean, 10% restricted, 22% hostile, 28% mutated clean ones. */
export function generateCorpus(seed: number, count: number): CorpusDocument[] {
  const r = new Rng(seed);
  const docs: CorpusDocument[] = [];
  for (let i = 0; i < count; i++) {
    const roll = r.next();
    if (roll < 0.4) {
      docs.push({ kind: 'clean', bytes: Buffer.from(new DocumentGenerator(r, 0).document()) });
    } else if (roll < 0.5) {
      docs.push({
        kind: 'restricted',
        bytes: Buffer.from(new DocumentGenerator(r, 0, 0.5 + r.next()).document()),
      });
    } else if (roll < 0.72) {
      let bytes = Buffer.from(new DocumentGenerator(r, 0.3 + r.next()).document());
      // A character cut off by the end of the input.
      if (r.chance(0.05))
        bytes = Buffer.concat([bytes, Buffer.from(r.pick([[0xc3], [0xe2, 0x82], [0xf0, 0x9f, 0x98]]))]);
      docs.push({ kind: 'hostile', bytes });
    } else {
      const base = Buffer.from(new DocumentGenerator(r, 0).document());
      docs.push({ kind: 'mutated', bytes: mutate(r, base) });
    }
  }
  return docs;
}

/** Cut points for feeding `length` bytes in random chunks, biased towards the inside of UTF-8 sequences. */
export function randomCuts(r: Rng, bytes: Uint8Array): number[] {
  const cuts = new Set<number>();
  const n = 1 + r.int(8);
  for (let i = 0; i < n && bytes.length > 1; i++) {
    let at = 1 + r.int(bytes.length - 1);
    if (r.chance(0.5)) {
      // Move to the nearest continuation byte, to split a multi-byte character.
      for (let j = at; j < bytes.length; j++) {
        if ((bytes[j] & 0xc0) === 0x80) {
          at = j;
          break;
        }
      }
    }
    cuts.add(at);
  }
  return [...cuts].sort((a, b) => a - b);
}
