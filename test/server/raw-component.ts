import { createHash } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';
import { get_attr_s, type XmlElement } from '@tsjabberd/xml-stanza';
import { RawStream } from './raw-stream.js';

/**
 * An XEP-0114 external component over a raw socket: opens a `jabber:component:accept` stream, does the
 * handshake, and records everything the server sends.
 */
export class RawComponent extends RawStream {
  private constructor(socket: Socket) {
    super(socket);
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
