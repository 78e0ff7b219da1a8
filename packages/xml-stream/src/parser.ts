import {
  ASCII_CLASS,
  FORBIDDEN_CHAR,
  isNameCharNonAscii,
  isNameStartNonAscii,
  NAME_CHAR,
  NAME_START,
  WHITESPACE,
  type XmlAttr,
  type XmlElement,
} from '@tsjabberd/xml-stanza';
import { Refusal, type XmlStreamError } from './errors.js';
import { NamespaceScope } from './namespaces.js';
import { type ResolvedOptions, resolveOptions, type XmlStreamOptions } from './options.js';
import { decodeAttribute, decodeText } from './references.js';
import { Utf8StreamDecoder, utf8Length } from './utf8.js';

/** Receives what the parser finds, under the names of ejabberd's xml_stream events. */
export interface XmlStreamHandler {
  /** The stream root opened (`<stream:stream ...>`): its qualified name and attributes. */
  xmlstreamstart(name: string, attrs: XmlAttr[]): void;
  /** A complete top-level child of the root: a stanza (or the document root, in document mode). */
  xmlstreamelement(el: XmlElement): void;
  /** The stream root closed. */
  xmlstreamend(name: string): void;
  /** The input was refused; the parser reports nothing more until `reset()`. */
  xmlstreamerror(error: XmlStreamError): void;
}

// Lexer states. Each case of the loop consumes a whole run (a name, a value, a text node), not a char.
const TEXT = 0; // character data, up to '<'
const LT = 1; // just after '<'
const START_NAME = 2; // the name of a start tag
const TAG = 3; // inside a start tag, between attributes
const ATTR_NAME = 4;
const ATTR_EQ = 5; // after an attribute name, before '='
const ATTR_QUOTE = 6; // after '=', before the opening quote
const ATTR_VALUE = 7;
const EMPTY_CLOSE = 8; // after '/' in a start tag
const END_NAME = 9; // the name of an end tag
const END_TAG = 10; // after the end tag's name, before '>'
const BANG = 11; // after '<!': CDATA, or a refused comment or DOCTYPE
const CDATA = 12; // inside <![CDATA[ ... ]]>
const PI = 13; // after '<?': the XML declaration, or a refused processing instruction
const FAILED = 14; // an error was reported; input is ignored until reset

/** Characters XML 1.0 forbids, but for surrogates: C0 controls other than tab/LF/CR, U+FFFE/U+FFFF. */
const CONTROL_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;

/** What makes text or an attribute value need more than a slice: references, line ends, `]]>`, `<`. */
const TEXT_SPECIAL = /[&\r\]]/;
const ATTR_SPECIAL = /[<&\t\n\r]/;

/** The most of one write decoded and scanned at a time, so limits are checked at least this often. */
const SLICE = 64 * 1024;
/** An XML declaration longer than this is not one. */
const MAX_DECLARATION = 256;
const XML_DECLARATION =
  /^xml[ \t\r\n]+version[ \t\r\n]*=[ \t\r\n]*(["'])1\.[0-9]+\1(?:[ \t\r\n]+encoding[ \t\r\n]*=[ \t\r\n]*(["'])([A-Za-z][A-Za-z0-9._-]*)\2)?(?:[ \t\r\n]+standalone[ \t\r\n]*=[ \t\r\n]*(["'])(?:yes|no)\4)?[ \t\r\n]*$/;

/** The first code point of `s` at `i` (a surrogate pair read as one). */
function codePointAt(s: string, i: number): number {
  return s.codePointAt(i) ?? 0;
}

/**
 * Checks a qualified name (XML `Name` that is also an XML-Namespaces `QName`: prefix and local part
 * both NCNames, so at most one colon, not first or last) and returns the colon's index, or -1. The scanner has already checked every character
 * is a `NameChar`; only the first must also be a `NameStartChar`.
 */
