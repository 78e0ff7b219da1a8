import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { get_attr_s, type XmlElement } from '@tsjabberd/xml-stanza';
import { RawStream } from './raw-stream.js';

/**
 * A small XMPP client over a raw socket, for what @xmpp/client cannot do: SCRAM-SHA-256, forcing
 * PLAIN, and hostile input. It records everything the server sends.
 */
export class RawClient extends RawStream {
  private constructor(socket: Socket) {
    super(socket);
  }

  static async connect(port: number, options: { tls?: boolean; host?: string } = {}): Promise<RawClient> {
    const host = options.host ?? '127.0.0.1';
    const socket = options.tls
      ? tlsConnect({ port, host, rejectUnauthorized: false })
      : netConnect({ port, host });
    await new Promise<void>((resolve, reject) => {
      socket.once(options.tls ? 'secureConnect' : 'connect', () => resolve());
      socket.once('error', reject);
    });
    return new RawClient(socket);
  }

  private iqs = 0;

  /** Sends an IQ (an `id` is added to `attrs`) and returns the reply with that id. */
  async iq(attrs: string, payload: string): Promise<XmlElement> {
    const id = `iq${++this.iqs}`;
    const mark = this.elements.length;
    this.write(`<iq id='${id}' ${attrs}>${payload}</iq>`);
    return this.until(
      () => this.elements.slice(mark).find((e) => e[1] === 'iq' && get_attr_s('id', e[2]) === id),
      `the answer to IQ ${id}`,
    );
  }

  open(to = 'localhost'): void {
    this.header = undefined;
    this.parser.reset();
    this.write(
      `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='${to}' version='1.0'>`,
    );
  }

  async starttls(): Promise<void> {
    const mark = this.elements.length;
    this.write("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
    await this.next('proceed', mark);
    const secure = tlsConnect({ socket: this.socket, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', () => resolve());
      secure.once('error', reject);
    });
    this.socket.removeAllListeners('data');
    this.socket = secure;
    this.parser = this.newParser();
    this.attach(secure);
  }

  /** SASL PLAIN; returns 'success' or the failure condition. */
  async plain(user: string, password: string): Promise<string> {
    const mark = this.elements.length;
    this.write(
      `<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${Buffer.from(`\0${user}\0${password}`).toString('base64')}</auth>`,
    );
    return this.saslOutcome(mark);
  }

  /** SASL SCRAM-SHA-1 or SCRAM-SHA-256, computed here (RFC 5802); returns 'success' or the failure condition. */
  async scram(hash: 'sha1' | 'sha256', user: string, password: string): Promise<string> {
    const mechanism = hash === 'sha1' ? 'SCRAM-SHA-1' : 'SCRAM-SHA-256';
    const cnonce = randomBytes(18).toString('base64');
    const bare = `n=${user},r=${cnonce}`;
    let mark = this.elements.length;
    this.write(
      `<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='${mechanism}'>${Buffer.from(`n,,${bare}`).toString('base64')}</auth>`,
    );
    const challenge = await this.until(
      () => this.elements.slice(mark).find((e) => e[1] === 'challenge' || e[1] === 'failure'),
      'challenge',
    );
    if (challenge[1] === 'failure') return (challenge[3][0] as XmlElement)[1];
    const serverFirst = Buffer.from((challenge[3][0] as ['xmlcdata', string])[1], 'base64').toString();
    const fields = Object.fromEntries(serverFirst.split(',').map((kv) => [kv[0], kv.slice(2)]));
    const salted = pbkdf2Sync(
      password,
      Buffer.from(fields.s, 'base64'),
      Number(fields.i),
      hash === 'sha1' ? 20 : 32,
      hash,
    );
    const clientKey = createHmac(hash, salted).update('Client Key').digest();
    const storedKey = createHash(hash).update(clientKey).digest();
    const finalBare = `c=biws,r=${fields.r}`;
    const authMessage = `${bare},${serverFirst},${finalBare}`;
    const signature = createHmac(hash, storedKey).update(authMessage).digest();
    const proof = Buffer.from(clientKey.map((b, i) => b ^ signature[i]));
    mark = this.elements.length;
    this.write(
      `<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>${Buffer.from(`${finalBare},p=${proof.toString('base64')}`).toString('base64')}</response>`,
    );
    return this.saslOutcome(mark);
  }

  private async saslOutcome(mark: number): Promise<string> {
    const outcome = await this.until(
      () => this.elements.slice(mark).find((e) => e[1] === 'success' || e[1] === 'failure'),
      'SASL outcome',
    );
    return outcome[1] === 'success'
      ? 'success'
      : (outcome[3].find((c) => c[0] === 'xmlelement') as XmlElement)[1];
  }

  /** Binds `resource` and returns the full JID. */
  async bind(resource: string): Promise<string> {
    const mark = this.elements.length;
    this.write(
      `<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>${resource}</resource></bind></iq>`,
    );
    const iq = await this.next('iq', mark);
    const bind = iq[3][0] as XmlElement;
    return ((bind[3][0] as XmlElement)[3][0] as ['xmlcdata', string])[1];
  }

  /** Logs in: stream, STARTTLS (unless direct TLS), SASL, restart, bind. */
  async login(
    user: string,
    password: string,
    resource: string,
    how: 'PLAIN' | 'SCRAM-SHA-1' | 'SCRAM-SHA-256' = 'SCRAM-SHA-256',
    tls = true,
  ): Promise<string> {
    this.open();
    await this.next('stream:features');
    if (tls) {
      await this.starttls();
      this.open();
      await this.next('stream:features');
    }
    const outcome =
      how === 'PLAIN'
        ? await this.plain(user, password)
        : await this.scram(how === 'SCRAM-SHA-1' ? 'sha1' : 'sha256', user, password);
    if (outcome !== 'success') throw new Error(`login failed: ${outcome}`);
    const mark = this.elements.length;
    this.open();
    await this.next('stream:features', mark);
    return this.bind(resource);
  }

  /** The stream error condition received, once the stream is closed. */
  async streamError(): Promise<string> {
    const error = await this.next('stream:error');
    return (error[3].find((c) => c[0] === 'xmlelement') as XmlElement)[1];
  }

  typeOf(el: XmlElement): string {
    return get_attr_s('type', el[2]);
  }

  close(): void {
    this.socket.destroy();
  }
}
