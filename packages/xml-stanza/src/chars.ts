/**
 * XML 1.0 (Fifth Edition) character classes, shared by the serialiser here and the stream parser.
 * ASCII is looked up in a table; the rest by the ranges of the spec's productions.
 */

/** Bit flags of `ASCII_CLASS`. */
export const NAME_START = 1;
export const NAME_CHAR = 2;
export const WHITESPACE = 4;

/** Class bits for code units 0..127. */
export const ASCII_CLASS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  let bits = 0;
  if (/[A-Za-z_:]/.test(ch)) bits |= NAME_START | NAME_CHAR;
  if (/[-.0-9]/.test(ch)) bits |= NAME_CHAR;
  if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) bits |= WHITESPACE;
  ASCII_CLASS[c] = bits;
}

/** `NameStartChar` for a code point above 127 (a surrogate pair counts as one code point). */
export function isNameStartNonAscii(cp: number): boolean {
  return (
    (cp >= 0xc0 && cp <= 0xd6) ||
    (cp >= 0xd8 && cp <= 0xf6) ||
    (cp >= 0xf8 && cp <= 0x2ff) ||
    (cp >= 0x370 && cp <= 0x37d) ||
    (cp >= 0x37f && cp <= 0x1fff) ||
    (cp >= 0x200c && cp <= 0x200d) ||
    (cp >= 0x2070 && cp <= 0x218f) ||
    (cp >= 0x2c00 && cp <= 0x2fef) ||
    (cp >= 0x3001 && cp <= 0xd7ff) ||
    (cp >= 0xf900 && cp <= 0xfdcf) ||
    (cp >= 0xfdf0 && cp <= 0xfffd) ||
    (cp >= 0x10000 && cp <= 0xeffff)
  );
}

/** `NameChar` for a code point above 127. */
export function isNameCharNonAscii(cp: number): boolean {
  return (
    cp === 0xb7 || (cp >= 0x300 && cp <= 0x36f) || (cp >= 0x203f && cp <= 0x2040) || isNameStartNonAscii(cp)
  );
}

/** `Char`: the code points XML 1.0 allows anywhere in a document. */
export function isXmlChar(cp: number): boolean {
  return (
    cp === 0x9 ||
    cp === 0xa ||
    cp === 0xd ||
    (cp >= 0x20 && cp <= 0xd7ff) ||
    (cp >= 0xe000 && cp <= 0xfffd) ||
    (cp >= 0x10000 && cp <= 0x10ffff)
  );
}

/**
 * Matches the first code unit XML 1.0 forbids: C0 controls other than tab/LF/CR, U+FFFE/U+FFFF, and
 * (with the `u` flag) a surrogate that is not half of a pair.
 */
export const FORBIDDEN_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDFFF]/u;

/** True when `name` matches the XML `Name` production. */
export function is_xml_name(name: string): boolean {
  const n = name.length;
  if (n === 0) return false;
  for (let i = 0; i < n; i++) {
    let cp = name.charCodeAt(i);
    if (cp < 128) {
      if ((ASCII_CLASS[cp] & (i === 0 ? NAME_START : NAME_CHAR)) === 0) return false;
      continue;
    }
    if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < n) {
      const lo = name.charCodeAt(i + 1);
      if (lo >= 0xdc00 && lo <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        i++;
      }
    }
    if (!(i === 0 ? isNameStartNonAscii(cp) : isNameCharNonAscii(cp))) return false;
  }
  return true;
}