function qname(name: string, what: string): number {
  const first = name.charCodeAt(0);
  if (first < 128 ? (ASCII_CLASS[first] & NAME_START) === 0 : !isNameStartNonAscii(codePointAt(name, 0))) {
    throw new Refusal(
      'not-well-formed',
      `${what} name ${JSON.stringify(name)} does not start with a name character`,
    );
  }
  const colon = name.indexOf(':');
  if (colon === -1) return colon;
  // Both sides of the colon are NCNames: the local part too must begin with a NameStartChar.
  const local = colon + 1 < name.length ? name.charCodeAt(colon + 1) : 58;
  const localStarts =
    local < 128
      ? local !== 58 && (ASCII_CLASS[local] & NAME_START) !== 0
      : isNameStartNonAscii(codePointAt(name, colon + 1));
  if (colon === 0 || !localStarts || name.indexOf(':', colon + 1) !== -1) {
    throw new Refusal(
      'not-well-formed',
      `${what} name ${JSON.stringify(name)} is not a valid qualified name`,
    );
  }
  return colon;
}

/** Index just past the run of name characters starting at `pos`. */
function scanName(s: string, pos: number): number {
  const n = s.length;
  while (pos < n) {
    const c = s.charCodeAt(pos);
    if (c < 128) {
      if ((ASCII_CLASS[c] & NAME_CHAR) === 0) return pos;
      pos++;
    } else {
      const cp = codePointAt(s, pos);
      if (!isNameCharNonAscii(cp)) return pos;
      pos += cp > 0xffff ? 2 : 1;
    }
  }
  return n;
}

function describe(c: number): string {
  return c < 32 || c > 126
    ? `U+${c.toString(16).toUpperCase().padStart(4, '0')}`
    : `'${String.fromCharCode(c)}'`;
}

/**
 * ejabberd's xml_stream as a class: a push parser fed with chunks as a socket delivers them. It enforces
 * the restricted XML of RFC 6120 section 11 and the configured limits, and reports each complete stanza
 * as an `XmlElement` tuple. Work is linear in the input however it is chunked: a token cut by a chunk
 * boundary is carried over once, never re-scanned.
 */
export class XmlStream {
  private readonly handler: XmlStreamHandler;
  private readonly options: ResolvedOptions;
  /** Depth at which elements become stanzas: 2 under a stream root, 1 for a lone document. */
  private readonly stanzaDepth: number;
  private readonly decoder = new Utf8StreamDecoder();
  private readonly ns = new NamespaceScope();

  private state = TEXT;
  /** Start of the unfinished token carried over from earlier chunks (or ''). */
  private partial = '';
  /** Characters consumed before the current chunk, for error positions. */
  private consumed = 0;
  /** Nothing but a byte order mark has been read: an XML declaration may still come. */
  private fresh = true;
  /** A handler called `reset()` while a chunk was being parsed. */
  private resetPending = false;
  /** A chunk is being parsed (so a handler's `reset()` must not drop decoder state). */
  private running = false;
  /** Stream position of the '<' of the `<!` or `<?` being read, where its errors are reported. */
  private markup = 0;

  // Stanza size accounting, in bytes, restarting at each event as ejabberd's does.
  private stanzaBytes = 0;
  private countFrom = 0;
  private asciiChunk = false;
  /** The chunk was decoded from bytes (so it holds no lone surrogate). */
  private fromBytes = false;
  /** UTF-8 bytes of the chunk being parsed, or -1 when it came as a string. */
  private chunkBytes = -1;

  // The start tag being read.
  private tagName = '';
  private attrs: XmlAttr[] = [];
  private attrName = '';
  private quote = 0;
  private spaced = false;
  private nsAttrs = false;

  // The tree.
  private depth = 0;
  private rootName = '';
  private ended = false;
  private open: XmlElement[] = [];
  private usesRootDefault = false;
  private rootPrefixes: string[] = [];

  constructor(handler: XmlStreamHandler, options: XmlStreamOptions = {}) {
    this.handler = handler;
    this.options = resolveOptions(options);
    this.stanzaDepth = this.options.document ? 1 : 2;
  }

