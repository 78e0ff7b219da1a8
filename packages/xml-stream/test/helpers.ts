import { element_to_string, type XmlAttr, type XmlElement } from '@tsjabberd/xml-stanza';
import { XmlStream, type XmlStreamError, type XmlStreamOptions } from '../src/index.js';

export type Event =
  | ['start', string, XmlAttr[]]
  | ['element', XmlElement]
  | ['end', string]
  | ['error', XmlStreamError];

/** A parser whose events are recorded, in order. */
export function recorder(options: XmlStreamOptions = {}): { parser: XmlStream; events: Event[] } {
  const events: Event[] = [];
  const parser = new XmlStream(
    {
      xmlstreamstart: (name, attrs) => events.push(['start', name, attrs]),
      xmlstreamelement: (el) => events.push(['element', el]),
      xmlstreamend: (name) => events.push(['end', name]),
      xmlstreamerror: (error) => events.push(['error', error]),
    },
    options,
  );
  return { parser, events };
}

/** Feeds `input` split into pieces of `size` bytes and returns the events. */
export function parseChunked(input: string | Buffer, size: number, options: XmlStreamOptions = {}): Event[] {
  const bytes = typeof input === 'string' ? Buffer.from(input) : input;
  const { parser, events } = recorder(options);
  for (let i = 0; i < bytes.length; i += size) parser.write(bytes.subarray(i, i + size));
  return events;
}

/** The first error among the events, or undefined. */
export function errorOf(events: Event[]): XmlStreamError | undefined {
  const e = events.find((ev) => ev[0] === 'error');
  return e === undefined ? undefined : (e[1] as XmlStreamError);
}

export const STREAM_OPEN =
  "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>";

/** Stanzas serialised, for compact assertions. */
export function stanzas(events: Event[]): string[] {
  return events.filter((e) => e[0] === 'element').map((e) => element_to_string(e[1] as XmlElement));
}
