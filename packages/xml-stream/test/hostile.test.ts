import { describe, expect, it } from 'vitest';
import { parse_element, type StreamErrorCondition } from '../src/index.js';
import { errorOf, parseChunked, recorder, STREAM_OPEN, stanzas } from './helpers.js';

/** Parses `body` inside a stream, whole and one byte at a time, and returns the (identical) error. */
function refusal(body: string | Buffer, options = {}) {
  const input = Buffer.concat([
    Buffer.from(STREAM_OPEN),
    typeof body === 'string' ? Buffer.from(body) : body,
  ]);
  const whole = errorOf(parseChunked(input, 65536, options));
  const bytewise = errorOf(parseChunked(input, 1, options));
  expect(bytewise?.condition).toBe(whole?.condition);
  expect(bytewise?.reason).toBe(whole?.reason);
  return whole;
}

function expectRefused(body: string | Buffer, condition: StreamErrorCondition, reason: RegExp, options = {}) {
  const error = refusal(body, options);
  expect(error, `expected ${condition} for ${JSON.stringify(body.toString())}`).toBeDefined();
  expect(error?.condition).toBe(condition);
  expect(error?.reason).toMatch(reason);
}

describe('restricted XML (RFC 6120 section 11.1)', () => {
  it('refuses billion laughs: the DTD that declares the entities', () => {
    const lol = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><lolz>&lol3;</lolz>`;
    expect(parse_element(lol)).toEqual([
      'error',
      expect.objectContaining({ condition: 'restricted-xml', reason: expect.stringMatching(/DOCTYPE/) }),
    ]);
    expectRefused('<!DOCTYPE lolz [<!ENTITY lol "lol">]>', 'restricted-xml', /DOCTYPE/);
  });

  it('refuses the entity reference itself when there is no DTD', () => {
    expectRefused('<message><body>&lol9;</body></message>', 'restricted-xml', /entity reference &lol9;/);
    expectRefused("<message a='&lol;'/>", 'restricted-xml', /&lol;/);
  });

  it('refuses an external entity', () => {
    const xxe =
      '<?xml version="1.0"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><foo>&xxe;</foo>';
    expect(parse_element(xxe)).toEqual(['error', expect.objectContaining({ condition: 'restricted-xml' })]);
    expectRefused('<foo>&xxe;</foo>', 'restricted-xml', /&xxe;/);
  });

  it('refuses a DOCTYPE before the stream', () => {
    const got = parseChunked(`<!DOCTYPE stream:stream>${STREAM_OPEN}`, 3);
    expect(errorOf(got)?.condition).toBe('restricted-xml');
  });

  it('refuses processing instructions', () => {
    expectRefused('<?xml-stylesheet href="x"?>', 'restricted-xml', /processing instructions/);
    expectRefused('<message><?php echo 1; ?></message>', 'restricted-xml', /processing instructions/);
    // An XML declaration anywhere but the very start is a processing instruction too.
    expect(errorOf(parseChunked(` <?xml version='1.0'?>${STREAM_OPEN}`, 1))?.condition).toBe(
      'restricted-xml',
    );
  });

  it('refuses comments, anywhere', () => {
    expectRefused('<!-- hi -->', 'restricted-xml', /comments/);
    expectRefused('<message><body>a<!-- hi -->b</body></message>', 'restricted-xml', /comments/);
    expect(errorOf(parseChunked(`<!-- x -->${STREAM_OPEN}`, 1))?.condition).toBe('restricted-xml');
  });

  it('refuses an encoding other than UTF-8', () => {
    const got = parseChunked(`<?xml version='1.0' encoding='ISO-8859-1'?>${STREAM_OPEN}`, 5);
    expect(errorOf(got)).toMatchObject({
      condition: 'unsupported-encoding',
      reason: expect.stringMatching(/ISO-8859-1/),
    });
  });

  it('refuses a malformed XML declaration', () => {
    expect(errorOf(parseChunked(`<?xml versio='1.0'?>${STREAM_OPEN}`, 5))?.condition).toBe('not-well-formed');
    expect(errorOf(parseChunked(`<?xml version='1.0'${' '.repeat(400)}`, 5))?.condition).toBe(
      'not-well-formed',
    );
  });
});

describe('well-formedness', () => {
  it("refuses '<' inside an attribute value", () => {
    expectRefused(
      "<message to='a<b'/>",
      'not-well-formed',
      /'<' in the value of attribute 'to' of <message>/,
    );
  });

  it('refuses a mismatched end tag', () => {
    expectRefused(
      '<message><body>x</message>',
      'not-well-formed',
      /end tag <\/message> does not match the open element <body>/,
    );
    expectRefused('</stream:features>', 'not-well-formed', /does not match the open element <stream:stream>/);
  });

  it('refuses an unbound prefix on an element or an attribute', () => {
    expectRefused('<foo:bar/>', 'not-well-formed', /unbound namespace prefix 'foo'/);
    expectRefused("<message x:y='1'/>", 'not-well-formed', /unbound namespace prefix 'x'/);
    expectRefused("<a xmlns:p='urn:p'/><p:b/>", 'not-well-formed', /unbound namespace prefix 'p'/);
  });

  it('refuses namespace declarations XML-Namespaces forbids', () => {
    expectRefused("<a xmlns:p=''/>", 'not-well-formed', /empty namespace/);
    expectRefused("<a xmlns:xml='urn:x'/>", 'not-well-formed', /'xml'/);
    expectRefused("<a xmlns:xmlns='urn:x'/>", 'not-well-formed', /'xmlns'/);
    expectRefused(
      "<a xmlns:p='urn:p' xmlns:q='urn:p' p:x='1' q:x='2'/>",
      'not-well-formed',
      /repeats a namespaced attribute/,
    );
    expectRefused('<a:b:c/>', 'not-well-formed', /qualified name/);
  });

  it('refuses duplicate attributes, bad names and unquoted values', () => {
    expectRefused("<a id='1' id='2'/>", 'not-well-formed', /duplicate attribute 'id'/);
    expectRefused('<1a/>', 'not-well-formed', /does not start with a name character/);
    expectRefused('< a/>', 'not-well-formed', /cannot start a tag/);
    expectRefused('<a b=1/>', 'not-well-formed', /not quoted/);
    expectRefused("<a b='1'c='2'/>", 'not-well-formed', /separated by whitespace/);
    expectRefused('<a b/>', 'not-well-formed', /has no value/);
  });

  it('refuses characters XML does not allow, raw or as references', () => {
    expectRefused('<a>\u0000</a>', 'not-well-formed', /U\+0000/);
    expectRefused('<a>\u001b</a>', 'not-well-formed', /U\+001B/);
    expectRefused('<a>\uffff</a>', 'not-well-formed', /U\+FFFF/);
    expectRefused('<a>&#0;</a>', 'not-well-formed', /&#0;/);
    expectRefused('<a>&#xD800;</a>', 'not-well-formed', /&#xD800;/);
    expectRefused('<a>&#x110000;</a>', 'not-well-formed', /&#x110000;/);
    expectRefused('<a>a & b</a>', 'not-well-formed', /does not start a reference/);
    expectRefused('<a>]]></a>', 'not-well-formed', /']]>'/);
  });

  it('refuses a lone surrogate in string input', () => {
    const { parser, events } = recorder();
    parser.write(`${STREAM_OPEN}<a>\uD800</a>`);
    expect(errorOf(events)?.condition).toBe('not-well-formed');
  });

  it('refuses anything but whitespace after the stream ends', () => {
    expect(errorOf(parseChunked(`${STREAM_OPEN}</stream:stream>  \n`, 3))).toBeUndefined();
    expect(errorOf(parseChunked(`${STREAM_OPEN}</stream:stream><a/>`, 3))?.reason).toMatch(
      /after the root element/,
    );
    expect(errorOf(parseChunked(`${STREAM_OPEN}</stream:stream>junk`, 3))?.reason).toMatch(/text outside/);
  });

  it('refuses a stream root outside the streams namespace', () => {
    const got = parseChunked("<stream:stream xmlns:stream='urn:wrong' xmlns='jabber:client'>", 7);
    expect(errorOf(got)).toMatchObject({
      condition: 'invalid-namespace',
      reason: expect.stringMatching(/urn:wrong/),
    });
  });
});

describe('invalid UTF-8', () => {
  const cases: [string, number[]][] = [
    ['a stray continuation byte', [0x80]],
    ['an overlong slash', [0xc0, 0xaf]],
    ['an overlong three-byte form', [0xe0, 0x80, 0xaf]],
    ['an encoded surrogate', [0xed, 0xa0, 0x80]],
    ['a code point above U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
    ['a truncated sequence before ASCII', [0xe2, 0x82, 0x41]],
    ['the byte 0xFF', [0xff]],
  ];
  for (const [what, bytes] of cases) {
    it(`refuses ${what}, however it is split`, () => {
      const input = Buffer.concat([
        Buffer.from(`${STREAM_OPEN}<message><body>ok `),
        Buffer.from(bytes),
        Buffer.from(' ok</body></message>'),
      ]);
      for (const size of [1, 2, 3, 65536]) {
        const error = errorOf(parseChunked(input, size));
        expect(error?.condition).toBe('not-well-formed');
        expect(error?.reason).toMatch(/invalid UTF-8/);
      }
    });
  }

  it('accepts every valid sequence split at every byte', () => {
    const text = 'a é ☃ 😀 𝄞 z';
    const input = Buffer.from(`${STREAM_OPEN}<m>${text}</m>`);
    for (const size of [1, 2, 3, 4, 5]) {
      const got = parseChunked(input, size);
      expect(stanzas(got)).toEqual([`<m xmlns='jabber:client'>${text}</m>`]);
    }
  });

  it('reports a stream that ends inside a character, once the stream is open', () => {
    const { parser, events } = recorder();
    parser.write(Buffer.concat([Buffer.from(`${STREAM_OPEN}<a>`), Buffer.from([0xe2, 0x82])]));
    parser.end();
    expect(errorOf(events)?.reason).toMatch(/inside a UTF-8 character/);
  });
});

describe('limits', () => {
  // 'ü' is two bytes: the limit counts bytes, not characters. The stanza is larger than the stream
  // header, which counts too (ejabberd counts every byte since the previous event).
  const stanza = `<message to='ü@example.org'><body>${'ü'.repeat(100)}</body></message>`;
  const size = Buffer.byteLength(stanza);

  it('accepts a stanza of exactly max_stanza_size bytes and refuses one byte more', () => {
    for (const chunk of [1, 7, 65536]) {
      expect(
        errorOf(parseChunked(`${STREAM_OPEN}${stanza}`, chunk, { maxStanzaSize: size })),
      ).toBeUndefined();
      const error = errorOf(parseChunked(`${STREAM_OPEN}${stanza}`, chunk, { maxStanzaSize: size - 1 }));
      expect(error?.condition).toBe('policy-violation');
      expect(error?.reason).toMatch(/max_stanza_size \(/);
    }
  });

  it('restarts the count at each stanza', () => {
    const got = parseChunked(`${STREAM_OPEN}${stanza.repeat(1000)}`, 4096, { maxStanzaSize: size });
    expect(errorOf(got)).toBeUndefined();
    expect(stanzas(got)).toHaveLength(1000);
  });

  it('applies to the stream header too', () => {
    const error = errorOf(parseChunked(STREAM_OPEN, 10, { maxStanzaSize: 50 }));
    expect(error?.condition).toBe('policy-violation');
  });

  it('refuses nesting deeper than max_depth: 10,000 levels', () => {
    const deep = `${'<a>'.repeat(10_000)}${'</a>'.repeat(10_000)}`;
    const error = refusal(deep);
    expect(error).toMatchObject({
      condition: 'policy-violation',
      reason: '<a> nests deeper than max_depth (100)',
    });
    expect(
      errorOf(parseChunked(`${STREAM_OPEN}${'<a>'.repeat(9)}${'</a>'.repeat(9)}`, 5, { maxDepth: 10 })),
    ).toBeUndefined();
    expect(errorOf(parseChunked(`${STREAM_OPEN}${'<a>'.repeat(10)}`, 5, { maxDepth: 10 }))?.condition).toBe(
      'policy-violation',
    );
  });

  it('parses 10,000 levels when the limit allows it, without recursion', () => {
    const deep = `${'<a>'.repeat(10_000)}${'</a>'.repeat(10_000)}`;
    const el = parse_element(deep, { maxDepth: 10_000 });
    let depth = 0;
    for (let node = el; node !== undefined && node[0] === 'xmlelement'; node = node[3][0] as typeof el)
      depth++;
    expect(depth).toBe(10_000);
  });

  it('refuses more attributes than max_attributes', () => {
    const attrs = Array.from({ length: 101 }, (_, i) => `a${i}='${i}'`).join(' ');
    expectRefused(`<m ${attrs}/>`, 'policy-violation', /more than max_attributes \(100\)/);
  });
});

describe('memory stays bounded', () => {
  const MiB = 1024 * 1024;

  /** Feeds up to `total` bytes in 64 KiB chunks; returns the bytes fed when the error came. */
  function feedUntilRefused(
    head: string,
    filler: string,
    total: number,
  ): { fed: number; condition?: string } {
    const { parser, events } = recorder();
    parser.write(head);
    const chunk = Buffer.from(filler.repeat(Math.ceil(65536 / filler.length)).slice(0, 65536));
    let fed = 0;
    while (fed < total) {
      parser.write(chunk);
      fed += chunk.length;
      if (errorOf(events) !== undefined) break;
    }
    // Writes after the error are ignored, not buffered.
    for (let i = 0; i < 16; i++) parser.write(chunk);
    return { fed, condition: errorOf(events)?.condition };
  }

  it('refuses a 50 MB text node that never ends as soon as it passes max_stanza_size', () => {
    const { fed, condition } = feedUntilRefused(`${STREAM_OPEN}<message><body>`, 'lorem ipsum ', 50 * MiB);
    expect(condition).toBe('policy-violation');
    expect(fed).toBeLessThanOrEqual(262_144 + 65_536);
  });

  it('refuses an attribute value that never ends', () => {
    const { fed, condition } = feedUntilRefused(`${STREAM_OPEN}<message to='`, 'x', 50 * MiB);
    expect(condition).toBe('policy-violation');
    expect(fed).toBeLessThanOrEqual(262_144 + 65_536);
  });

  it('refuses a tag name that never ends', () => {
    const { fed, condition } = feedUntilRefused(`${STREAM_OPEN}<m`, 'x', 50 * MiB);
    expect(condition).toBe('policy-violation');
    expect(fed).toBeLessThanOrEqual(262_144 + 65_536);
  });

  it('refuses whitespace between stanzas that never ends', () => {
    const { fed, condition } = feedUntilRefused(STREAM_OPEN, ' ', 50 * MiB);
    expect(condition).toBe('policy-violation');
    expect(fed).toBeLessThanOrEqual(262_144 + 65_536);
  });

  it('refuses a CDATA section that never ends', () => {
    const { fed, condition } = feedUntilRefused(`${STREAM_OPEN}<a><![CDATA[`, 'x]', 50 * MiB);
    expect(condition).toBe('policy-violation');
    expect(fed).toBeLessThanOrEqual(262_144 + 65_536);
  });
});
