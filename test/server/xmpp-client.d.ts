// Minimal types for the parts of @xmpp/client the black-box tests drive (it ships none).
declare module '@xmpp/client' {
  import type { EventEmitter } from 'node:events';
  import type { Element } from 'ltx';

  export interface Client extends EventEmitter {
    jid?: { toString(): string };
    start(): Promise<unknown>;
    stop(): Promise<unknown>;
    send(element: Element): Promise<void>;
    on(event: 'stanza', listener: (stanza: Element) => void): this;
    on(event: string, listener: (...args: unknown[]) => void): this;
    iqCaller: {
      get(payload: Element, to?: string): Promise<Element>;
      request(iq: Element): Promise<Element>;
    };
  }

  export function client(options: {
    service: string;
    domain?: string;
    username?: string;
    password?: string;
    resource?: string;
  }): Client;

  export function xml(
    name: string,
    attrs?: Record<string, string> | string,
    ...children: (Element | string)[]
  ): Element;
}
