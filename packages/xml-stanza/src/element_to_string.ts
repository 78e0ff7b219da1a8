import { is_xml_name } from './chars.js';
import type { XmlElement } from './types.js';

// Text needs `&`, `<`, `>` escaped (`>` because `]]>` may not appear in text) and `\r` as a character
// reference, since a parser turns a literal CR into LF. Attribute values (always quoted with `'`) also
// need both quotes, and tab/LF as references, since a parser turns literal whitespace into spaces.
// Each pattern also matches what XML cannot carry at all, so one test tells whether a string is safe as it is.
// They match any surrogate, paired or not (a non-unicode pattern is four times faster); the slow path
// then tells a pair, which is kept, from a lone half, which is not.
const TEXT_SPECIAL = /[&<>\r\u0000-\u0008\u000B\u000C\u000E-\u001F\uD800-\uDFFF\uFFFE\uFFFF]/;
const ATTR_SPECIAL = /[&<>"'\t\n\r\u0000-\u0008\u000B\u000C\u000E-\u001F\uD800-\uDFFF\uFFFE\uFFFF]/;

/** The reference for a code unit that must be escaped in text, or `undefined`. */
function textReference(c: number): string | undefined {
  switch (c) {
    case 38:
      return '&amp;';
    case 60:
      return '&lt;';
    case 62:
      return '&gt;';
    case 13:
      return '&#xD;';
    default:
      return undefined;
  }
}

/** The reference for a code unit that must be escaped in a quoted attribute value, or `undefined`. */
function attrReference(c: number): string | undefined {
  switch (c) {
    case 34:
      return '&quot;';
    case 39:
      return '&apos;';
    case 9:
      return '&#x9;';
    case 10:
      return '&#xA;';
    default:
      return textReference(c);
  }
}

/**
 * `s` with every code unit that `reference` names replaced, and what XML 1.0 cannot carry at all
 * (C0 controls, U+FFFE/U+FFFF, a surrogate that is not half of a pair) replaced by U+FFFD.
 */
function escapeWith(s: string, special: RegExp, reference: (c: number) => string | undefined): string {
  if (!special.test(s)) return s;
  let out = '';
  let last = 0;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    let rep = reference(c);
    if (rep === undefined) {
      if (c >= 0xd800 && c <= 0xdfff) {
        const next = i + 1 < n ? s.charCodeAt(i + 1) : 0;
        if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
          i++; // a valid pair
          continue;
        }
        rep = '\uFFFD';
      } else if ((c < 0x20 && c !== 0x9 && c !== 0xa) || c === 0xfffe || c === 0xffff) {
        rep = '\uFFFD';
      } else {
        continue;
      }
    }
    out += s.slice(last, i) + rep;
    last = i + 1;
  }
  return out + s.slice(last);
}

/** Escapes character data for use between tags. */
export function crypt_text(s: string): string {
  return escapeWith(s, TEXT_SPECIAL, textReference);
}

/**
 * `crypt(S)`: `S` with the XML special characters encoded, safe both as text and inside a quoted
 * attribute value (`&`, `<`, `>`, `"`, `'`, plus tab, LF and CR as character references).
 */
export function crypt(s: string): string {
  return escapeWith(s, ATTR_SPECIAL, attrReference);
}

function checkName(name: string, what: string, owner: string): void {
  if (!is_xml_name(name)) {
    throw new TypeError(
      `element_to_string: ${what} name ${JSON.stringify(name)} of <${owner}> is not an XML name`,
    );
  }
}

function write(el: XmlElement): string {
  const name = el[1];
  checkName(name, 'element', name);
  let s = `<${name}`;
  const attrs = el[2];
  for (let i = 0; i < attrs.length; i++) {
    const key = attrs[i][0];
    checkName(key, 'attribute', name);
    for (let j = 0; j < i; j++) {
      if (attrs[j][0] === key)
        throw new TypeError(`element_to_string: duplicate attribute '${key}' on <${name}>`);
    }
    s += ` ${key}='${escapeWith(attrs[i][1], ATTR_SPECIAL, attrReference)}'`;
  }
  const children = el[3];
  if (children.length === 0) return `${s}/>`;
  s += '>';
  for (const child of children) {
    s += child[0] === 'xmlcdata' ? escapeWith(child[1], TEXT_SPECIAL, textReference) : write(child);
  }
  return `${s}</${name}>`;
}

/**
 * `element_to_string(El)`: the XML text of an element. Always well-formed: names are checked (a
 * `TypeError` names the bad one), attribute keys must be unique, and characters XML cannot carry are
 * replaced by U+FFFD. Namespace declarations are the caller's to include, as in ejabberd.
 */
export function element_to_string(el: XmlElement): string {
  return write(el);
}
