/**
 * A first look at the parser: read an XMPP stream (a file, a capture, or stdin) and print one line per
 * event, the way a server's c2s process sees them.
 *
 *   node examples/stanza-log/dist/stanza-log.js < capture.xml
 */
import { element_to_string } from '@tsjabberd/xml-stanza';
import { XmlStream } from '@tsjabberd/xml-stream';

/** Feeds `chunks` to a stream parser and returns one readable line per event. */
export function stanzaLog(chunks: Iterable<Uint8Array>, maxStanzaSize = 65_536): string[] {
  const lines: string[] = [];
  const parser = new XmlStream(
    {
      xmlstreamstart: (name, attrs) =>
        lines.push(`stream opened: <${name}> ${attrs.map(([k, v]) => `${k}=${v}`).join(' ')}`),
      xmlstreamelement: (el) => lines.push(`stanza <${el[1]}>: ${element_to_string(el)}`),
      xmlstreamend: (name) => lines.push(`stream closed: </${name}>`),
      xmlstreamerror: (error) =>
        lines.push(`stream error <${error.condition}/>: ${error.reason} (at character ${error.position})`),
    },
    { maxStanzaSize },
  );
  for (const chunk of chunks) parser.write(chunk);
  return lines;
}

// Run as a program: stream stdin through the parser.
if (process.argv[1]?.endsWith('stanza-log.js')) {
  const chunks: Buffer[] = [];
  process.stdin.on('data', (chunk: Buffer) => chunks.push(chunk));
  process.stdin.on('end', () => {
    for (const line of stanzaLog(chunks)) console.log(line);
  });
}
