export type { StreamErrorCondition, XmlStreamError } from './errors.js';
export {
  DEFAULT_MAX_ATTRIBUTES,
  DEFAULT_MAX_DEPTH,
  DEFAULT_MAX_STANZA_SIZE,
  NS_STREAM,
  type XmlStreamOptions,
} from './options.js';
export { parse_element } from './parse_element.js';
export { XmlStream, type XmlStreamHandler } from './parser.js';
export { Utf8StreamDecoder } from './utf8.js';
export type { XmlStreamCallback, XmlStreamEvent, XmlStreamState } from './xml_stream.js';
export * as xml_stream from './xml_stream.js';
