import { FORBIDDEN_CHAR, is_xml_name } from './chars.js';
import type { XmlElement } from './types.js';

// Text needs `&`, `<`, `>` escaped (`>` because `]]>` may not appear in text) and `\r` as a character
// reference, since a parser turns a literal CR into LF. Attribute values (always quoted with `'`) also
// need both quotes, and tab/LF as references, since a parser turns literal whitespace into spaces.
// Each pattern also matches what `scrub` replaces, so one test tells whether a string is safe as it is.
const TEXT_SPECIAL = /[&<>\r\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDFFF]/u;
const ATTR_SPECIAL = /[&<>"'\t\n\r\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDFFF]/u;
const FORBIDDEN_ALL = new RegExp(FORBIDDEN_CHAR.source, 'gu');

/** Replaces what XML 1.0 cannot carry at all (C0 controls, U+FFFE/F, lone surrogates) with U+FFFD. */
function scrub(s: string): string {
  return FORBIDDEN_CHAR.test(s) ? s.replace(FORBIDDEN_ALL, '\uFFFD') : s;
}

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

function escapeWith(s: string, special: RegExp, reference: (c: number) => string | undefined): string {
  if (!special.test(s)) return s;
  s = scrub(s);
  let out = '';
  let last = 0;
  for (let i = 0; i < s.length; i++) {
    const rep = reference(s.charCodeAt(i));
    if (rep === undefined) continue;
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
