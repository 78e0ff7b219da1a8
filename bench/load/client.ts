import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { ScramSha1 } from './scram.js';
import { child, type Element, escapeXml, localName, parseElement, StanzaScanner } from './xml.js';

export interface ServerAddress {
  host: string;
  port: number;
  /** The XMPP domain (`to` of the stream, the part after @ of the accounts). */
  domain: string;
  /** Negotiate STARTTLS before anything else (certificates are not checked). */
  tls: boolean;
}

export type Mechanism = 'SCRAM-SHA-1' | 'PLAIN';

const NS_STREAM = 'http://etherx.jabber.org/streams';
const NS_TLS = 'urn:ietf:params:xml:ns:xmpp-tls';
const NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';

/**
 * One client connection over a raw socket. Negotiation (STARTTLS, SASL, bind, in-band registration) is
 * written as plain async steps over `next()`; once the session runs, every stanza's source text goes to
 * `onStanza` and nothing is parsed unless the listener wants it.
 */
export class XmppConnection {
  /** Called with each stanza once `onStanza` is set (the session runs). */
  onStanza: ((xml: string) => void) | undefined;
  /** Called once when the connection ends, with why (`'closed'` when we closed it). */
  onClose: ((reason: string) => void) | undefined;
  closed = false;
  /** Why the connection ended. */
  closeReason = '';
  /** What the negotiation waits for (the step a login timed out in). */
  waitingFor = 'TCP connection';
  /** The bound full JID. */
  jid = '';

  private socket: Socket;
  private readonly scanner = new StanzaScanner();
  private readonly queue: Element[] = [];
  private waiter: { resolve: (el: Element) => void; reject: (e: Error) => void } | undefined;
  private ending = false;

  private constructor(
    socket: Socket,
    private readonly address: ServerAddress,
  ) {
    this.socket = socket;
    this.attach(socket);
  }

  /** Starts connecting; `negotiate()` then opens the stream. `destroy()` works from here on (timeouts). */
  static connect(address: ServerAddress): XmppConnection {
    const socket = netConnect({ host: address.host, port: address.port });
    socket.setNoDelay(true);
    return new XmppConnection(socket, address);
  }

  /** Opens the stream, negotiates STARTTLS if asked, and returns the stream features to authenticate with. */
  async negotiate(): Promise<Element> {
    let features = await this.restart();
    if (this.address.tls) {
      if (child(features, 'starttls') === undefined) throw new Error('the server offers no STARTTLS');
      this.send(`<starttls xmlns='${NS_TLS}'/>`);
      const proceed = await this.next('<proceed/>');
      if (proceed.name !== 'proceed') throw new Error(`STARTTLS refused: <${proceed.name}/>`);
      await this.upgrade();
      features = await this.restart();
    }
    return features;
  }

  /** Authenticates, restarts the stream and binds `resource`. */
  async login(
    features: Element,
    user: string,
    password: string,
    mechanism: Mechanism,
    resource: string,
  ): Promise<void> {
    const offered = child(features, 'mechanisms')?.children.map((m) => m.text) ?? [];
    if (!offered.includes(mechanism))
      throw new Error(`the server offers ${offered.join(' ') || 'no SASL mechanism'}, not ${mechanism}`);
    if (mechanism === 'PLAIN') {
      const initial = Buffer.from(`\0${user}\0${password}`).toString('base64');
      this.send(`<auth xmlns='${NS_SASL}' mechanism='PLAIN'>${initial}</auth>`);
      this.saslOutcome(await this.next('SASL PLAIN outcome'));
    } else {
      const scram = new ScramSha1(user, password);
      this.send(`<auth xmlns='${NS_SASL}' mechanism='SCRAM-SHA-1'>${scram.first()}</auth>`);
      const challenge = await this.next('SCRAM challenge');
      if (challenge.name !== 'challenge') this.saslOutcome(challenge);
      this.send(`<response xmlns='${NS_SASL}'>${await scram.respond(challenge.text)}</response>`);
      scram.verify(this.saslOutcome(await this.next('SCRAM outcome')));
    }
    const bound = await this.restart();
    this.send(
      `<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>${escapeXml(resource)}</resource></bind></iq>`,
    );
    const result = await this.next('bind result');
    if (result.attrs.type !== 'result') throw new Error(`bind failed: ${describeError(result)}`);
    this.jid = child(child(result, 'bind') ?? result, 'jid')?.text ?? '';
    const session = child(bound, 'session');
    if (session !== undefined && child(session, 'optional') === undefined) {
      this.send(`<iq type='set' id='sess'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>`);
      const answer = await this.next('session result');
      if (answer.attrs.type !== 'result') throw new Error(`session failed: ${describeError(answer)}`);
    }
  }

