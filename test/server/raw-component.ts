import { createHash } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';
import { element_to_string, get_attr_s, type XmlElement } from '@tsjabberd/xml-stanza';
import { XmlStream } from '@tsjabberd/xml-stream';

/**
 * An XEP-0114 external component over a raw socket: opens a `jabber:component:accept` stream, does the
 * handshake, and records everything the server sends.
 */
export class RawComponent {
  readonly elements: XmlElement[] = [];
  header: [string, [string, string][]] | undefined;
  ended = false;
  closed = false;
  private waiters: (() => void)[] = [];
  private readonly parser: XmlStream;

  private constructor(readonly socket: Socket) {
    this.parser = new XmlStream({
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
    socket.on('data', (d: Buffer) => this.parser.write(d));
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {});
  }

  static async connect(port: number): Promise<RawComponent> {
    const socket = netConnect({ port, host: '127.0.0.1' });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('error', reject);
    });
    return new RawComponent(socket);
  }

  /** Connects, opens the stream to `domain` and does the handshake with `secret`. */
  static async login(port: number, domain: string, secret: string): Promise<RawComponent> {
    const component = await RawComponent.connect(port);
    component.open(domain);
    const outcome = await component.handshake(secret);
    if (outcome !== 'handshake') throw new Error(`component handshake failed: ${outcome}`);
    return component;
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

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

  async next(name: string, from = 0): Promise<XmlElement> {
    return this.until(() => this.elements.slice(from).find((e) => e[1] === name), `<${name}/>`);
  }

  write(data: string): void {
    this.socket.write(data);
  }

  open(domain: string, xmlns = 'jabber:component:accept'): void {
    this.write(
      `<?xml version='1.0'?><stream:stream xmlns='${xmlns}' xmlns:stream='http://etherx.jabber.org/streams' to='${domain}'>`,
    );
  }

  /** The stream id of the server's header, once it came. */
  async streamId(): Promise<string> {
    const header = await this.until(() => this.header, 'the stream header');
    return get_attr_s('id', header[1]);
  }

  /** Sends `<handshake>` for `secret`; returns 'handshake' on success, else the stream error condition. */
  async handshake(secret: string): Promise<string> {
    const id = await this.streamId();
    if (this.elements.some((e) => e[1] === 'stream:error')) return this.streamError();
    const digest = createHash('sha1')
      .update(id + secret)
      .digest('hex');
    const mark = this.elements.length;
    this.write(`<handshake>${digest}</handshake>`);
    const answer = await this.until(
      () => this.elements.slice(mark).find((e) => e[1] === 'handshake' || e[1] === 'stream:error'),
      'the handshake answer',
    );
    return answer[1] === 'handshake' ? 'handshake' : this.streamError();
  }

  /** The stream error condition received. */
  async streamError(): Promise<string> {
    const error = await this.next('stream:error');
    return (error[3].find((c) => c[0] === 'xmlelement') as XmlElement)[1];
  }

  close(): void {
    this.socket.destroy();
  }
}
