/**
 * Just enough XML for a load generator: a scanner that cuts the server's byte stream into top-level
 * stanzas, and a small parser for one stanza. The generator shares the CPU with the server it measures,
 * so this does no namespace processing and no validation: it trusts the server to send well-formed XML.
 */

/** One parsed element: qualified name, attributes (entities decoded), child elements and text. */
export interface Element {
  name: string;
  attrs: Record<string, string>;
  children: Element[];
  text: string;
}

/** What the scanner yields: the stream header, a complete stanza (its source text) or the stream's end. */
export type StreamEvent =
  | { kind: 'open'; attrs: Record<string, string> }
  | { kind: 'stanza'; xml: string }
  | { kind: 'close' };

/**
 * Splits the incoming text into top-level elements. The `<stream:stream>` start tag is reported on its
 * own (a restarted stream simply sends another one); every complete child of it comes out as a string.
 */
export class StanzaScanner {
  private buf = '';
  /** Where the element being assembled starts in `buf`. */
  private start = 0;
  /** Where scanning resumes. */
  private pos = 0;
  /** Element depth below the stream root. */
  private depth = 0;

  /** Discards everything buffered (after STARTTLS, where the old stream is over). */
  reset(): void {
    this.buf = '';
    this.start = this.pos = this.depth = 0;
  }

  /** Feeds a chunk; returns the events it completes. */
  feed(chunk: string): StreamEvent[] {
    const events: StreamEvent[] = [];
    this.buf = this.start === 0 ? this.buf + chunk : this.buf.slice(this.start) + chunk;
    this.pos -= this.start;
    this.start = 0;
    const buf = this.buf;
    for (;;) {
      const lt = buf.indexOf('<', this.pos);
      if (lt === -1) {
        if (this.depth === 0) this.start = this.pos = buf.length;
        else this.pos = buf.length;
        break;
      }
      if (this.depth === 0) this.start = lt;
      const next = buf.charCodeAt(lt + 1);
      if (Number.isNaN(next)) {
        this.pos = lt;
        break;
      }
      if (next === 0x3f /* ? */ || next === 0x21 /* ! */) {
        const terminator = next === 0x3f ? '?>' : buf.startsWith('<!--', lt) ? '-->' : ']]>';
        const end = buf.indexOf(terminator, lt + 2);
        if (end === -1) {
          this.pos = lt;
          break;
        }
        this.pos = end + terminator.length;
        if (this.depth === 0) this.start = this.pos;
        continue;
      }
      const gt = tagEnd(buf, lt + 1);
      if (gt === -1) {
        this.pos = lt;
        break;
      }
      this.pos = gt + 1;
      if (next === 0x2f /* / */) {
        if (this.depth === 0) {
          events.push({ kind: 'close' }); // </stream:stream>
          this.start = this.pos;
        } else if (--this.depth === 0) {
          events.push({ kind: 'stanza', xml: buf.slice(this.start, this.pos) });
          this.start = this.pos;
        }
      } else if (buf.charCodeAt(gt - 1) === 0x2f /* self-closing */) {
        if (this.depth === 0) {
          events.push({ kind: 'stanza', xml: buf.slice(lt, this.pos) });
          this.start = this.pos;
        }
      } else if (this.depth === 0 && isStreamHeader(buf, lt)) {
        events.push({ kind: 'open', attrs: parseAttrs(buf.slice(lt, gt)) });
        this.start = this.pos;
      } else {
        this.depth++;
      }
    }
    return events;
  }
}

/** The index of the `>` ending the tag whose name starts at `from`, skipping quoted attribute values. */
export function tagEnd(s: string, from: number): number {
  let quote = 0;
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (quote !== 0) {
      if (c === quote) quote = 0;
    } else if (c === 0x22 || c === 0x27) quote = c;
    else if (c === 0x3e) return i;
  }
  return -1;
}

function isStreamHeader(s: string, lt: number): boolean {
  const name = s.slice(lt + 1, lt + 1 + s.slice(lt + 1, lt + 64).search(/[\s/>]|$/));
  return name === 'stream' || name.endsWith(':stream');
}

const ATTR = /([^\s=/>]+)\s*=\s*(?:'([^']*)'|"([^"]*)")/g;

function parseAttrs(tag: string): Record<string, string> {
  const attrs: Record<string, string> = {};
  for (const m of tag.matchAll(ATTR)) attrs[m[1]] = unescapeXml(m[2] ?? m[3]);
  return attrs;
}

/** One attribute of a start tag (`<message ... >`, up to its `>`), entities left as they are. */
export function attrValue(startTag: string, name: string): string | undefined {
  for (const quote of ["'", '"']) {
    const at = startTag.indexOf(` ${name}=${quote}`);
    if (at !== -1) {
      const from = at + name.length + 3;
      return startTag.slice(from, startTag.indexOf(quote, from));
    }
  }
  return undefined;
}

const ENTITY = /&(amp|lt|gt|quot|apos|#x[0-9a-fA-F]+|#[0-9]+);/g;
const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

export function unescapeXml(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(ENTITY, (_, e: string) =>
    e[0] === '#' ? String.fromCodePoint(Number(e[1] === 'x' ? `0${e.slice(1)}` : e.slice(1))) : NAMED[e],
  );
}

export function escapeXml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": 'apos' }[c]};`,
  );
}

const TOKEN =
  /<!\[CDATA\[([\s\S]*?)\]\]>|<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<\/[^>]*>|<((?:[^>"']|"[^"]*"|'[^']*')*)>|([^<]+)/g;

/** Parses one complete element (a stanza the scanner produced). */
export function parseElement(xml: string): Element {
  const root: Element = { name: '', attrs: {}, children: [], text: '' };
  const stack: Element[] = [root];
  for (const m of xml.matchAll(TOKEN)) {
    const top = stack[stack.length - 1];
    if (m[1] !== undefined) top.text += m[1];
    else if (m[3] !== undefined) top.text += unescapeXml(m[3]);
    else if (m[2] !== undefined) {
      const tag = m[2];
      const selfClosing = tag.endsWith('/');
      const nameEnd = tag.search(/[\s/]|$/);
      const el: Element = { name: tag.slice(0, nameEnd), attrs: parseAttrs(tag), children: [], text: '' };
      top.children.push(el);
      if (!selfClosing) stack.push(el);
    } else if (m[0].startsWith('</')) stack.pop();
  }
  const el = root.children[0];
  if (el === undefined) throw new Error(`not an element: ${xml.slice(0, 80)}`);
  return el;
}

/** The local part of a qualified name (`stream:features` → `features`). */
export function localName(name: string): string {
  const colon = name.indexOf(':');
  return colon === -1 ? name : name.slice(colon + 1);
}

/** The first child named `name` (local name), if any. */
export function child(el: Element, name: string): Element | undefined {
  return el.children.find((c) => localName(c.name) === name);
}