  /** Feeds bytes (or, for tests and `parse_element`, a string) as they arrive. */
  write(data: Uint8Array | string): void {
    if (this.state === FAILED) return;
    if (typeof data === 'string') {
      let i = 0;
      while (i < data.length) {
        let end = Math.min(i + SLICE, data.length);
        const last = data.charCodeAt(end - 1);
        if (end < data.length && last >= 0xd800 && last <= 0xdbff) end--; // keep a surrogate pair whole
        this.asciiChunk = false;
        this.fromBytes = false;
        this.chunkBytes = -1;
        this.run(i === 0 && end === data.length ? data : data.slice(i, end));
        if (this.state === FAILED) return;
        i = end;
      }
      return;
    }
    if (data.length <= SLICE) {
      this.writeBytes(data);
      return;
    }
    for (let i = 0; i < data.length && this.state !== FAILED; i += SLICE) {
      this.writeBytes(data.subarray(i, Math.min(i + SLICE, data.length)));
    }
  }

  private writeBytes(bytes: Uint8Array): void {
    const s = this.decoder.decode(bytes);
    this.fromBytes = true;
    if (s === null) {
      // Parse what came before the bad byte first, as if the bytes had arrived one at a time.
      this.asciiChunk = false;
      this.chunkBytes = -1;
      this.run(this.decoder.validPrefix);
      if (this.state !== FAILED) this.fail('not-well-formed', 'invalid UTF-8 in the input', 0);
      return;
    }
    // As many characters as bytes: the chunk is ASCII and sizes are free.
    this.chunkBytes = this.decoder.decodedBytes;
    this.asciiChunk = s.length === this.chunkBytes;
    this.run(s);
  }

  /**
   * The input has ended. A lone document (`document: true`) must be complete; a stream may simply stop,
   * as when a client drops the connection, and nothing more is reported.
   */
  end(): void {
    if (this.state === FAILED) return;
    if (this.options.document) {
      // A lone document must be complete: its root closed, nothing unfinished after it.
      if (this.depth > 0 || this.state !== TEXT || this.decoder.pending > 0) {
        this.fail('not-well-formed', 'input ends before the document is complete', 0);
      } else if (!this.ended) {
        this.fail('not-well-formed', 'no element in the input', 0);
      }
      return;
    }
    if (this.decoder.pending > 0 && this.depth > 0) {
      this.fail('not-well-formed', 'input ends inside a UTF-8 character', 0);
    }
  }

  /**
   * Forgets the stream: the next byte starts a new one (after STARTTLS or SASL success, RFC 6120 4.3.3).
   * A handler may call this while an event is delivered; the rest of that chunk then starts the new stream.
   */
  reset(): void {
    this.clear();
    // Called from a handler, the bytes held back by the decoder belong to the new stream.
    if (this.running) this.resetPending = true;
    else this.decoder.reset();
  }

  private clear(): void {
    this.state = TEXT;
    this.partial = '';
    this.consumed = 0;
    this.fresh = true;
    this.stanzaBytes = 0;
    this.countFrom = 0;
    this.attrs = [];
    this.depth = 0;
    this.rootName = '';
    this.ended = false;
    this.open = [];
    this.ns.reset();
    this.usesRootDefault = false;
    this.rootPrefixes = [];
  }

  private fail(condition: XmlStreamError['condition'], reason: string, pos: number): void {
    this.state = FAILED;
    this.partial = '';
    this.open = [];
    this.handler.xmlstreamerror({ condition, reason, position: this.consumed + pos });
  }

  /**
   * Parses one decoded chunk. One regular-expression pass finds the first character XML forbids;
   * everything before it is parsed first, so events and errors never depend on where a chunk ends.
   * Decoded UTF-8 cannot hold a lone surrogate, so it gets the (four times faster) pattern without them.
   */
  private run(s: string): void {
    const bad = (this.fromBytes ? CONTROL_CHAR : FORBIDDEN_CHAR).exec(s);
    if (bad === null) {
      this.parse(s);
      return;
    }
    this.chunkBytes = -1; // the size the decoder gave is the whole chunk's
    this.parse(s.slice(0, bad.index));
    if (this.state !== FAILED) {
      this.fail(
        'not-well-formed',
        `character ${describe(s.codePointAt(bad.index) ?? 0)} is not allowed in XML`,
        0,
      );
    }
  }

