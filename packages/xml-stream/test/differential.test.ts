/**
 * Differential test of XmlStream against saxes (with namespaces) on a large seeded corpus: the same
 * accept/reject verdicts and the same stanza trees, in stream mode and in document mode, however the
 * bytes are chunked.
 *
 * saxes is the reference for XML 1.0 + Namespaces well-formedness. Where saxes departs from the specs,
 * the reference follows the specs and the departure is corrected below (see `specSaxes`), each with the
 * clause that decides it. RFC 6120's restrictions (section 11) come on top: a document saxes accepts is
 * still refused with `restricted-xml` if it has a comment, a processing instruction, a DOCTYPE or an
 * entity reference beyond the predefined five, and with `unsupported-encoding` if it declares an
 * encoding other than UTF-8 (section 11.6).
 */
import { isUtf8 } from 'node:buffer';
import type { XmlAttr, XmlElement } from '@tsjabberd/xml-stanza';
import { parse_element, type StreamErrorCondition, XmlStream } from '@tsjabberd/xml-stream';
import { SaxesParser, type SaxesTagNS } from 'saxes';
import { beforeAll, describe, expect, it } from 'vitest';
import { type CorpusDocument, generateCorpus, Rng, randomCuts, XML_NS, XMLNS_NS } from './corpus.js';

const SEED = 0x5eed_2024;
const DOCUMENTS = 8000;

type ErrorEvent = ['error', StreamErrorCondition, position: number];
type Event = ['start', string, XmlAttr[]] | ['element', XmlElement] | ['end', string] | ErrorEvent;

// ---------------------------------------------------------------------------------------------------
// The reference: saxes, corrected to the specs.

/** NameStartChar, XML 1.0 fifth edition production [4], transcribed from the spec. */
const NAME_START_CHAR =
  /^[:A-Z_a-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u02FF\u0370-\u037D\u037F-\u1FFF\u200C-\u200D\u2070-\u218F\u2C00-\u2FEF\u3001-\uD7FF\uF900-\uFDCF\uFDF0-\uFFFD\u{10000}-\u{EFFFF}]/u;

/** The saxes members the corrections replace (not part of its typed API). */
interface SaxesInternals {
  qname(name: string): { prefix: string; local: string };
  pushAttrib(name: string, value: string): void;
  fail(message: string): unknown;
  attribList: { name: string; prefix: string; local: string; value: string }[];
  topNS: Record<string, string>;
}

/** Namespaces 1.0 section 3, "Reserved Prefixes and Namespace Names" (saxes's nsPairCheck, untrimmed). */
function checkBinding(parser: SaxesInternals, prefix: string, uri: string): void {
  if (prefix === 'xml' && uri !== XML_NS) parser.fail(`xml prefix must be bound to ${XML_NS}.`);
  if (prefix === 'xmlns') parser.fail('the xmlns prefix may not be declared.');
  if (uri === XMLNS_NS) parser.fail(`may not bind anything to ${XMLNS_NS}.`);
  if (uri === XML_NS && prefix !== 'xml')
    parser.fail(`may not bind ${prefix || 'the default namespace'} to ${XML_NS}.`);
}

/**
 * A saxes parser with namespaces, corrected where saxes 6.0.0 departs from the specs:
 *
 * 1. saxes switches to XML 1.1 rules on `<?xml version="1.1"?>` (NEL and LS become line ends, C1
 *    controls are refused). XMPP is XML 1.0, and XML 1.0 section 2.8 says a 1.0 processor reads a 1.x
 *    document as 1.0: forceXMLVersion keeps saxes on 1.0.
 * 2. saxes trims namespace declarations (`value.trim()` in pushAttribNS). Namespaces 1.0 section 2.2
 *    makes the namespace name the attribute's normalised value, and section 2.3 compares names as
 *    strings, character by character. So `xmlns:p=" "` is a legal, non-empty declaration (saxes: "invalid
 *    attempt to undefine prefix"), `xmlns:p=" http://www.w3.org/XML/1998/namespace"` does not bind the
 *    reserved name, and `p:a`/`q:a` with p bound to "u" and q to " u" are distinct attributes. The
 *    replacement below is saxes's pushAttribNS without the trim.
 * 3. saxes checks only the colons of a qualified name, not that the local part is an NCName
 *    (Namespaces 1.0 productions [7]-[11]: LocalPart ::= NCName, a Name, which starts with a
 *    NameStartChar). So `<p:-a>` or `p:1a="x"` are not namespace-well-formed; saxes accepts them.
 */
