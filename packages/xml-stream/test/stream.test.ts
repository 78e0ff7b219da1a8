import { describe, expect, it } from 'vitest';
import { NS_STREAM, parse_element, XmlStream, type XmlStreamEvent, xml_stream } from '../src/index.js';
import { type Event, errorOf, parseChunked, recorder, STREAM_OPEN, stanzas } from './helpers.js';

const conversation = `<?xml version='1.0' encoding='UTF-8'?>${STREAM_OPEN}
  <message to='juliet@capulet.lit' type='chat' id='m1'><body>Grüße &amp; 日本語 😀 &lt;3 &#x263A;&#9731;</body><active xmlns='http://jabber.org/protocol/chatstates'/></message>
  <presence><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='n' ver='v='/></presence>
  <stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>
  <iq type='get' id='i1'><query xmlns='jabber:iq:roster'><![CDATA[a<b]]> and <![CDATA[c]]></query></iq>
</stream:stream>`;

describe('XmlStream events', () => {
  const events = parseChunked(conversation, 65536);

  it('reports the stream start with its name and attributes in order', () => {
    expect(events[0]).toEqual([
      'start',
      'stream:stream',
      [
        ['xmlns', 'jabber:client'],
        ['xmlns:stream', NS_STREAM],
        ['to', 'localhost'],
        ['version', '1.0'],
      ],
    ]);
  });

  it('reports each stanza as a tuple, carrying the namespaces it inherits from the stream', () => {
    expect(stanzas(events)).toEqual([
      "<message to='juliet@capulet.lit' type='chat' id='m1' xmlns='jabber:client'><body>Grüße &amp; 日本語 😀 &lt;3 ☺☃</body><active xmlns='http://jabber.org/protocol/chatstates'/></message>",
      "<presence xmlns='jabber:client'><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='n' ver='v='/></presence>",
      `<stream:features xmlns:stream='${NS_STREAM}'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>`,
      "<iq type='get' id='i1' xmlns='jabber:client'><query xmlns='jabber:iq:roster'>a&lt;b and c</query></iq>",
    ]);
  });

  it('merges CDATA sections with adjacent text into one cdata child', () => {
    const iq = events[4][1] as unknown as [
      'xmlelement',
      string,
      unknown,
      [['xmlelement', string, unknown, unknown[]]],
    ];
    expect(iq[3][0][3]).toEqual([['xmlcdata', 'a<b and c']]);
  });

  it('reports the stream end and nothing else', () => {
    expect(events.at(-1)).toEqual(['end', 'stream:stream']);
    expect(events).toHaveLength(6);
    expect(errorOf(events)).toBeUndefined();
  });

  it('gives the same events however the bytes are split', () => {
    for (const size of [1, 2, 3, 5, 7, 64, 4096]) expect(parseChunked(conversation, size)).toEqual(events);
    // a split inside every multi-byte character: one byte at a time covers it, and random splits too
    const bytes = Buffer.from(conversation);
    let seed = 42;
    for (let round = 0; round < 50; round++) {
      const { parser, events: got } = recorder();
      for (let i = 0; i < bytes.length; ) {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        const step = 1 + (seed % 40);
        parser.write(bytes.subarray(i, i + step));
        i += step;
      }
      expect(got).toEqual(events);
    }
  });

  it('accepts string input with the same result', () => {
    const { parser, events: got } = recorder();
    parser.write(conversation);
    expect(got).toEqual(events);
  });

  it('does not keep the stream declarations of a stanza that declares its own namespace', () => {
    const got = parseChunked(`${STREAM_OPEN}<iq xmlns='jabber:server' type='get'/>`, 100);
    expect(stanzas(got)).toEqual(["<iq xmlns='jabber:server' type='get'/>"]);
  });

  it('reports a stream root that closes at once', () => {
    const got = parseChunked(
      "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'/>",
      10,
    );
    expect(got.map((e) => e[0])).toEqual(['start', 'end']);
  });

  it('skips a UTF-8 byte order mark at the start', () => {
    const got = parseChunked(
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`${STREAM_OPEN}<a/>`)]),
      1,
    );
    expect(stanzas(got)).toEqual(["<a xmlns='jabber:client'/>"]);
  });

  it('normalises line ends in text and whitespace in attribute values, as XML requires', () => {
    const got = parseChunked(`${STREAM_OPEN}<a v='x\r\ny\tz&#10;'>1\r\n2\r3&#13;</a>`, 3);
    const el = got[1][1] as unknown as [string, string, [string, string][], [string, string][]];
    expect(el[2][0]).toEqual(['v', 'x y z\n']);
    expect(el[3][0]).toEqual(['xmlcdata', '1\n2\n3\r']);
  });

  it('reports an element as soon as its end tag arrives', () => {
    const { parser, events: got } = recorder();
    parser.write(STREAM_OPEN);
    parser.write('<presence/');
    expect(got).toHaveLength(1);
    parser.write('>');
    expect(got).toHaveLength(2);
    parser.write('<message><body>x</body></message');
    expect(got).toHaveLength(2);
    parser.write('>');
    expect(got).toHaveLength(3);
  });
});