  /** Lexes a chunk, turning a refusal into an `xmlstreamerror`. */
  private parse(s: string): void {
    let from = 0;
    this.running = true;
    try {
      for (;;) {
        this.resetPending = false;
        from = this.feed(s, from);
        if (from < 0) return;
        // A handler reset the stream: what follows in this chunk belongs to the new one.
        this.asciiChunk = false;
        this.chunkBytes = -1;
        this.consumed = -from;
      }
    } catch (e) {
      if (!(e instanceof Refusal)) {
        // A handler threw: its exception is the caller's, and this stream cannot be trusted any more.
        this.state = FAILED;
        throw e;
      }
      this.fail(e.condition, e.reason, e.at ?? 0);
    } finally {
      this.running = false;
    }
  }

  /** Text of the token that began at `tok` and ends at `end`, joined to any carried-over start. */
  private take(s: string, tok: number, end: number): string {
    const p = this.partial;
    if (p === '') return s.slice(tok, end);
    this.partial = '';
    return p + s.slice(tok, end);
  }

  /**
   * Bytes of the current stanza up to `pos`, checked against `max_stanza_size`. A stanza is everything
   * since the previous event, as in ejabberd, where every event restarts the count. A UTF-16 code unit
   * is at most 3 UTF-8 bytes, so outside ASCII the exact count is only taken when that bound is too big.
   */
  private measure(s: string, pos: number, exact: boolean): number {
    const chars = pos - this.countFrom;
    let bytes = this.stanzaBytes + chars;
    if (!this.asciiChunk) {
      const bound = this.stanzaBytes + 3 * chars;
      if (!exact && bound <= this.options.maxStanzaSize) return bound;
      // The whole chunk belongs to the stanza (no event in it): the decoder knows its size.
      const whole = this.countFrom === 0 && pos === s.length && this.chunkBytes >= 0;
      bytes = this.stanzaBytes + (whole ? this.chunkBytes : utf8Length(s, this.countFrom, pos));
    }
    if (bytes > this.options.maxStanzaSize) {
      throw new Refusal(
        'policy-violation',
        `stanza of at least ${bytes} bytes is larger than max_stanza_size (${this.options.maxStanzaSize})`,
      );
    }
    return bytes;
  }

  /** An event happened at `pos`: check the stanza that led to it and restart the count. */
  private boundary(s: string, pos: number): void {
    this.measure(s, pos, false);
    this.stanzaBytes = 0;
    this.countFrom = pos;
  }