function specSaxes(): SaxesParser<{ xmlns: true; forceXMLVersion: true; defaultXMLVersion: '1.0' }> {
  const parser = new SaxesParser({ xmlns: true, forceXMLVersion: true, defaultXMLVersion: '1.0' });
  const internals = parser as unknown as SaxesInternals;
  const qname = internals.qname;
  internals.qname = function (this: SaxesInternals, name: string) {
    const parts = qname.call(this, name);
    if (parts.prefix !== '' && parts.local !== '' && !NAME_START_CHAR.test(parts.local)) {
      this.fail(`malformed name: ${name}.`);
    }
    return parts;
  };
  internals.pushAttrib = function (this: SaxesInternals, name: string, value: string) {
    const { prefix, local } = this.qname(name);
    this.attribList.push({ name, prefix, local, value });
    if (prefix === 'xmlns') {
      if (value === '') this.fail('invalid attempt to undefine prefix in XML 1.0');
      this.topNS[local] = value;
      checkBinding(this, local, value);
    } else if (name === 'xmlns') {
      this.topNS[''] = value;
      checkBinding(this, '', value);
    }
  };
  return parser;
}

/** What the corrected saxes makes of a document, and the events an XmlStream should report for it. */
interface Reference {
  utf8: boolean;
  /** Valid UTF-8 but for a character cut off by the end of the input (which an open stream may have). */
  utf8Prefix: boolean;
  text: string;
  /** saxes's error messages; saxes carries on after an error, so there may be several. */
  errors: string[];
  /** A comment, processing instruction or DOCTYPE was read (saxes reports them as events). */
  restricted: boolean;
  /** The encoding of the XML declaration at the start, if any. */
  encoding: string | undefined;
  /** Stream-mode events: the root's start, each stanza (with the root bindings it relies on), the end. */
  events: Event[];
  /** How many of `events` saxes reported before its first error. */
  clean: number;
  /** The root element as a tree, for document mode. */
  root: XmlElement | undefined;
  /** The root closed and only whitespace follows: a stream parser has seen all there is. */
  complete: boolean;
}

function addText(el: XmlElement, text: string): void {
  if (text === '') return;
  const children = el[3];
  const last = children[children.length - 1];
  if (last !== undefined && last[0] === 'xmlcdata') last[1] += text;
  else children.push(['xmlcdata', text]);
}

/** `bytes` without a final UTF-8 sequence whose lead byte announces more bytes than there are. */
function withoutCutCharacter(bytes: Buffer): Buffer {
  for (let i = bytes.length - 1; i >= 0 && i >= bytes.length - 3; i--) {
    const b = bytes[i];
    if ((b & 0xc0) === 0x80) continue;
    const length = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return length > bytes.length - i ? bytes.subarray(0, i) : bytes;
  }
  return bytes;
}

