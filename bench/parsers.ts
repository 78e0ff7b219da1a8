/**
 * The parsers compared, each driven the way an XMPP server drives it: one parser per stream, fed the
 * socket's chunks in order, building one tree per stanza (each child of the stream root) and handing it
 * to `sink`. Each returns the number of stanzas it delivered.
 *
 * xml-stream takes the bytes as they are. ltx, saxes and @xmpp/xml take strings: ltx and @xmpp/xml call
 * `data.toString()` on each chunk, which corrupts a UTF-8 character split between two chunks, so they are
 * given the chunks through a `StringDecoder` (what a correct server built on them must do), and its cost
 * is part of their time. `ltxRaw` is ltx fed the Buffers directly, kept only to show that corruption.
 */
import { StringDecoder } from 'node:string_decoder';
import { from_ltx, type XmlAttr, type XmlCdata, type XmlElement } from '@tsjabberd/xml-stanza';
import { XmlStream, type XmlStreamOptions } from '@tsjabberd/xml-stream';
import { Parser as XmppXmlParser } from '@xmpp/xml';
import { Element } from 'ltx';
import SaxLtx from 'ltx/src/parsers/ltx.js';
import { type SaxesAttributeNS, SaxesParser } from 'saxes';

type Sink<T> = (stanza: T) => void;

export interface Peer {
  /** Short name used in tables. */
  name: string;
  /** Parses one stream; returns the number of stanzas. */
  parse(chunks: readonly Buffer[], options?: XmlStreamOptions): number;
  /** Parses one stream and returns its stanzas as `XmlElement` tuples, for comparisons. */
  collect(chunks: readonly Buffer[], options?: XmlStreamOptions): XmlElement[];
}

/** The last stanza delivered, kept so that no engine could ever skip building the trees. */
export let lastStanza: unknown;
const keep: Sink<unknown> = (stanza) => {
  lastStanza = stanza;
};

function peer<T>(
  name: string,
  parse: (chunks: readonly Buffer[], sink: Sink<T>, options?: XmlStreamOptions) => number,
  toTuple: (stanza: T) => XmlElement,
): Peer {
  return {
    name,
    parse: (chunks, options) => parse(chunks, keep, options),
    collect(chunks, options) {
      const out: XmlElement[] = [];
      parse(chunks, (stanza) => out.push(toTuple(stanza)), options);
      return out;
    },
  };
}

/**
 * A deep copy of a stanza. The checks keep thousands of stanzas alive; when those were the parser's own
 * arrays, V8 went on to allocate that parser's trees straight in the old generation (allocation-site
 * pretenuring: --trace-gc showed scavenges freeing almost nothing and a full collection every few runs),
 * and every later run of xml-stream was 2-3 times slower than without the checks. The other parsers'
 * trees are converted by `from_ltx`, so what the checks keep are copies already.
 */
function copy(el: XmlElement): XmlElement {
  return [
    'xmlelement',
    el[1],
    el[2].map(([k, v]): XmlAttr => [k, v]),
    el[3].map((child) => (child[0] === 'xmlcdata' ? (['xmlcdata', child[1]] as XmlCdata) : copy(child))),
  ];
}

/** @tsjabberd/xml-stream with every check on (default options unless a test needs a bigger stanza limit). */
export const xmlStream = peer<XmlElement>(
  'xml-stream',
  (chunks, sink, options = {}) => {
    let count = 0;
    let error: unknown;
    const parser = new XmlStream(
      {
        xmlstreamstart() {},
        xmlstreamelement(el) {
          count++;
          sink(el);
        },
        xmlstreamend() {},
        xmlstreamerror(e) {
          error ??= e;
        },
      },
      options,
    );
    for (let i = 0; i < chunks.length; i++) parser.write(chunks[i]);
    parser.end();
    if (error !== undefined) throw new Error(`xml-stream: ${JSON.stringify(error)}`);
    return count;
  },
  copy,
);

/**
 * ltx's own SAX parser building a tree per stanza exactly as @xmpp/xml's Parser does (root, cursor,
 * `cursor.append`, `parent` set to the root when a stanza completes), without the EventEmitter between.
 */
