import type { XmlAttr, XmlElement } from '@tsjabberd/xml-stanza';
import type { XmlStreamError } from './errors.js';
import type { XmlStreamOptions } from './options.js';
import { XmlStream } from './parser.js';

/** The events ejabberd's xml_stream sends to its callback process, as tagged tuples. */
export type XmlStreamEvent =
  | ['xmlstreamstart', name: string, attrs: XmlAttr[]]
  | ['xmlstreamelement', el: XmlElement]
  | ['xmlstreamend', name: string]
  | ['xmlstreamerror', error: XmlStreamError];

export type XmlStreamCallback = (event: XmlStreamEvent) => void;

/** The opaque parser state that `new`, `parse`, `reset` and `close` pass along, as in Erlang. */
export interface XmlStreamState {
  readonly parser: XmlStream;
}

/**
 * `xml_stream:new(CallbackPid, MaxSize)`: a parser that calls `callback` with each event. `maxSize` is
 * `max_stanza_size` in bytes, or `'infinity'`.
 */
function create(
  callback: XmlStreamCallback,
  maxSize: number | 'infinity' = 'infinity',
  options: XmlStreamOptions = {},
): XmlStreamState {
  const parser = new XmlStream(
    {
      xmlstreamstart: (name, attrs) => callback(['xmlstreamstart', name, attrs]),
      xmlstreamelement: (el) => callback(['xmlstreamelement', el]),
      xmlstreamend: (name) => callback(['xmlstreamend', name]),
      xmlstreamerror: (error) => callback(['xmlstreamerror', error]),
    },
    { ...options, maxStanzaSize: maxSize === 'infinity' ? Infinity : maxSize },
  );
  return { parser };
}

export { create as new };

/** `xml_stream:parse(State, Data)`: feeds data; events reach the callback before it returns. */
export function parse(state: XmlStreamState, data: Uint8Array | string): XmlStreamState {
  state.parser.write(data);
  return state;
}

/** `xml_stream:reset(State)`: restart after STARTTLS or SASL success. */
export function reset(state: XmlStreamState): XmlStreamState {
  state.parser.reset();
  return state;
}

/** `xml_stream:close(State)`: the stream is over; the state must not be used again. */
export function close(state: XmlStreamState): true {
  state.parser.end();
  return true;
}