  /** XEP-0077 in-band registration on an unauthenticated stream: 'ok', or 'exists' on a conflict. */
  async register(user: string, password: string): Promise<'ok' | 'exists'> {
    this.send(
      `<iq type='set' id='reg'><query xmlns='jabber:iq:register'><username>${escapeXml(user)}</username><password>${escapeXml(password)}</password></query></iq>`,
    );
    const answer = await this.next('registration result');
    if (answer.attrs.type === 'result') return 'ok';
    const error = child(answer, 'error');
    if (error !== undefined && child(error, 'conflict') !== undefined) return 'exists';
    throw new Error(`registration of ${user} failed: ${describeError(answer)}`);
  }

  /** Sends available presence and waits for the answer to a ping sent after it, so the server has handled it. */
  async presence(): Promise<void> {
    this.send(
      `<presence/><iq type='get' id='ping' to='${escapeXml(this.address.domain)}'><ping xmlns='urn:xmpp:ping'/></iq>`,
    );
    for (;;) {
      const el = await this.next('ping result after presence');
      if (el.name === 'iq' && el.attrs.id === 'ping') return; // result, or an error if ping is not served
    }
  }

  send(xml: string): void {
    if (!this.closed) this.socket.write(xml);
  }

  /** Ends the stream politely, then the socket; resolves when closed (or after `ms`, by force). */
  close(ms = 2000): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.ending = true;
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.destroy('closed'), ms);
      this.socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.socket.end('</stream:stream>');
    });
  }

  /** Drops the connection at once (a timeout): pending steps fail with `reason`. */
  destroy(reason: string): void {
    this.fail(reason);
    this.socket.destroy();
  }

  private attach(socket: Socket): void {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      for (const event of this.scanner.feed(chunk)) {
        if (event.kind === 'stanza') this.deliver(event.xml);
        else if (event.kind === 'close') this.fail('the server closed the stream');
      }
    });
    socket.on('error', (e: Error) => this.fail(e.message));
    socket.on('close', () => this.fail('connection closed'));
  }

  private deliver(xml: string): void {
    if (this.onStanza !== undefined) {
      if (xml.startsWith('<stream:error')) this.fail(`stream error: ${describeError(parseElement(xml))}`);
      else this.onStanza(xml);
      return;
    }
    const el = parseElement(xml);
    if (localName(el.name) === 'error' && el.name.includes(':')) {
      this.fail(`stream error: ${describeError(el)}`);
      return;
    }
    const waiter = this.waiter;
    if (waiter === undefined) this.queue.push(el);
    else {
      this.waiter = undefined;
      waiter.resolve(el);
    }
  }

  private fail(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    const why = this.ending ? 'closed' : reason;
    this.closeReason = why;
    this.waiter?.reject(new Error(why));
    this.waiter = undefined;
    if (!this.socket.destroyed) this.socket.destroy();
    this.onClose?.(why);
  }

  /** The next top-level element of the negotiation (`what`: for the message if it never comes). */
  private next(what: string): Promise<Element> {
    this.waitingFor = what;
    const queued = this.queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.closed) return Promise.reject(new Error(this.closeReason));
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /** Opens a (new) stream and returns its features. */
  private async restart(): Promise<Element> {
    this.send(
      `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='${NS_STREAM}' to='${escapeXml(this.address.domain)}' version='1.0'>`,
    );
    const features = await this.next('stream features');
    if (localName(features.name) !== 'features')
      throw new Error(`expected stream features, got <${features.name}>`);
    return features;
  }

  private async upgrade(): Promise<void> {
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    plain.removeAllListeners('error');
    this.scanner.reset();
    this.waitingFor = 'TLS handshake';
    const secure = tlsConnect({ socket: plain, servername: this.address.domain, rejectUnauthorized: false });
    this.socket = secure;
    this.attach(secure);
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('close', () => reject(new Error(this.closeReason || 'TLS handshake failed')));
    });
  }

  /** The additional data of `<success>`, or throws with the failure's condition. */
  private saslOutcome(el: Element): string {
    if (el.name === 'success') return el.text;
    throw new Error(`authentication failed: ${describeError(el)}`);
  }
}

/** A short description of an error stanza, SASL failure or stream error: its condition and text. */
export function describeError(el: Element): string {
  const holder =
    el.name === 'iq' || el.name === 'message' || el.name === 'presence' ? child(el, 'error') : el;
  if (holder === undefined) return `<${el.name} type='${el.attrs.type ?? ''}'>`;
  const condition = holder.children.find((c) => localName(c.name) !== 'text');
  const text = child(holder, 'text')?.text;
  return `${condition?.name ?? 'unknown'}${text ? ` (${text})` : ''}`;
}