describe('stream restart', () => {
  it('reset() starts a new stream, with a new XML declaration allowed', () => {
    const { parser, events } = recorder();
    parser.write(`<?xml version='1.0'?>${STREAM_OPEN}<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>`);
    parser.reset();
    parser.write(`<?xml version='1.0'?>${STREAM_OPEN}<iq type='set'/>`);
    expect(events.map((e) => e[0])).toEqual(['start', 'element', 'start', 'element']);
    expect(errorOf(events)).toBeUndefined();
  });

  it('a reset from a handler applies to the rest of the same chunk', () => {
    const events: string[] = [];
    const parser: XmlStream = new XmlStream({
      xmlstreamstart: (name) => events.push(`start ${name}`),
      xmlstreamelement: (el) => {
        events.push(`element ${el[1]}`);
        if (el[1] === 'proceed') parser.reset();
      },
      xmlstreamend: (name) => events.push(`end ${name}`),
      xmlstreamerror: (e) => events.push(`error ${e.reason}`),
    });
    parser.write(
      Buffer.from(
        `${STREAM_OPEN}<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/><?xml version='1.0'?>${STREAM_OPEN}<présence/>`,
      ),
    );
    expect(events).toEqual([
      'start stream:stream',
      'element proceed',
      'start stream:stream',
      'element présence',
    ]);
  });

  it('after an error nothing more is reported until reset', () => {
    const { parser, events } = recorder();
    parser.write(`${STREAM_OPEN}<a></b><c/>`);
    parser.write('<d/>');
    expect(events.map((e) => e[0])).toEqual(['start', 'error']);
    parser.reset();
    parser.write(`${STREAM_OPEN}<c/>`);
    expect(events.map((e) => e[0])).toEqual(['start', 'error', 'start', 'element']);
  });
});

describe('ejabberd API: new, parse, reset, close', () => {
  it('sends tagged event tuples to the callback', () => {
    const got: XmlStreamEvent[] = [];
    let state = xml_stream.new((event) => got.push(event), 1000);
    state = xml_stream.parse(state, Buffer.from(`${STREAM_OPEN}<message><body>hi</body></message>`));
    state = xml_stream.parse(state, '</stream:stream>');
    expect(got.map((e) => e[0])).toEqual(['xmlstreamstart', 'xmlstreamelement', 'xmlstreamend']);
    expect(got[1]).toEqual([
      'xmlstreamelement',
      [
        'xmlelement',
        'message',
        [['xmlns', 'jabber:client']],
        [['xmlelement', 'body', [], [['xmlcdata', 'hi']]]],
      ],
    ]);
    state = xml_stream.reset(state);
    xml_stream.parse(state, STREAM_OPEN);
    expect(got.at(-1)?.[0]).toBe('xmlstreamstart');
    expect(xml_stream.close(state)).toBe(true);
  });

  it('enforces MaxSize and reports xmlstreamerror', () => {
    const got: XmlStreamEvent[] = [];
    const state = xml_stream.new((event) => got.push(event), 50);
    xml_stream.parse(state, `${STREAM_OPEN}<message><body>${'x'.repeat(60)}</body></message>`);
    expect(got.at(-1)).toEqual([
      'xmlstreamerror',
      expect.objectContaining({ condition: 'policy-violation' }),
    ]);
  });

  it("accepts 'infinity' as MaxSize", () => {
    const got: XmlStreamEvent[] = [];
    const state = xml_stream.new((event) => got.push(event), 'infinity');
    xml_stream.parse(state, `${STREAM_OPEN}<message><body>${'x'.repeat(300_000)}</body></message>`);
    expect(got.map((e) => e[0])).toEqual(['xmlstreamstart', 'xmlstreamelement']);
  });
});

describe('parse_element', () => {
  it('returns the element', () => {
    expect(parse_element("<message to='a@b'><body>x &amp; y</body></message>")).toEqual([
      'xmlelement',
      'message',
      [['to', 'a@b']],
      [['xmlelement', 'body', [], [['xmlcdata', 'x & y']]]],
    ]);
  });

  it('accepts whitespace and an XML declaration around the element', () => {
    expect(parse_element("<?xml version='1.0' encoding='utf-8'?>\n <a/> \n")).toEqual([
      'xmlelement',
      'a',
      [],
      [],
    ]);
  });

  it('returns an error tuple for bad input', () => {
    expect(parse_element('<a>')).toEqual([
      'error',
      expect.objectContaining({ condition: 'not-well-formed' }),
    ]);
    expect(parse_element('')).toEqual([
      'error',
      expect.objectContaining({ reason: 'no element in the input' }),
    ]);
    expect(parse_element('<a/><b/>')).toEqual([
      'error',
      expect.objectContaining({ reason: 'an element after the root element closed' }),
    ]);
    expect(parse_element('text<a/>')).toEqual([
      'error',
      expect.objectContaining({ reason: 'text outside the root element' }),
    ]);
  });

  it('does not require a namespace for the root', () => {
    expect(parse_element('<x:a xmlns:x="urn:x"><x:b/></x:a>')).toEqual([
      'xmlelement',
      'x:a',
      [['xmlns:x', 'urn:x']],
      [['xmlelement', 'x:b', [], []]],
    ]);
  });
});

describe('options', () => {
  it('rejects a limit that is not a positive integer', () => {
    expect(() => recorder({ maxStanzaSize: 0 })).toThrow(RangeError);
    expect(() => recorder({ maxDepth: 1.5 })).toThrow(/maxDepth/);
  });

  it('rootNamespace: null accepts any root', () => {
    const got: Event[] = parseChunked('<doc><a/></doc>', 4, { rootNamespace: null });
    expect(got.map((e) => e[0])).toEqual(['start', 'element', 'end']);
  });
});