  /**
   * The lexer. Returns -1 when the chunk is consumed, or the index to resume at when a handler reset the
   * stream. `pos` is the next character to read, `tok` the start of the token being read.
   */
  private feed(s: string, start: number): number {
    const n = s.length;
    let pos = start;
    let tok = start;
    let state = this.state;
    this.countFrom = start;
    if (this.fresh && state === TEXT && this.partial === '' && s.charCodeAt(pos) === 0xfeff) tok = ++pos; // a BOM
    try {
      while (pos < n) {
        switch (state) {
          case TEXT: {
            const lt = s.indexOf('<', pos);
            if (this.depth === 0) {
              // Outside the root only whitespace may appear; check it now, keep none of it.
              const end = lt === -1 ? n : lt;
              for (let i = pos; i < end; i++) {
                const c = s.charCodeAt(i);
                if (c >= 128 || (ASCII_CLASS[c] & WHITESPACE) === 0) {
                  pos = i;
                  throw new Refusal('not-well-formed', 'text outside the root element');
                }
              }
              if (end > pos) this.fresh = false;
              this.partial = '';
              tok = end;
            }
            if (lt === -1) {
              pos = n;
              break;
            }
            pos = lt; // where a refused text is reported
            if (lt > tok || this.partial !== '') this.text(this.take(s, tok, lt));
            pos = lt + 1;
            // Fast path: a start tag's name begins right away (an ASCII name-start character).
            const c = s.charCodeAt(pos);
            if (c < 128 && (ASCII_CLASS[c] & NAME_START) !== 0 && !this.ended) {
              this.fresh = false;
              tok = pos;
              state = START_NAME;
              break;
            }
            state = LT;
            break;
          }
          case LT: {
            const c = s.charCodeAt(pos);
            if (c === 47 /* / */) {
              if (this.depth === 0) throw new Refusal('not-well-formed', 'end tag outside the root element');
              tok = ++pos;
              state = END_NAME;
            } else if (c === 33 /* ! */) {
              this.markup = this.consumed + pos - 1;
              tok = ++pos;
              state = BANG;
            } else if (c === 63 /* ? */) {
              this.markup = this.consumed + pos - 1;
              tok = ++pos;
              state = PI;
            } else {
              if (this.ended)
                throw new Refusal('not-well-formed', 'an element after the root element closed');
              tok = pos;
              state = START_NAME;
            }
            if (state !== PI) this.fresh = false;
            break;
          }
          case START_NAME: {
            pos = scanName(s, pos);
            if (pos === n) break;
            const name = this.take(s, tok, pos);
            if (name === '')
              throw new Refusal('not-well-formed', `${describe(s.charCodeAt(pos))} cannot start a tag`);
            qname(name, 'element');
            this.tagName = name;
            this.attrs = [];
            this.nsAttrs = false;
            this.spaced = true;
            state = TAG;
            break;
          }
          case TAG: {
            let c = s.charCodeAt(pos);
            if (c < 128 && (ASCII_CLASS[c] & WHITESPACE) !== 0) {
              this.spaced = true;
              do c = s.charCodeAt(++pos);
              while (pos < n && c < 128 && (ASCII_CLASS[c] & WHITESPACE) !== 0);
              if (pos === n) break;
            }
            if (c === 62 /* > */) {
              pos++;
              tok = pos;
              state = TEXT;
              if (this.startElement(s, pos, false)) return pos;
            } else if (c === 47 /* / */) {
              pos++;
              state = EMPTY_CLOSE;
            } else {
              if (!this.spaced) {
                throw new Refusal(
                  'not-well-formed',
                  `attributes of <${this.tagName}> must be separated by whitespace`,
                );
              }
              tok = pos;
              state = ATTR_NAME;
            }
            break;
          }
          case ATTR_NAME: {
            pos = scanName(s, pos);
            if (pos === n) break;
            const name = this.take(s, tok, pos);
            if (name === '') {
              throw new Refusal(
                'not-well-formed',
                `${describe(s.charCodeAt(pos))} is not allowed in the tag <${this.tagName}>`,
              );
            }
            if (qname(name, 'attribute') !== -1 || name === 'xmlns') this.nsAttrs = true;
            this.attrName = name;
            // Fast path for the usual name='value' with the whole value in this chunk.
            if (s.charCodeAt(pos) === 61 /* = */) {
              const quote = s.charCodeAt(pos + 1);
              if (quote === 34 || quote === 39) {
                const q = s.indexOf(quote === 34 ? '"' : "'", pos + 2);
                if (q !== -1) {
                  const raw = s.slice(pos + 2, q);
                  pos = q;
                  this.attribute(raw);
                  pos = q + 1;
                  this.spaced = false;
                  state = TAG;
                  break;
                }
              }
            }
            state = ATTR_EQ;
            break;
          }
          case ATTR_EQ:
          case ATTR_QUOTE: {
            let c = s.charCodeAt(pos);
            while (c < 128 && (ASCII_CLASS[c] & WHITESPACE) !== 0) {
              if (++pos === n) break;
              c = s.charCodeAt(pos);
            }
            if (pos === n) break;
            if (state === ATTR_EQ) {
              if (c !== 61 /* = */)
                throw new Refusal(
                  'not-well-formed',
                  `attribute '${this.attrName}' of <${this.tagName}> has no value`,
                );
              pos++;
              state = ATTR_QUOTE;
            } else {
              if (c !== 34 && c !== 39) {
                throw new Refusal(
                  'not-well-formed',
                  `the value of attribute '${this.attrName}' of <${this.tagName}> is not quoted`,
                );
              }
              this.quote = c;
              tok = ++pos;
              state = ATTR_VALUE;
            }
            break;
          }
          case ATTR_VALUE: {
            const q = s.indexOf(this.quote === 34 ? '"' : "'", pos);
            if (q === -1) {
              pos = n;
              break;
            }
            pos = q;
            this.attribute(this.take(s, tok, q));
            pos = q + 1;
            this.spaced = false;
            state = TAG;
            break;
          }
          case EMPTY_CLOSE: {
            if (s.charCodeAt(pos) !== 62)
              throw new Refusal('not-well-formed', `'/' not followed by '>' in <${this.tagName}>`);
            pos++;
            tok = pos;
            state = TEXT;
            if (this.startElement(s, pos, true)) return pos;
            break;
          }
          case END_NAME: {
            pos = scanName(s, pos);
            if (pos === n) break;
            const name = this.take(s, tok, pos);
            const expected =
              this.depth < this.stanzaDepth ? this.rootName : this.open[this.open.length - 1][1];
            if (name !== expected) {
              throw new Refusal(
                'not-well-formed',
                `end tag </${name}> does not match the open element <${expected}>`,
              );
            }
            state = END_TAG;
            break;
          }
          case END_TAG: {
            let c = s.charCodeAt(pos);
            while (c < 128 && (ASCII_CLASS[c] & WHITESPACE) !== 0) {
              if (++pos === n) break;
              c = s.charCodeAt(pos);
            }
            if (pos === n) break;
            if (c !== 62) throw new Refusal('not-well-formed', `${describe(c)} in an end tag`);
            pos++;
            tok = pos;
            state = TEXT;
            if (this.endElement(s, pos)) return pos;
            break;
          }
          case BANG: {
            // Decide from up to 7 characters: '[CDATA[', '--' (comment) or 'DOCTYPE'.
            const seen = this.partial + s.slice(tok, Math.min(n, tok + 7));
            pos = this.markup - this.consumed; // errors point at the '<'
            if (seen.startsWith('--'))
              throw new Refusal('restricted-xml', 'comments are not allowed (RFC 6120 11.1)');
            if (seen.startsWith('DOCTYPE')) {
              throw new Refusal('restricted-xml', 'a DOCTYPE (DTD) is not allowed (RFC 6120 11.1)');
            }
            if (seen.startsWith('[CDATA[')) {
              if (this.depth === 0)
                throw new Refusal('not-well-formed', 'a CDATA section outside the root element');
              pos = tok + 7 - this.partial.length;
              this.partial = '';
              tok = pos;
              state = CDATA;
              break;
            }
            if (
              tok + 7 > n &&
              ('[CDATA['.startsWith(seen) || '-'.startsWith(seen) || 'DOCTYPE'.startsWith(seen))
            ) {
              pos = n; // not enough yet to decide
              break;
            }
            throw new Refusal('not-well-formed', `'<!' followed by ${JSON.stringify(seen)}`);
          }
          case CDATA: {
            let end = -1;
            let resume = 0;
            const p = this.partial;
            if (pos === 0 && p !== '') {
              // The terminator may straddle the chunk boundary.
              if (p.endsWith(']]') && s.charCodeAt(0) === 62) {
                this.partial = p.slice(0, -2);
                end = 0;
                resume = 1;
              } else if (p.endsWith(']') && s.startsWith(']>')) {
                this.partial = p.slice(0, -1);
                end = 0;
                resume = 2;
              }
            }
            if (end === -1) {
              end = s.indexOf(']]>', pos);
              if (end === -1) {
                pos = n;
                break;
              }
              resume = end + 3;
            }
            this.cdataSection(this.take(s, tok, end));
            pos = tok = resume;
            state = TEXT;
            break;
          }
          case PI: {
            if (!this.fresh)
              throw new Refusal('restricted-xml', 'processing instructions are not allowed (RFC 6120 11.1)');
            let end = s.indexOf('?>', pos);
            let resume = end + 2;
            if (pos === 0 && this.partial.endsWith('?') && s.charCodeAt(0) === 62) {
              this.partial = this.partial.slice(0, -1);
              end = 0;
              resume = 1;
            }
            if (end === -1) {
              if (this.partial.length + n - tok > MAX_DECLARATION) {
                pos = this.markup - this.consumed;
                throw new Refusal('not-well-formed', 'an XML declaration that does not end');
              }
              pos = n;
              break;
            }
            pos = this.markup - this.consumed;
            this.declaration(this.take(s, tok, end));
            this.fresh = false;
            pos = tok = resume;
            state = TEXT;
            break;
          }
          default:
            return -1;
        }
      }
      // The chunk is consumed: keep the unfinished token's start, and count the stanza's bytes so far.
      if (
        tok < n &&
        (state === TEXT ||
          state === START_NAME ||
          state === ATTR_NAME ||
          state === ATTR_VALUE ||
          state === END_NAME ||
          state === BANG ||
          state === CDATA ||
          state === PI)
      ) {
        this.partial += s.slice(tok);
      }
      this.state = state;
      this.stanzaBytes = this.measure(s, n, true);
      this.countFrom = 0;
      this.consumed += n;
      return -1;
    } catch (e) {
      // The error is reported where the character that revealed it is, whatever the chunking.
      if (e instanceof Refusal && e.at === undefined) e.at = pos;
      throw e;
    }
  }

