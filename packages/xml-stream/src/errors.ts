/**
 * What the parser reports when the input is refused: the RFC 6120 section 4.9.3 stream error condition
 * the server sends for it, and a reason an operator can read in the log.
 */
export type StreamErrorCondition =
  | 'not-well-formed' // XML or XML-Namespaces well-formedness, invalid UTF-8 (4.9.3.13)
  | 'restricted-xml' // comments, PIs, DTDs, non-predefined entities: RFC 6120 section 11.1 (4.9.3.18)
  | 'policy-violation' // a configured limit: stanza size, depth, attribute count (4.9.3.14)
  | 'invalid-namespace' // the stream root is not in the streams namespace (4.9.3.10)
  | 'unsupported-encoding'; // an encoding other than UTF-8 was declared (4.9.3.22)

export interface XmlStreamError {
  condition: StreamErrorCondition;
  /** Human-readable, names the construct that was refused. */
  reason: string;
  /** Characters consumed since the stream (re)started when the error was found. */
  position: number;
}

export function streamError(
  condition: StreamErrorCondition,
  reason: string,
  position: number,
): XmlStreamError {
  return { condition, reason, position };
}

/** Thrown inside the parser when input is refused; the parser turns it into an `XmlStreamError`. */
export class Refusal {
  /** Index in the chunk of the character that revealed the error, filled in by the lexer. */
  at: number | undefined = undefined;
  constructor(
    readonly condition: StreamErrorCondition,
    readonly reason: string,
  ) {}
}
