import { describe, expect, it } from 'vitest';
import { stanzaLog } from './stanza-log.js';

const header =
  "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='example.org' version='1.0'>";

describe('stanza-log example', () => {
  it('prints the events of a stream, whatever the chunking', () => {
    const stream = Buffer.from(
      `${header}<message to='juliet@example.org'><body>Wherefore art thou?</body></message></stream:stream>`,
    );
    const expected = [
      'stream opened: <stream:stream> xmlns=jabber:client xmlns:stream=http://etherx.jabber.org/streams to=example.org version=1.0',
      "stanza <message>: <message to='juliet@example.org' xmlns='jabber:client'><body>Wherefore art thou?</body></message>",
      'stream closed: </stream:stream>',
    ];
    expect(stanzaLog([stream])).toEqual(expected);
    expect(stanzaLog([...stream].map((b) => Uint8Array.of(b)))).toEqual(expected);
  });

  it('prints the stream error a server would send', () => {
    expect(stanzaLog([Buffer.from(`${header}<message><!-- hi --></message>`)]).at(-1)).toBe(
      `stream error <restricted-xml/>: comments are not allowed (RFC 6120 11.1) (at character ${header.length + '<message>'.length})`,
    );
  });
});