  private text(raw: string): void {
    let text = raw;
    // One test clears the common case: no reference, no CR, no ']' that could begin ']]>'.
    if (TEXT_SPECIAL.test(raw)) {
      if (raw.indexOf(']]>') !== -1) throw new Refusal('not-well-formed', "']]>' is not allowed in text");
      text = decodeText(raw);
    }
    // Between stanzas (whitespace keepalives) text is checked, then dropped, as ejabberd's c2s does.
    if (this.depth >= this.stanzaDepth) this.appendText(text);
  }

  private cdataSection(raw: string): void {
    const text = raw.indexOf('\r') === -1 ? raw : raw.replace(/\r\n?/g, '\n');
    if (this.depth >= this.stanzaDepth && text !== '') this.appendText(text);
  }

  /** Adjacent text is merged, so the tree never depends on how TCP split the bytes. */
  private appendText(text: string): void {
    const children = this.open[this.open.length - 1][3];
    const last = children.length === 0 ? undefined : children[children.length - 1];
    if (last !== undefined && last[0] === 'xmlcdata') last[1] += text;
    else children.push(['xmlcdata', text]);
  }

  private attribute(raw: string): void {
    const name = this.attrName;
    const attrs = this.attrs;
    let value = raw;
    if (ATTR_SPECIAL.test(raw)) {
      if (raw.indexOf('<') !== -1) {
        throw new Refusal('not-well-formed', `'<' in the value of attribute '${name}' of <${this.tagName}>`);
      }
      value = decodeAttribute(raw);
    }
    for (let i = 0; i < attrs.length; i++) {
      if (attrs[i][0] === name)
        throw new Refusal('not-well-formed', `duplicate attribute '${name}' in <${this.tagName}>`);
    }
    if (attrs.length >= this.options.maxAttributes) {
      throw new Refusal(
        'policy-violation',
        `<${this.tagName}> has more than max_attributes (${this.options.maxAttributes}) attributes`,
      );
    }
    attrs.push([name, value]);
  }

