import type { XmlElement } from '@tsjabberd/xml-stanza';
import type { XmlStreamError } from './errors.js';
import type { XmlStreamOptions } from './options.js';
import { XmlStream } from './parser.js';

/**
 * `xml_stream:parse_element(Str) -> XMLElement | {error, Err}`: parses one complete element with every
 * check of the stream parser. Limits may be given as for a stream; the size limit is off by default.
 */
export function parse_element(
  input: string | Uint8Array,
  options: Omit<XmlStreamOptions, 'document' | 'rootNamespace'> = {},
): XmlElement | ['error', XmlStreamError] {
  let result: XmlElement | ['error', XmlStreamError] | undefined;
  const parser = new XmlStream(
    {
      xmlstreamstart() {},
      xmlstreamend() {},
      xmlstreamelement(el) {
        result = el;
      },
      xmlstreamerror(error) {
        result = ['error', error];
      },
    },
    { maxStanzaSize: Infinity, ...options, document: true },
  );
  parser.write(input);
  if (result === undefined || result[0] !== 'error') parser.end();
  return (
    result ?? ['error', { condition: 'not-well-formed', reason: 'no element in the input', position: 0 }]
  );
}