function reference(bytes: Buffer): Reference {
  // Invalid UTF-8 becomes U+FFFD here; `utf8` records that the document must be refused anyway.
  const text = bytes.toString('utf8');
  const ref: Reference = {
    utf8: isUtf8(bytes),
    utf8Prefix: isUtf8(withoutCutCharacter(bytes)),
    text,
    errors: [],
    restricted: false,
    encoding: undefined,
    events: [],
    clean: -1,
    root: undefined,
    complete: false,
  };
  const parser = specSaxes();
  const stack: { tag: SaxesTagNS; el: XmlElement }[] = [];
  let rootClosedAt = -1;
  let declarations = 0;
  // The stream root's bindings the current stanza relies on: an unprefixed element in the scope of the
  // root's default namespace, a prefix (of an element or attribute name) bound on the root. The `xml`
  // prefix is bound by definition (Namespaces 1.0 section 3), so a stanza never needs to carry it.
  let usesRootDefault = false;
  let rootPrefixes: string[] = [];
  const declaredAt = (prefix: string): number => {
    for (let i = stack.length - 1; i >= 0; i--) if (Object.hasOwn(stack[i].tag.ns, prefix)) return i + 1;
    return 0;
  };

  parser.on('error', (e) => {
    if (ref.clean < 0) ref.clean = ref.events.length;
    ref.errors.push(e.message.replace(/^\d+:\d+: /, ''));
  });
  parser.on('xmldecl', (decl) => {
    // A misplaced declaration is an error; only the first can be the document's.
    if (declarations++ === 0) ref.encoding = decl.encoding;
  });
  parser.on('comment', () => {
    ref.restricted = true;
  });
  parser.on('processinginstruction', () => {
    ref.restricted = true;
  });
  parser.on('doctype', () => {
    ref.restricted = true;
  });
  parser.on('opentag', (tag) => {
    const attributes = Object.values(tag.attributes);
    const el: XmlElement = ['xmlelement', tag.name, attributes.map((a): XmlAttr => [a.name, a.value]), []];
    if (stack.length > 0) stack[stack.length - 1].el[3].push(el);
    stack.push({ tag, el });
    if (stack.length === 1) {
      ref.root = el;
      ref.events.push(['start', tag.name, el[2].map((a): XmlAttr => [a[0], a[1]])]);
      return;
    }
    if (tag.prefix === '' && declaredAt('') === 1) usesRootDefault = true;
    for (const prefix of [tag.prefix, ...attributes.map((a) => a.prefix)]) {
      if (prefix === '' || prefix === 'xml' || prefix === 'xmlns' || rootPrefixes.includes(prefix)) continue;
      if (declaredAt(prefix) === 1) rootPrefixes.push(prefix);
    }
  });
  const onText = (t: string) => {
    if (stack.length > 0) addText(stack[stack.length - 1].el, t);
  };
  parser.on('text', onText);
  parser.on('cdata', onText);
  parser.on('closetag', (tag) => {
    const top = stack.pop();
    if (top === undefined) return;
    if (stack.length === 1) {
      const rootNs = stack[0].tag.ns;
      const carried: XmlAttr[] = [];
      if (usesRootDefault) carried.push(['xmlns', rootNs['']]);
      for (const prefix of rootPrefixes) carried.push([`xmlns:${prefix}`, rootNs[prefix]]);
      ref.events.push(['element', [top.el[0], top.el[1], [...top.el[2], ...carried], top.el[3]]]);
      usesRootDefault = false;
      rootPrefixes = [];
    } else if (stack.length === 0) {
      ref.events.push(['end', tag.name]);
      rootClosedAt = parser.position;
    }
  });
  parser.write(text);
  if (ref.clean < 0) ref.clean = ref.events.length; // errors found only at the end leave all events clean
  parser.close();
  ref.complete = rootClosedAt >= 0 && /^[ \t\r\n]*$/.test(text.slice(rootClosedAt));
  return ref;
}