  private declaration(body: string): void {
    const m = XML_DECLARATION.exec(body);
    if (m === null) {
      if (/^xml[ \t\r\n]/.test(body) || body === 'xml')
        throw new Refusal('not-well-formed', 'a malformed XML declaration');
      throw new Refusal('restricted-xml', 'processing instructions are not allowed (RFC 6120 11.1)');
    }
    const encoding = m[3];
    if (encoding !== undefined && encoding.toLowerCase() !== 'utf-8') {
      throw new Refusal(
        'unsupported-encoding',
        `the stream declares encoding '${encoding}'; XMPP is UTF-8 only`,
      );
    }
  }

  /**
   * Resolves the prefixes of the element just read (XML-Namespaces well-formedness) and notes which
   * bindings of the stream root a stanza relies on, so that it can carry them itself.
   */
  private namespaces(name: string, attrs: XmlAttr[], depth: number): void {
    const ns = this.ns;
    let ownDefault = false;
    if (this.nsAttrs) {
      for (let i = 0; i < attrs.length; i++) {
        const key = attrs[i][0];
        if (key === 'xmlns') {
          ns.declare('', attrs[i][1], depth);
          ownDefault = true;
        } else if (key.startsWith('xmlns:')) {
          ns.declare(key.slice(6), attrs[i][1], depth);
        }
      }
    }
    const colon = name.indexOf(':');
    if (colon !== -1) {
      this.resolvePrefix(name.slice(0, colon), name, depth);
    } else if (
      !ownDefault &&
      depth > this.stanzaDepth - 1 &&
      !this.options.document &&
      !this.usesRootDefault
    ) {
      const i = ns.lookup('');
      if (i !== -1 && ns.depth(i) === 1) this.usesRootDefault = true;
    }
    if (this.nsAttrs) {
      let expanded: string[] | null = null;
      for (let i = 0; i < attrs.length; i++) {
        const key = attrs[i][0];
        const c = key.indexOf(':');
        if (c === -1 || key.startsWith('xmlns:')) continue;
        const uri = this.resolvePrefix(key.slice(0, c), key, depth);
        // Two attributes may not share a namespace and local name under different prefixes.
        const id = `${uri} ${key.slice(c + 1)}`;
        if (expanded === null) expanded = [id];
        else if (expanded.includes(id)) {
          throw new Refusal(
            'not-well-formed',
            `attribute '${key}' of <${name}> repeats a namespaced attribute`,
          );
        } else expanded.push(id);
      }
    }
  }