function driveLtx(chunks: readonly Buffer[], sink: Sink<Element>, decode: boolean): number {
  const parser = new SaxLtx();
  const decoder = decode ? new StringDecoder('utf8') : null;
  let root: Element | null = null;
  let cursor: Element | null = null;
  let count = 0;
  parser.on('startElement', (name: string, attrs: Record<string, string>) => {
    const element = new Element(name, attrs);
    if (root === null) root = element;
    else if (cursor !== root) cursor!.append(element);
    cursor = element;
  });
  parser.on('endElement', (name: string) => {
    if (cursor === null || name !== cursor.name) throw new Error(`ltx: ${cursor?.name} must be closed`);
    if (cursor === root) return;
    if (!cursor.parent) {
      cursor.parent = root;
      count++;
      sink(cursor);
      cursor = root;
      return;
    }
    cursor = cursor.parent;
  });
  parser.on('text', (str: string) => {
    if (cursor === null) throw new Error(`ltx: ${str} must be a child`);
    cursor.t(str);
  });
  for (let i = 0; i < chunks.length; i++)
    parser.write(decoder === null ? chunks[i] : decoder.write(chunks[i]));
  if (decoder !== null) {
    const rest = decoder.end();
    if (rest !== '') parser.write(rest);
  }
  parser.end();
  return count;
}

export const ltx = peer<Element>('ltx', (chunks, sink) => driveLtx(chunks, sink, true), from_ltx);

/** ltx given the Buffers themselves (it decodes each chunk on its own): for the correctness report only. */
export const ltxRaw = peer<Element>(
  'ltx (Buffers, no StringDecoder)',
  (chunks, sink) => driveLtx(chunks, sink, false),
  from_ltx,
);

/** saxes with namespace processing, building an ltx Element per stanza from its events. */
export const saxes = peer<Element>(
  'saxes',
  (chunks, sink) => {
    const parser = new SaxesParser({ xmlns: true });
    const decoder = new StringDecoder('utf8');
    const stack: Element[] = [];
    let depth = 0;
    let count = 0;
    parser.on('opentag', (tag) => {
      depth++;
      if (depth === 1) return; // the stream root
      const attrs: Record<string, string> = {};
      const source = tag.attributes as Record<string, SaxesAttributeNS>;
      for (const key in source) attrs[key] = source[key].value;
      const element = new Element(tag.name, attrs);
      if (stack.length > 0) stack[stack.length - 1].append(element);
      stack.push(element);
    });
    parser.on('closetag', () => {
      depth--;
      if (depth === 0) return;
      const element = stack.pop()!;
      if (stack.length === 0) {
        count++;
        sink(element);
      }
    });
    const text = (str: string) => {
      if (stack.length > 0) stack[stack.length - 1].t(str);
    };
    parser.on('text', text);
    parser.on('cdata', text);
    parser.on('error', (e) => {
      throw e;
    });
    for (let i = 0; i < chunks.length; i++) parser.write(decoder.write(chunks[i]));
    const rest = decoder.end();
    if (rest !== '') parser.write(rest);
    parser.close();
    return count;
  },
  from_ltx,
);

/** @xmpp/xml's Parser (ltx's SAX parser underneath), as xmpp.js uses it. */
export const xmppXml = peer<Element>(
  '@xmpp/xml',
  (chunks, sink) => {
    const parser = new XmppXmlParser();
    const decoder = new StringDecoder('utf8');
    let count = 0;
    let error: unknown;
    parser.on('element', (el: Element) => {
      count++;
      sink(el);
    });
    parser.on('error', (e: unknown) => {
      error ??= e;
    });
    for (let i = 0; i < chunks.length; i++) parser.write(decoder.write(chunks[i]));
    const rest = decoder.end();
    if (rest !== '') parser.write(rest);
    parser.end();
    if (error !== undefined) throw error;
    return count;
  },
  from_ltx,
);

/** The peers of the parse benchmarks, baseline first. */
export const PEERS: readonly Peer[] = [ltx, xmlStream, saxes, xmppXml];