const ENCODING_HINT = /^\uFEFF?<\?xml[ \t\r\n][^>]*encoding[ \t\r\n]*=[ \t\r\n]*["'](?!utf-8["'])/i;
/** Something that may be a restricted construct in a document too broken for saxes to say. */
const RESTRICTED_HINT = /<!--|<!DOCTYPE|<\?|&(?!(?:amp|lt|gt|quot|apos);|#)[^\s&<>;"']+;/;

interface Verdict {
  accept: boolean;
  /** For a refusal, the conditions it may give. */
  conditions: StreamErrorCondition[];
}

/**
 * The verdict for a whole document: accepted, or refused with one of `conditions`. A document with
 * several faults may be refused for any of them (which is found first depends on the order of the
 * checks), so only a document whose sole faults are RFC 6120 restrictions gets an exact condition.
 */
function verdict(ref: Reference): Verdict {
  const badEncoding = (e: string | undefined) => e !== undefined && e.toLowerCase() !== 'utf-8';
  if (ref.utf8 && ref.errors.length === 0) {
    if (badEncoding(ref.encoding)) return { accept: false, conditions: ['unsupported-encoding'] };
    if (ref.restricted) return { accept: false, conditions: ['restricted-xml'] };
    return { accept: true, conditions: [] };
  }
  // saxes reports a reference to an undeclared entity as an error: with no other fault, it is restricted.
  if (ref.utf8 && ref.errors.every((e) => e === 'undefined entity.')) {
    return {
      accept: false,
      conditions: [badEncoding(ref.encoding) ? 'unsupported-encoding' : 'restricted-xml'],
    };
  }
  const conditions: StreamErrorCondition[] = ['not-well-formed'];
  if (ref.restricted || RESTRICTED_HINT.test(ref.text)) conditions.push('restricted-xml');
  if (ENCODING_HINT.test(ref.text)) conditions.push('unsupported-encoding');
  return { accept: false, conditions };
}

// ---------------------------------------------------------------------------------------------------
// Our parser.

const OPTIONS = { rootNamespace: null, maxStanzaSize: Infinity, maxDepth: 100_000, maxAttributes: 100_000 };

/** Events of an XmlStream fed `bytes` whole, one byte at a time, or cut at `cuts`. */
function ours(bytes: Buffer, chunking: 'whole' | 'bytes' | number[], document: boolean): Event[] {
  const events: Event[] = [];
  const parser = new XmlStream(
    {
      xmlstreamstart: (name, attrs) => events.push(['start', name, attrs]),
      xmlstreamelement: (el) => events.push(['element', el]),
      xmlstreamend: (name) => events.push(['end', name]),
      xmlstreamerror: (error) => events.push(['error', error.condition, error.position]),
    },
    { ...OPTIONS, document },
  );
  if (chunking === 'whole') parser.write(bytes);
  else if (chunking === 'bytes')
    for (let i = 0; i < bytes.length; i++) parser.write(bytes.subarray(i, i + 1));
  else {
    let from = 0;
    for (const cut of [...chunking, bytes.length]) {
      parser.write(bytes.subarray(from, cut));
      from = cut;
    }
  }
  parser.end();
  return events;
}

// ---------------------------------------------------------------------------------------------------
// Comparison and reporting.

function show(bytes: Buffer): string {
  if (isUtf8(bytes)) return JSON.stringify(bytes.toString('utf8'));
  return `(invalid UTF-8) ${JSON.stringify(bytes.toString('latin1'))} hex ${bytes.toString('hex')}`;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const errorOf = (events: Event[]) => events.find((e): e is ErrorEvent => e[0] === 'error');
const beforeError = (events: Event[]) => (errorOf(events) === undefined ? events : events.slice(0, -1));

class Failures {
  private readonly found: { doc: Buffer; detail: string }[] = [];

  add(doc: Buffer, detail: string): void {
    this.found.push({ doc, detail });
  }

  get count(): number {
    return this.found.length;
  }

  /** The shortest failing documents, one per distinct kind of detail, for a readable message. */
  report(): string {
    const seen = new Set<string>();
    const lines: string[] = [];
    for (const f of [...this.found].sort((a, b) => a.doc.length - b.doc.length)) {
      const key = f.detail.replace(/".*/s, '').slice(0, 60);
      if (seen.has(key) || lines.length >= 12) continue;
      seen.add(key);
      lines.push(`${show(f.doc)}\n    ${f.detail}`);
    }
    return `${this.found.length} documents disagree; shortest of each kind:\n  ${lines.join('\n  ')}`;
  }
}

/** Checks a refusal: an error event, with an allowed condition, after events the reference agrees with. */
function checkRefusal(
  failures: Failures,
  doc: Buffer,
  got: Event[],
  expected: Event[],
  clean: number,
  conditions: StreamErrorCondition[],
  what: string,
): void {
  const error = errorOf(got);
  if (error === undefined) {
    failures.add(
      doc,
      `${what}: accepted, expected a refusal (${conditions.join(' or ')}); got ${JSON.stringify(got)}`,
    );
    return;
  }
  if (!conditions.includes(error[1])) {
    failures.add(doc, `${what}: refused with ${error[1]}, expected ${conditions.join(' or ')}`);
  }
  const before = beforeError(got);
  if (before.length > clean || !same(before, expected.slice(0, before.length))) {
    failures.add(
      doc,
      `${what}: events before the error differ: ${JSON.stringify(before)} vs ${JSON.stringify(expected)}`,
    );
  }
}

/** Stream mode against the reference: exact when the root closed, else what was reported must agree. */
function checkStream(failures: Failures, doc: Buffer, ref: Reference, v: Verdict): void {
  const got = ours(doc, 'whole', false);
  const error = errorOf(got);
  if (ref.complete) {
    // The root closed: the stream parser has read everything, so the verdict must be exact.
    if (!v.accept) checkRefusal(failures, doc, got, ref.events, ref.clean, v.conditions, 'stream');
    else if (!same(got, ref.events)) {
      failures.add(doc, `stream: got ${JSON.stringify(got)}, saxes ${JSON.stringify(ref.events)}`);
    }
    return;
  }
  // The stream stops before its root closes, as when a connection drops: what is unfinished at the end
  // may never be judged. But every event must be one saxes reported before its first error (so a fault
  // in a complete stanza must be refused), and a complete restricted construct or bad UTF-8 refused.
  if (error !== undefined) {
    const conditions: StreamErrorCondition[] = [...new Set([...v.conditions, 'not-well-formed' as const])];
    checkRefusal(failures, doc, got, ref.events, ref.clean, conditions, 'open stream');
  } else if (ref.restricted || !ref.utf8Prefix) {
    failures.add(
      doc,
      `open stream: accepted, but it has ${ref.utf8Prefix ? 'a restricted construct' : 'invalid UTF-8'}`,
    );
  } else if (!same(got, ref.events.slice(0, ref.clean))) {
    const expected = JSON.stringify(ref.events.slice(0, ref.clean));
    failures.add(doc, `open stream: got ${JSON.stringify(got)}, saxes ${expected} (${ref.errors.join(' ')})`);
  }
}

/** Document mode against the reference: always exact, since `end()` says the document is complete. */
function checkDocument(failures: Failures, doc: Buffer, ref: Reference, v: Verdict): void {
  const got = ours(doc, 'whole', true);
  const saxes = ref.errors.join(' ') || (ref.restricted ? 'restricted construct' : 'accepted');
  if (v.accept) {
    const expected: Event[] = [['element', ref.root as XmlElement]];
    if (!same(got, expected))
      failures.add(doc, `document: got ${JSON.stringify(got)}, saxes ${JSON.stringify(expected)}`);
    return;
  }
  const error = errorOf(got);
  if (error === undefined) {
    failures.add(doc, `document: accepted, expected ${v.conditions.join(' or ')} (saxes: ${saxes})`);
  } else if (!v.conditions.includes(error[1])) {
    failures.add(
      doc,
      `document: refused with ${error[1]}, expected ${v.conditions.join(' or ')} (saxes: ${saxes})`,
    );
  }
}

/** parse_element on the decoded string gives what document mode gives on the bytes. */
function checkParseElement(failures: Failures, doc: Buffer, ref: Reference): void {
  if (!ref.utf8) return; // the string would not hold the same characters as the bytes
  const events = ours(doc, 'whole', true);
  const error = errorOf(events);
  const expected = error === undefined ? (events[0]?.[1] ?? null) : ['error', error[1]];
  const result = parse_element(ref.text);
  const got = result[0] === 'error' ? ['error', result[1].condition] : result;
  if (!same(got, expected))
    failures.add(doc, `parse_element: ${JSON.stringify(got)}, document mode ${JSON.stringify(expected)}`);
}

interface Chunked {
  doc: Buffer;
  document: boolean;
  whole: Event[];
  fed: { how: string; events: Event[] }[];
}

/** A document's events fed whole, one byte at a time, and in random chunks (often cut inside characters). */
function chunked(r: Rng, doc: Buffer, document: boolean): Chunked {
  const cuts = randomCuts(r, doc);
  return {
    doc,
    document,
    whole: ours(doc, 'whole', document),
    fed: [
      { how: 'one byte at a time', events: ours(doc, 'bytes', document) },
      { how: `cut at ${JSON.stringify(cuts)}`, events: ours(doc, cuts, document) },
    ],
  };
}

/** The same events and error condition however the bytes are chunked (positions: `checkPositions`). */
function checkChunking(failures: Failures, c: Chunked): void {
  const withoutPosition = (events: Event[]) => events.map((e) => (e[0] === 'error' ? ['error', e[1]] : e));
  for (const { how, events } of c.fed) {
    if (!same(withoutPosition(events), withoutPosition(c.whole))) {
      const mode = c.document ? 'document' : 'stream';
      failures.add(c.doc, `${mode} fed ${how}: ${JSON.stringify(events)}, whole ${JSON.stringify(c.whole)}`);
    }
  }
}

/** An error is reported at the same position however the bytes are chunked. */
function checkPositions(failures: Failures, c: Chunked): void {
  const error = errorOf(c.whole);
  if (error === undefined) return;
  for (const { how, events } of c.fed) {
    const other = errorOf(events);
    if (other !== undefined && other[1] === error[1] && other[2] !== error[2]) {
      const mode = c.document ? 'document' : 'stream';
      failures.add(
        c.doc,
        `${mode}: ${error[1]} at ${other[2]} when fed ${how}, at ${error[2]} when fed whole`,
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------------

interface Case {
  doc: CorpusDocument;
  ref: Reference;
  verdict: Verdict;
}

describe('XmlStream against saxes on a random corpus', () => {
  let cases: Case[] = [];
  let chunkings: Chunked[] | undefined;
  const allChunkings = () => {
    const r = new Rng(SEED ^ 0xc0ffee);
    chunkings ??= cases.flatMap(({ doc }) => [chunked(r, doc.bytes, false), chunked(r, doc.bytes, true)]);
    return chunkings;
  };

  beforeAll(() => {
    cases = generateCorpus(SEED, DOCUMENTS).map((doc) => {
      const ref = reference(doc.bytes);
      return { doc, ref, verdict: verdict(ref) };
    });
  });

  it('has a corpus that exercises every kind of input', () => {
    const count = (p: (c: Case) => boolean) => cases.filter(p).length;
    const accepted = cases.filter((c) => c.verdict.accept);
    const stanzas = (c: Case) => c.ref.events.flatMap((e) => (e[0] === 'element' ? [e[1]] : []));
    const only = (condition: StreamErrorCondition) => (c: Case) =>
      c.verdict.conditions.length === 1 && c.verdict.conditions[0] === condition;
    const stats = {
      accepted: accepted.length,
      acceptedWithStanzas: accepted.filter((c) => stanzas(c).length >= 2).length,
      carriedBindings: accepted.filter((c) =>
        stanzas(c).some((s) => s[2].some((a) => a[0].startsWith('xmlns'))),
      ).length,
      astralNames: accepted.filter((c) => /<[^>\s]*[\u{10000}-\u{EFFFF}]/u.test(c.ref.text)).length,
      charRefs: accepted.filter((c) => /&#x?[0-9a-fA-F]+;/.test(c.ref.text)).length,
      cdata: accepted.filter((c) => c.ref.text.includes('<![CDATA[')).length,
      lineEnds: accepted.filter((c) => c.ref.text.includes('\r')).length,
      notWellFormed: count(only('not-well-formed')),
      restricted: count(only('restricted-xml')),
      unsupportedEncoding: count(only('unsupported-encoding')),
      invalidUtf8: count((c) => !c.ref.utf8),
      openStreams: count((c) => !c.ref.complete),
    };
    expect(cases.length).toBe(DOCUMENTS);
    for (const [name, n] of Object.entries(stats))
      expect(n, `${name} in ${JSON.stringify(stats)}`).toBeGreaterThanOrEqual(40);
    expect(stats.accepted).toBeGreaterThan(DOCUMENTS * 0.3);
    expect(stats.accepted).toBeLessThan(DOCUMENTS * 0.7);
  });

  it('stream mode: same verdict as saxes and the same stanzas', () => {
    const failures = new Failures();
    for (const c of cases) checkStream(failures, c.doc.bytes, c.ref, c.verdict);
    expect(failures.count, failures.report()).toBe(0);
  });

  it('document mode: same verdict as saxes and the same tree', () => {
    const failures = new Failures();
    for (const c of cases) checkDocument(failures, c.doc.bytes, c.ref, c.verdict);
    expect(failures.count, failures.report()).toBe(0);
  });

  it('parse_element gives what document mode gives', () => {
    const failures = new Failures();
    for (const c of cases) checkParseElement(failures, c.doc.bytes, c.ref);
    expect(failures.count, failures.report()).toBe(0);
  });

  it('reports the same events and the same error condition however the bytes are chunked', () => {
    const failures = new Failures();
    for (const c of allChunkings()) checkChunking(failures, c);
    expect(failures.count, failures.report()).toBe(0);
  });

  it('reports an error at the same position however the bytes are chunked', () => {
    const failures = new Failures();
    for (const c of allChunkings()) checkPositions(failures, c);
    expect(failures.count, failures.report()).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------------
// Fixed inputs: where the reference departs from saxes, and the smallest inputs of each disagreement
// the random corpus has found.

/** Our events for `input` (a string is encoded as UTF-8), fed whole. */
const parse = (input: string | Buffer, document: boolean) =>
  ours(typeof input === 'string' ? Buffer.from(input) : input, 'whole', document);
const element = (el: XmlElement): Event[] => [['element', el]];
const conditionOf = (events: Event[]) => errorOf(events)?.[1];

describe('where the reference departs from saxes', () => {
  it('reads a document that declares version 1.1 by XML 1.0 rules (XML 1.0 section 2.8)', () => {
    // saxes would turn NEL and LS into line feeds, as XML 1.1 does.
    expect(parse('<?xml version="1.1"?><a>\u0085\u2028</a>', true)).toEqual(
      element(['xmlelement', 'a', [], [['xmlcdata', '\u0085\u2028']]]),
    );
  });

  it('takes namespace names as written, without trimming them (Namespaces 1.0 sections 2.2 and 2.3)', () => {
    // saxes: "invalid attempt to undefine prefix"; a prefix bound to " " is bound, to a non-empty name.
    expect(parse('<a xmlns:p=" "><p:b/></a>', true)).toEqual(
      element(['xmlelement', 'a', [['xmlns:p', ' ']], [['xmlelement', 'p:b', [], []]]]),
    );
    // saxes: "duplicate attribute"; 'urn:x' and ' urn:x' are different namespaces.
    expect(conditionOf(parse('<a xmlns:p="urn:x" xmlns:q=" urn:x" p:b="1" q:b="2"/>', true))).toBeUndefined();
    // saxes: reserved namespace; ' http://www.w3.org/XML/1998/namespace' is not the reserved name.
    expect(conditionOf(parse(`<a xmlns:p=" ${XML_NS}"/>`, true))).toBeUndefined();
    // A stanza carries the root's default namespace as the root declared it.
    expect(parse('<s xmlns=" urn:a "><m/>', false)).toEqual([
      ['start', 's', [['xmlns', ' urn:a ']]],
      ['element', ['xmlelement', 'm', [['xmlns', ' urn:a ']], []]],
    ]);
  });

  it('refuses a qualified name whose local part is not an NCName (Namespaces 1.0 productions [7]-[11])', () => {
    // saxes checks only the colons, and accepts all of these.
    for (const input of [
      '<p:-a xmlns:p="urn:p"/>',
      '<p:1a xmlns:p="urn:p"/>',
      '<p:. xmlns:p="urn:p"/>',
      '<p:\u00B7 xmlns:p="urn:p"/>',
      '<p:\u0300 xmlns:p="urn:p"/>',
      '<a xmlns:p="urn:p" p:-b=""/>',
      '<a xml:-=""/>',
      '<a xmlns:5="urn:p"/>',
      '<a xmlns:-p="urn:p"/>',
    ]) {
      expect(conditionOf(parse(input, true)), input).toBe('not-well-formed');
    }
  });

  it('does not make a stanza carry the xml prefix, which is bound by definition (Namespaces 1.0 section 3)', () => {
    expect(parse(`<s xmlns:xml="${XML_NS}"><m xml:lang="en"/>`, false)).toEqual([
      ['start', 's', [['xmlns:xml', XML_NS]]],
      ['element', ['xmlelement', 'm', [['xml:lang', 'en']], []]],
    ]);
  });
});

describe('the smallest disagreements the corpus found', () => {
  it('accepts a character reference with any number of leading zeros (XML 1.0 production [66])', () => {
    const zeros = '0'.repeat(40);
    expect(parse(`<a b="&#${zeros}65;">&#x${zeros}42;</a>`, true)).toEqual(
      element(['xmlelement', 'a', [['b', 'A']], [['xmlcdata', 'B']]]),
    );
  });

  it('refuses a reference to an undeclared entity as restricted-xml however long its name', () => {
    expect(conditionOf(parse('<a>&foo;</a>', true))).toBe('restricted-xml');
    expect(conditionOf(parse(`<a>&${'e'.repeat(40)};</a>`, true))).toBe('restricted-xml');
    expect(conditionOf(parse(`<a b="&${'e'.repeat(40)};"/>`, true))).toBe('restricted-xml');
  });

  it('refuses a document followed by unfinished markup or by part of a character', () => {
    for (const input of [
      '<a/><',
      '<a/><!',
      '<a/><!-',
      '<a/><?',
      '<a/>&',
      Buffer.from([0x3c, 0x61, 0x2f, 0x3e, 0xc3]),
    ]) {
      expect(conditionOf(parse(input, true)), JSON.stringify(input.toString())).toBe('not-well-formed');
    }
  });

  it('judges a chunk in document order: what precedes a bad character is reported as in smaller chunks', () => {
    for (const input of [
      Buffer.from('<r><a/>\u0001'),
      Buffer.from([...Buffer.from('<r><a/>'), 0xff]),
      Buffer.from('<r><!---->\u0001'),
      Buffer.from("<?xml version='1.0' encoding='ISO-8859-1'?><r>\u0001"),
    ]) {
      const whole = parse(input, false).map((e) => (e[0] === 'error' ? e.slice(0, 2) : e));
      const bytes = ours(input, 'bytes', false).map((e) => (e[0] === 'error' ? e.slice(0, 2) : e));
      expect(whole, JSON.stringify(input.toString('latin1'))).toEqual(bytes);
    }
  });

  it('reports an error at the same position however the bytes are chunked', () => {
    for (const input of [
      '<r><a>x&foo;</a>',
      "<r><a b='1' b='2'/>",
      Buffer.from([...Buffer.from('<r><a/>'), 0xff]),
    ]) {
      const doc = typeof input === 'string' ? Buffer.from(input) : input;
      expect(errorOf(ours(doc, 'bytes', false)), JSON.stringify(doc.toString('latin1'))).toEqual(
        errorOf(ours(doc, 'whole', false)),
      );
    }
  });
});
