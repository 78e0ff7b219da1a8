import { is_xml_name, isXmlChar } from '@tsjabberd/xml-stanza';
import { Refusal } from './errors.js';

function charReference(body: string): number {
  // body is '#123' or '#x1F'; -1 when malformed or out of range
  const hex = body.charCodeAt(1) === 120; /* x */
  const start = hex ? 2 : 1;
  if (start >= body.length) return -1;
  let cp = 0;
  for (let i = start; i < body.length; i++) {
    const c = body.charCodeAt(i);
    let d: number;
    if (c >= 48 && c <= 57) d = c - 48;
    else if (hex && c >= 97 && c <= 102) d = c - 87;
    else if (hex && c >= 65 && c <= 70) d = c - 55;
    else return -1;
    cp = cp * (hex ? 16 : 10) + d;
    if (cp > 0x10ffff) return -1;
  }
  return cp;
}

/**
 * Replaces the references in `raw` (text or an attribute value): the five predefined entities and
 * character references. Anything else is refused: a named entity as `restricted-xml` (RFC 6120 11.1
 * forbids entities beyond the predefined ones, which is what stops billion-laughs), a bare `&` or a
 * reference to a character XML does not allow as `not-well-formed`; a refusal is thrown as `Refusal`.
 */
export function expandReferences(raw: string, from: number): string {
  let out = '';
  let last = 0;
  let amp = from;
  while (amp !== -1) {
    const semi = raw.indexOf(';', amp + 1);
    if (semi === -1) {
      throw new Refusal(
        'not-well-formed',
        `'&' does not start a reference: ${JSON.stringify(raw.slice(amp, amp + 12))}`,
      );
    }
    const body = raw.slice(amp + 1, semi);
    const shown = body.length > 40 ? `${body.slice(0, 40)}...` : body;
    let rep: string;
    switch (body) {
      case 'amp':
        rep = '&';
        break;
      case 'lt':
        rep = '<';
        break;
      case 'gt':
        rep = '>';
        break;
      case 'quot':
        rep = '"';
        break;
      case 'apos':
        rep = "'";
        break;
      default:
        if (body.charCodeAt(0) === 35 /* # */) {
          const cp = charReference(body);
          if (cp < 0 || !isXmlChar(cp)) {
            throw new Refusal('not-well-formed', `&${shown}; is not a character XML allows`);
          }
          rep = String.fromCodePoint(cp);
        } else if (is_xml_name(body)) {
          throw new Refusal(
            'restricted-xml',
            `entity reference &${shown}; is not allowed (only the predefined ones)`,
          );
        } else {
          throw new Refusal(
            'not-well-formed',
            `'&' does not start a reference: ${JSON.stringify(`&${shown};`)}`,
          );
        }
    }
    out += raw.slice(last, amp) + rep;
    last = semi + 1;
    amp = raw.indexOf('&', last);
  }
  return out + raw.slice(last);
}

const LINE_ENDS = /\r\n?/g;
const ATTR_WHITESPACE = /\r\n|[\r\n\t]/g;

/** Character data as XML delivers it: line ends normalised to LF, references expanded. */
export function decodeText(raw: string): string {
  if (raw.indexOf('\r') !== -1) raw = raw.replace(LINE_ENDS, '\n');
  const amp = raw.indexOf('&');
  return amp === -1 ? raw : expandReferences(raw, amp);
}

/** An attribute value as XML 1.0 section 3.3.3 normalises it: literal whitespace becomes a space. */
export function decodeAttribute(raw: string): string {
  if (raw.indexOf('\n') !== -1 || raw.indexOf('\t') !== -1 || raw.indexOf('\r') !== -1) {
    raw = raw.replace(ATTR_WHITESPACE, ' ');
  }
  const amp = raw.indexOf('&');
  return amp === -1 ? raw : expandReferences(raw, amp);
}
