import { Refusal } from './errors.js';

export const XML_NS = 'http://www.w3.org/XML/1998/namespace';
export const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';

/**
 * The namespace bindings in scope, as a stack of (prefix, URI, depth of the declaring element).
 * XMPP elements declare one or two bindings, so a linear search from the top is the fast lookup.
 * The default namespace is the prefix ''.
 */
export class NamespaceScope {
  private prefixes: string[] = [];
  private uris: string[] = [];
  private depths: number[] = [];
  private count = 0;

  reset(): void {
    this.count = 0;
  }

  /** Declares `prefix` (from `xmlns` or `xmlns:prefix`) with the rules of XML-Namespaces 1.0 section 3. */
  declare(prefix: string, uri: string, depth: number): void {
    if (prefix === 'xmlns') throw new Refusal('not-well-formed', "the prefix 'xmlns' cannot be declared");
    if (prefix === 'xml') {
      if (uri !== XML_NS)
        throw new Refusal('not-well-formed', `the prefix 'xml' cannot be bound to '${uri}'`);
      return;
    }
    if (uri === XML_NS || uri === XMLNS_NS) {
      throw new Refusal(
        'not-well-formed',
        `the namespace '${uri}' is reserved and cannot be bound to '${prefix}'`,
      );
    }
    if (prefix !== '' && uri === '') {
      throw new Refusal('not-well-formed', `the prefix '${prefix}' cannot be bound to the empty namespace`);
    }
    const i = this.count++;
    this.prefixes[i] = prefix;
    this.uris[i] = uri;
    this.depths[i] = depth;
  }

  /** Index of the binding of `prefix`, or -1 when unbound. */
  lookup(prefix: string): number {
    for (let i = this.count - 1; i >= 0; i--) if (this.prefixes[i] === prefix) return i;
    return -1;
  }

  uri(index: number): string {
    return this.uris[index];
  }

  depth(index: number): number {
    return this.depths[index];
  }

  /** Drops the bindings declared by the element at `depth`, which is closing. */
  close(depth: number): void {
    while (this.count > 0 && this.depths[this.count - 1] >= depth) this.count--;
  }
}
