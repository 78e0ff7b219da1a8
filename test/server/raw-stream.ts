import type { Socket } from 'node:net';
import { element_to_string, type XmlElement } from '@tsjabberd/xml-stanza';
import { XmlStream } from '@tsjabberd/xml-stream';

/**
 * The part every raw test peer shares (RawClient, RawComponent): a socket whose stream is parsed and
 * recorded — header, elements, end, close — and `until`/`next` to wait for what the server sends.
 */
export class RawStream {
  socket: Socket;
  readonly elements: XmlElement[] = [];
  header: [string, [string, string][]] | undefined;
  ended = false;
  closed = false;
  private waiters: (() => void)[] = [];
  protected parser: XmlStream;

  protected constructor(socket: Socket) {
    this.socket = socket;
    this.parser = this.newParser();
    this.attach(socket);
  }

  protected newParser(): XmlStream {
    return new XmlStream({
      xmlstreamstart: (name, attrs) => {
        this.header = [name, attrs];
        this.wake();
      },
      xmlstreamelement: (el) => {
        this.elements.push(el);
        this.wake();
      },
      xmlstreamend: () => {
        this.ended = true;
        this.wake();
      },
      xmlstreamerror: () => {},
    });
  }

  protected attach(socket: Socket): void {
    socket.on('data', (d: Buffer) => this.parser.write(d));
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {});
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Waits until `test` holds (re-checked on every event), or fails after `ms`. */
  async until<T>(test: () => T | undefined, what: string, ms = 5000): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = test();
      if (v !== undefined && v !== false) return v;
      if (Date.now() > deadline)
        throw new Error(
          `timed out waiting for ${what}; got ${this.elements.map((e) => element_to_string(e)).join(' ')}`,
        );
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  /** The next element named `name` received after index `from`. */
  async next(name: string, from = 0): Promise<XmlElement> {
    return this.until(() => this.elements.slice(from).find((e) => e[1] === name), `<${name}/>`);
  }

  write(data: string): void {
    this.socket.write(data);
  }
}
