// Minimal types for the parts of @xmpp/xml and ltx's SAX parser the benchmark drives (neither ships types
// that resolve from an ESM TypeScript project).

declare module '@xmpp/xml' {
  import { EventEmitter } from 'node:events';
  import type { Element } from 'ltx';

  /** Builds one ltx Element per child of the stream root; emits 'start', 'element', 'end', 'error'. */
  export class Parser extends EventEmitter {
    root: Element | null;
    cursor: Element | null;
    write(data: string | Uint8Array): void;
    end(data?: string | Uint8Array): void;
  }
}

declare module 'ltx/src/parsers/ltx.js' {
  import { EventEmitter } from 'node:events';

  /** ltx's own SAX parser: emits 'startElement' (name, attrs), 'endElement' (name), 'text' (text). */
  export default class SaxLtx extends EventEmitter {
    write(data: string | Uint8Array): void;
    end(data?: string | Uint8Array): void;
  }
}