  private resolvePrefix(prefix: string, name: string, depth: number): string {
    if (prefix === 'xml') return 'http://www.w3.org/XML/1998/namespace';
    if (prefix === 'xmlns')
      throw new Refusal('not-well-formed', `the prefix 'xmlns' cannot qualify '${name}'`);
    const i = this.ns.lookup(prefix);
    if (i === -1) throw new Refusal('not-well-formed', `unbound namespace prefix '${prefix}' in '${name}'`);
    if (
      depth >= this.stanzaDepth &&
      !this.options.document &&
      this.ns.depth(i) === 1 &&
      !this.rootPrefixes.includes(prefix)
    ) {
      this.rootPrefixes.push(prefix);
    }
    return this.ns.uri(i);
  }

  /** A start tag is complete. Returns true when a handler reset the stream. */
  private startElement(s: string, pos: number, empty: boolean): boolean {
    const depth = this.depth + 1;
    const name = this.tagName;
    const attrs = this.attrs;
    if (depth > this.options.maxDepth) {
      throw new Refusal(
        'policy-violation',
        `<${name}> nests deeper than max_depth (${this.options.maxDepth})`,
      );
    }
    this.namespaces(name, attrs, depth);
    this.depth = depth;
    if (depth < this.stanzaDepth) {
      this.rootName = name;
      const expected = this.options.rootNamespace;
      if (expected !== null) {
        const colon = name.indexOf(':');
        const i = this.ns.lookup(colon === -1 ? '' : name.slice(0, colon));
        const uri = i === -1 ? '' : this.ns.uri(i);
        if (uri !== expected) {
          throw new Refusal(
            'invalid-namespace',
            `the stream root <${name}> is in namespace '${uri}', not '${expected}'`,
          );
        }
      }
      this.boundary(s, pos);
      this.handler.xmlstreamstart(name, attrs);
      if (this.resetPending) return true;
      return empty ? this.endElement(s, pos) : false;
    }
    const el: XmlElement = ['xmlelement', name, attrs, []];
    if (depth > this.stanzaDepth) this.open[this.open.length - 1][3].push(el);
    this.open.push(el);
    return empty ? this.endElement(s, pos) : false;
  }

  /** An end tag (or the end of an empty element) is complete. Returns true when a handler reset the stream. */
  private endElement(s: string, pos: number): boolean {
    const depth = this.depth;
    this.ns.close(depth);
    this.depth = depth - 1;
    if (depth < this.stanzaDepth) {
      this.ended = true;
      this.boundary(s, pos);
      this.handler.xmlstreamend(this.rootName);
      return this.resetPending;
    }
    const el = this.open.pop()!;
    if (depth > this.stanzaDepth) return false;
    if (this.options.document) this.ended = true;
    else this.carryRootBindings(el);
    this.boundary(s, pos);
    this.handler.xmlstreamelement(el);
    return this.resetPending;
  }

  /**
   * A stanza that used the stream root's default namespace or prefixes gets those declarations itself,
   * so it means the same wherever it is routed or serialised (ejabberd's fxml_stream does likewise).
   */
  private carryRootBindings(el: XmlElement): void {
    if (this.usesRootDefault) {
      this.usesRootDefault = false;
      el[2].push(['xmlns', this.ns.uri(this.ns.lookup(''))]);
    }
    if (this.rootPrefixes.length > 0) {
      for (const prefix of this.rootPrefixes)
        el[2].push([`xmlns:${prefix}`, this.ns.uri(this.ns.lookup(prefix))]);
      this.rootPrefixes = [];
    }
  }
}
