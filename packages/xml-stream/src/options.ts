/** The namespace of `<stream:stream>` (RFC 6120 section 4.8.1). */
export const NS_STREAM = 'http://etherx.jabber.org/streams';

export interface XmlStreamOptions {
  /**
   * Largest stanza in bytes (ejabberd's `max_stanza_size`): everything received since the previous
   * event. `Infinity` turns the limit off, and with it the bound on memory. Default 262144.
   */
  maxStanzaSize?: number;
  /** Deepest element nesting, the stream root counting as 1. Default 100. */
  maxDepth?: number;
  /** Most attributes on one element. Default 100. */
  maxAttributes?: number;
  /**
   * Namespace the root element must be in, else `invalid-namespace`; `null` accepts any root.
   * Default: the XMPP streams namespace (ignored in document mode).
   */
  rootNamespace?: string | null;
  /**
   * Parse one standalone document whose root is reported as the element (what `parse_element` does)
   * instead of a stream whose root's children are. Default false.
   */
  document?: boolean;
}

export interface ResolvedOptions {
  maxStanzaSize: number;
  maxDepth: number;
  maxAttributes: number;
  rootNamespace: string | null;
  document: boolean;
}

export const DEFAULT_MAX_STANZA_SIZE = 262_144;
export const DEFAULT_MAX_DEPTH = 100;
export const DEFAULT_MAX_ATTRIBUTES = 100;

function limit(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (value === Infinity || (Number.isInteger(value) && value > 0)) return value;
  throw new RangeError(`xml-stream: ${name} must be a positive integer or Infinity, not ${value}`);
}

export function resolveOptions(options: XmlStreamOptions): ResolvedOptions {
  const document = options.document ?? false;
  return {
    maxStanzaSize: limit('maxStanzaSize', options.maxStanzaSize, DEFAULT_MAX_STANZA_SIZE),
    maxDepth: limit('maxDepth', options.maxDepth, DEFAULT_MAX_DEPTH),
    maxAttributes: limit('maxAttributes', options.maxAttributes, DEFAULT_MAX_ATTRIBUTES),
    rootNamespace: document ? null : options.rootNamespace === undefined ? NS_STREAM : options.rootNamespace,
    document,
  };
}
