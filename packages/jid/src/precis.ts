import { isIPv6 } from 'node:net';
import { domainToASCII, domainToUnicode } from 'node:url';
import type { JidPart } from './error.js';

/**
 * Preparation and enforcement of the three JID slots (RFC 7622 section 3), as far as it goes without
 * shipping Unicode tables of our own: everything below relies on the engine's Unicode data (regex
 * property escapes, `String.prototype.normalize`, `toLowerCase`) and on Node's UTS-46 implementation
 * (`url.domainToASCII`). README.md lists what is covered and what is not.
 */

/** RFC 7622 section 3.1: each part is at most 1023 octets of UTF-8. */
export const MAX_PART_BYTES = 1023;

/** DNS: a label is at most 63 octets (in its A-label form). */
const MAX_LABEL_BYTES = 63;

/** A preparation that failed: the slot and the rule broken. */
export class PrepFailure {
  constructor(
    readonly part: JidPart,
    readonly reason: string,
  ) {}
}

/** The prepared string, or why it could not be prepared. */
export type Prepared = string | PrepFailure;

/** UTF-8 length of `s`; a lone surrogate counts as U+FFFD, 3 bytes (such strings are rejected anyway). */
export function utf8Length(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** `undefined` when `s` fits in a part, else the failure naming its length. */
function checkLength(s: string, part: JidPart): PrepFailure | undefined {
  // Every UTF-16 unit is 1 to 3 bytes of UTF-8: short strings are settled without counting.
  if (s.length * 3 <= MAX_PART_BYTES) return undefined;
  const bytes = utf8Length(s);
  if (bytes <= MAX_PART_BYTES) return undefined;
  return new PrepFailure(part, `${part} longer than ${MAX_PART_BYTES} bytes (${bytes} bytes)`);
}

/** `'x' (U+0078)` for a visible character, `U+0009` for the rest. */
export function describeChar(ch: string): string {
  const hex = `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
  return /^[\p{L}\p{N}\p{P}\p{S}]$/u.test(ch) ? `'${ch}' (${hex})` : hex;
}

// --- Character classes (RFC 8264 section 9, approximated by General_Category) ---------------------

/** Characters RFC 7622 section 3.3.1 excludes from localparts on top of the IdentifierClass. */
const LOCALPART_EXCLUDED = new Set(['"', '&', "'", '/', ':', '<', '>', '@']);

/** RFC 5892 section 2.6: exceptions to the derived property. */
const EXCEPTION_PVALID = new Set([0x00df, 0x03c2, 0x06fd, 0x06fe, 0x0f0b, 0x3007]);
const EXCEPTION_DISALLOWED = new Set([
  0x0640, 0x07fa, 0x302e, 0x302f, 0x3031, 0x3032, 0x3033, 0x3034, 0x3035, 0x303b,
]);

const RE_SURROGATE = /^\p{Cs}$/u;
const RE_CONTROL = /^\p{Cc}$/u;
const RE_UNASSIGNED = /^\p{Cn}$/u;
const RE_PRIVATE_USE = /^\p{Co}$/u;
const RE_SPACE = /^[\p{White_Space}\p{Zs}\p{Zl}\p{Zp}]$/u;
const RE_IGNORABLE = /^\p{Default_Ignorable_Code_Point}$/u;
/** PRECIS LetterDigits: Ll, Lu, Lo, Nd, Lm, Mn, Mc. */
const RE_LETTER_DIGITS = /^[\p{Ll}\p{Lu}\p{Lo}\p{Nd}\p{Lm}\p{Mn}\p{Mc}]$/u;
/** What the FreeformClass admits besides ASCII7: letters, marks, numbers, punctuation, symbols, spaces. */
const RE_FREEFORM = /^[\p{L}\p{M}\p{N}\p{P}\p{S}\p{Zs}]$/u;
const RE_GREEK = /^\p{Script=Greek}$/u;
const RE_HEBREW = /^\p{Script=Hebrew}$/u;
const RE_HIRAGANA_KATAKANA_HAN = /^[\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Han}]$/u;

function isNoncharacter(cp: number): boolean {
  return (cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) === 0xfffe;
}

/** Hangul_Syllable_Type L, V or T (conjoining jamo): PRECIS OldHangulJamo, disallowed. */
function isOldHangulJamo(cp: number): boolean {
  return (
    (cp >= 0x1100 && cp <= 0x11ff) ||
    (cp >= 0xa960 && cp <= 0xa97c) ||
    (cp >= 0xd7b0 && cp <= 0xd7c6) ||
    (cp >= 0xd7cb && cp <= 0xd7fb)
  );
}

function isArabicIndicDigit(cp: number): boolean {
  return cp >= 0x0660 && cp <= 0x0669;
}

function isExtendedArabicIndicDigit(cp: number): boolean {
  return cp >= 0x06f0 && cp <= 0x06f9;
}

function isContextO(cp: number): boolean {
  return (
    cp === 0x00b7 ||
    cp === 0x0375 ||
    cp === 0x05f3 ||
    cp === 0x05f4 ||
    cp === 0x30fb ||
    isArabicIndicDigit(cp) ||
    isExtendedArabicIndicDigit(cp)
  );
}

/** RFC 5892 appendix A.3 to A.9: may the CONTEXTO code point at `i` stand where it is? */
function contextOAllows(chars: readonly string[], i: number): boolean {
  const cp = chars[i].codePointAt(0)!;
  const before = i > 0 ? chars[i - 1] : '';
  const after = i + 1 < chars.length ? chars[i + 1] : '';
  switch (cp) {
    case 0x00b7: // MIDDLE DOT: only between two 'l' (Catalan)
      return before === 'l' && after === 'l';
    case 0x0375: // GREEK LOWER NUMERAL SIGN: before a Greek character
      return after !== '' && RE_GREEK.test(after);
    case 0x05f3: // HEBREW PUNCTUATION GERESH
    case 0x05f4: // HEBREW PUNCTUATION GERSHAYIM: after a Hebrew character
      return before !== '' && RE_HEBREW.test(before);
    case 0x30fb: // KATAKANA MIDDLE DOT: in a string with Hiragana, Katakana or Han
      return chars.some((ch) => RE_HIRAGANA_KATAKANA_HAN.test(ch));
    default:
      // Arabic-Indic digits and Extended Arabic-Indic digits must not be mixed.
      if (isArabicIndicDigit(cp)) return !chars.some((ch) => isExtendedArabicIndicDigit(ch.codePointAt(0)!));
      return !chars.some((ch) => isArabicIndicDigit(ch.codePointAt(0)!));
  }
}

/**
 * Enforce a PRECIS string class on an already mapped and normalised string: `undefined` when every code
 * point is allowed, else the failure naming the first one that is not.
 */
function checkClass(s: string, cls: 'identifier' | 'freeform', part: JidPart): PrepFailure | undefined {
  const chars = Array.from(s);
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i];
    const cp = ch.codePointAt(0)!;
    const bad = (what: string) => new PrepFailure(part, `${part} contains ${what}`);
    if (cp < 0x80) {
      if (cp < 0x20 || cp === 0x7f) return bad(`control character ${describeChar(ch)}`);
      if (cp === 0x20 && cls === 'identifier') return bad(`whitespace ${describeChar(ch)}`);
      if (part === 'localpart' && LOCALPART_EXCLUDED.has(ch)) {
        return bad(`forbidden character ${describeChar(ch)}`);
      }
      continue;
    }
    if (EXCEPTION_PVALID.has(cp)) continue;
    if (EXCEPTION_DISALLOWED.has(cp)) return bad(`disallowed character ${describeChar(ch)}`);
    if (isContextO(cp)) {
      if (contextOAllows(chars, i)) continue;
      return bad(`${describeChar(ch)} outside the context RFC 5892 allows it in`);
    }
    if (RE_SURROGATE.test(ch)) return bad(`lone surrogate ${describeChar(ch)}`);
    if (isNoncharacter(cp)) return bad(`noncharacter ${describeChar(ch)}`);
    if (RE_UNASSIGNED.test(ch)) return bad(`unassigned code point ${describeChar(ch)}`);
    if (cp === 0x200c || cp === 0x200d) return bad(`joiner ${describeChar(ch)} (CONTEXTJ is not supported)`);
    if (RE_CONTROL.test(ch)) return bad(`control character ${describeChar(ch)}`);
    if (RE_SPACE.test(ch) && (cls === 'identifier' || !/^\p{Zs}$/u.test(ch))) {
      return bad(`whitespace ${describeChar(ch)}`);
    }
    if (RE_IGNORABLE.test(ch)) return bad(`default-ignorable code point ${describeChar(ch)}`);
    if (isOldHangulJamo(cp)) return bad(`conjoining Hangul jamo ${describeChar(ch)}`);
    if (RE_PRIVATE_USE.test(ch)) return bad(`private-use character ${describeChar(ch)}`);
    if (cls === 'identifier') {
      if (ch.normalize('NFKC') !== ch) return bad(`compatibility character ${describeChar(ch)}`);
      if (!RE_LETTER_DIGITS.test(ch)) return bad(`disallowed character ${describeChar(ch)}`);
    } else if (!RE_FREEFORM.test(ch) && ch.normalize('NFKC') === ch) {
      // FreeformClass: HasCompat code points are FREE_PVAL whatever their category.
      return bad(`disallowed character ${describeChar(ch)}`);
    }
  }
  return undefined;
}

/**
 * Apply `map` until the result is stable. RFC 8264 section 7: a string that has not stabilised after
 * three more applications is rejected.
 */
function stabilise(s: string, map: (s: string) => string, part: JidPart): Prepared {
  let previous = s;
  let current = map(s);
  for (let rounds = 0; current !== previous; rounds++) {
    if (rounds === 3) return new PrepFailure(part, `${part} does not stabilise under preparation`);
    previous = current;
    current = map(current);
  }
  return current;
}

// --- Localpart: UsernameCaseMapped (RFC 8265 section 3.3) plus RFC 7622's exclusions ----------------

/** Printable ASCII minus `"&'/:<>@`: the localparts that need nothing but lower-casing. */
const ASCII_LOCALPART = /^[\x21\x23-\x25\x28-\x2e\x30-\x39\x3b\x3d\x3f\x41-\x7e]+$/;

/** Code points with a `<wide>` or `<narrow>` decomposition (the ideographic space and U+FF01..U+FFEE). */
const WIDE_OR_NARROW = /[\u3000\uff01-\uffee]/g;

function usernameCaseMap(s: string): string {
  // Width mapping, case mapping (toLowerCase, as RFC 8265 prescribes), then NFC.
  return s
    .replace(WIDE_OR_NARROW, (ch) => ch.normalize('NFKC'))
    .toLowerCase()
    .normalize('NFC');
}

/**
 * Prepare and enforce a localpart. `''` stands for "no localpart" and is returned as is; callers that
 * parsed an `@` check for emptiness themselves.
 */
export function prepareLocalpart(s: string): Prepared {
  if (s === '') return '';
  const long = checkLength(s, 'localpart');
  if (long) return long;
  if (ASCII_LOCALPART.test(s)) return s.toLowerCase();
  const mapped = stabilise(s, usernameCaseMap, 'localpart');
  if (typeof mapped !== 'string') return mapped;
  return checkClass(mapped, 'identifier', 'localpart') ?? checkLength(mapped, 'localpart') ?? mapped;
}

// --- Resourcepart: OpaqueString (RFC 8265 section 4.2) -----------------------------------------------

const ASCII_RESOURCEPART = /^[\x20-\x7e]+$/;

function opaqueMap(s: string): string {
  // Non-ASCII spaces become U+0020; no case mapping; NFC.
  return s.replace(/\p{Zs}/gu, ' ').normalize('NFC');
}

/** Prepare and enforce a resourcepart. `''` stands for "no resourcepart" and is returned as is. */
export function prepareResourcepart(s: string): Prepared {
  if (s === '') return '';
  const long = checkLength(s, 'resourcepart');
  if (long) return long;
  if (ASCII_RESOURCEPART.test(s)) return s;
  const mapped = stabilise(s, opaqueMap, 'resourcepart');
  if (typeof mapped !== 'string') return mapped;
  return checkClass(mapped, 'freeform', 'resourcepart') ?? checkLength(mapped, 'resourcepart') ?? mapped;
}

// --- Domainpart: IP literal, or labels through UTS-46 (RFC 7622 section 3.2) -------------------------

/** RFC 7622 section 3.2: one trailing label separator is stripped before anything else is done. */
export function stripTrailingDot(domain: string): string {
  return domain.endsWith('.') ? domain.slice(0, -1) : domain;
}

const ASCII_DOMAIN = /^[A-Za-z0-9._-]+$/;
const ASCII_LABEL = /^[a-z0-9_-]+$/;
const NON_LABEL_ASCII = /[^a-z0-9_-]/;
/** Label separators besides `.`: ideographic, fullwidth and halfwidth ideographic full stops. */
const LABEL_SEPARATORS = /[\u3002\uff0e\uff61]/g;

function domainFailure(reason: string): PrepFailure {
  return new PrepFailure('domainpart', `domainpart ${reason}`);
}

/**
 * One label through Node's UTS-46 `domainToASCII` or `domainToUnicode`; `undefined` when UTS-46 rejects
 * it or it does not stay one label. The `.x` suffix keeps the WHATWG host parser behind those functions
 * from reading an all-digit label as an IPv4 number (`123` would come back as `0.0.0.123`).
 */
function throughUts46(label: string, convert: (domain: string) => string): string | undefined {
  const out = convert(`${label}.x`);
  if (!out.endsWith('.x')) return undefined;
  const converted = out.slice(0, -2);
  return converted === '' || converted.includes('.') ? undefined : converted;
}

function prepareLabel(label: string): Prepared {
  if (label === '') return domainFailure('contains an empty label');
  let ascii: string | undefined;
  if (/^[\x00-\x7f]+$/.test(label)) {
    const lower = label.toLowerCase();
    if (!ASCII_LABEL.test(lower)) {
      const ch = lower.match(NON_LABEL_ASCII)![0];
      if (ch === ' ') return domainFailure(`contains whitespace ${describeChar(ch)}`);
      if (ch < ' ' || ch === '\x7f') return domainFailure(`contains control character ${describeChar(ch)}`);
      return domainFailure(`contains forbidden character ${describeChar(ch)}`);
    }
    if (lower.length > MAX_LABEL_BYTES) return domainFailure(`label longer than ${MAX_LABEL_BYTES} bytes`);
    if (!lower.startsWith('xn--')) return lower;
    ascii = throughUts46(lower, domainToASCII);
    if (ascii === undefined) return domainFailure(`label "${label}" is not a valid A-label`);
  } else {
    for (const ch of label) {
      const cp = ch.codePointAt(0)!;
      if (cp < 0x80 && !/[A-Za-z0-9_-]/.test(ch)) {
        if (ch === ' ') return domainFailure(`contains whitespace ${describeChar(ch)}`);
        if (cp < 0x20 || cp === 0x7f) return domainFailure(`contains control character ${describeChar(ch)}`);
        return domainFailure(`contains forbidden character ${describeChar(ch)}`);
      }
      if (RE_CONTROL.test(ch)) return domainFailure(`contains control character ${describeChar(ch)}`);
      if (RE_SPACE.test(ch)) return domainFailure(`contains whitespace ${describeChar(ch)}`);
      if (RE_SURROGATE.test(ch)) return domainFailure(`contains lone surrogate ${describeChar(ch)}`);
    }
    ascii = throughUts46(label, domainToASCII);
    if (ascii === undefined) return domainFailure(`label "${label}" is not a valid internationalized label`);
  }
  if (ascii.length > MAX_LABEL_BYTES) return domainFailure(`label longer than ${MAX_LABEL_BYTES} bytes`);
  // RFC 7622 section 3.2.1: the domainpart holds U-labels, never A-labels.
  const unicode = throughUts46(ascii, domainToUnicode);
  if (unicode === undefined) return domainFailure(`label "${label}" is not a valid internationalized label`);
  for (const ch of unicode) {
    if (ch.codePointAt(0)! < 0x80 && NON_LABEL_ASCII.test(ch)) {
      return domainFailure(`label "${label}" maps to forbidden character ${describeChar(ch)}`);
    }
  }
  return unicode;
}

function prepareIpLiteral(s: string): Prepared {
  const inner = s.endsWith(']') ? s.slice(1, -1) : '';
  if (!/^[0-9A-Fa-f:.]+$/.test(inner) || !isIPv6(inner)) {
    return domainFailure(`"${s}" is not a valid IPv6 literal`);
  }
  return `[${inner.toLowerCase()}]`;
}

/**
 * Prepare and enforce a domainpart whose trailing dot, if any, is already stripped (see
 * `stripTrailingDot`): an IPv6 literal in brackets, or dot-separated labels, ASCII ones lower-cased and
 * checked against letters, digits, `-` and `_`, internationalised ones through UTS-46 and back to
 * U-labels.
 */
export function prepareDomainpart(s: string): Prepared {
  if (s === '') return new PrepFailure('domainpart', 'empty domainpart');
  const long = checkLength(s, 'domainpart');
  if (long) return long;
  if (s.charCodeAt(0) === 0x5b) return prepareIpLiteral(s);
  if (ASCII_DOMAIN.test(s)) {
    const lower = s.toLowerCase();
    if (!lower.includes('xn--')) {
      for (const label of lower.split('.')) {
        if (label === '') return domainFailure('contains an empty label');
        if (label.length > MAX_LABEL_BYTES)
          return domainFailure(`label longer than ${MAX_LABEL_BYTES} bytes`);
      }
      return lower;
    }
  }
  const labels: string[] = [];
  for (const label of s.replace(LABEL_SEPARATORS, '.').split('.')) {
    const prepared = prepareLabel(label);
    if (typeof prepared !== 'string') return prepared;
    labels.push(prepared);
  }
  const out = labels.join('.');
  return checkLength(out, 'domainpart') ?? out;
}
