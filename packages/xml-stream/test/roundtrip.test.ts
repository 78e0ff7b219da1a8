import { element_to_string, type XmlAttr, type XmlElement, type XmlNode } from '@tsjabberd/xml-stanza';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse_element } from '../src/index.js';

// Name characters drawn from ASCII, Latin-1, CJK and an astral plane, so names exercise the whole
// Name production; the first character comes from the start set.
const nameStart = fc.constantFrom('a', 'Z', '_', 'é', 'ß', '日', 'Ω', '\u{10400}');
const nameRest = fc.constantFrom('a', 'z', '0', '9', '-', '.', '_', '·', 'é', '本', '\u0301', '\u{10401}');
const ncName = fc.tuple(nameStart, fc.array(nameRest, { maxLength: 6 })).map(([a, b]) => a + b.join(''));

// Any character XML allows, astral ones included, with the specials over-represented.
const xmlText = fc
  .array(
    fc.oneof(
      fc.constantFrom('&', '<', '>', '"', "'", ']]>', '\r', '\n', '\t', ' ', '\r\n'),
      fc.string({ unit: 'binary', maxLength: 4 }),
    ),
    { maxLength: 8 },
  )
  .map((parts) => parts.join('').replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, ''));

const attrs: fc.Arbitrary<XmlAttr[]> = fc.uniqueArray(fc.tuple(ncName, xmlText), {
  maxLength: 4,
  selector: ([k]) => k,
});

/** Drops empty text and merges adjacent text: the parser's canonical form. */
function normalise(children: XmlNode[]): XmlNode[] {
  const out: XmlNode[] = [];
  for (const child of children) {
    if (child[0] === 'xmlcdata') {
      if (child[1] === '') continue;
      const last = out[out.length - 1];
      if (last !== undefined && last[0] === 'xmlcdata')
        out[out.length - 1] = ['xmlcdata', last[1] + child[1]];
      else out.push(child);
    } else out.push(child);
  }
  return out;
}

const { tree } = fc.letrec<{ tree: XmlElement; node: XmlNode }>((tie) => ({
  tree: fc
    .tuple(ncName, attrs, fc.array(tie('node'), { maxLength: 4 }))
    .map(([name, a, children]): XmlElement => ['xmlelement', name, a, normalise(children)]),
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    xmlText.map((t): XmlNode => ['xmlcdata', t]),
    tie('tree'),
  ),
}));

describe('element_to_string and parse_element', () => {
  it('parse(element_to_string(x)) gives back x for random trees', () => {
    fc.assert(
      fc.property(tree, (el) => {
        expect(parse_element(element_to_string(el))).toEqual(el);
      }),
      { numRuns: 3000, seed: 20261121 },
    );
  });

  it('also when the serialised tree arrives as bytes', () => {
    fc.assert(
      fc.property(tree, (el) => {
        expect(parse_element(Buffer.from(element_to_string(el)))).toEqual(el);
      }),
      { numRuns: 500, seed: 7622 },
    );
  });
});
