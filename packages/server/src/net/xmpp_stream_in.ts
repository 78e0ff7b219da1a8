import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import type { Logger } from '@tsjabberd/router';
import type { XmlAttr, XmlElement } from '@tsjabberd/xml-stanza';
import { element_to_string, get_attr_s } from '@tsjabberd/xml-stanza';
import { XmlStream, type XmlStreamError } from '@tsjabberd/xml-stream';
import type { Shaper } from '../c2s/shaper.js';
import { StreamWriter, shapeRead } from './socket_io.js';

export const NS_STREAM = 'http://etherx.jabber.org/streams';
export const NS_STREAM_ERRORS = 'urn:ietf:params:xml:ns:xmpp-streams';

/** Stream error conditions of RFC 6120 section 4.9.3 that the server sends. */
export type StreamErrorCondition =
  | 'bad-format'
  | 'conflict'
  | 'connection-timeout'
  | 'host-unknown'
  | 'internal-server-error'
  | 'invalid-from'
  | 'invalid-namespace'
  | 'invalid-xml'
  | 'not-authorized'
  | 'not-well-formed'
  | 'policy-violation'
  | 'resource-constraint'
  | 'restricted-xml'
  | 'system-shutdown'
  | 'unsupported-encoding'
  | 'unsupported-stanza-type'
  | 'unsupported-version';

/** The states every incoming stream has; a subclass adds its negotiation steps in between. */
export type StreamState = 'wait_for_stream' | 'established' | 'closed';

/** How an incoming stream is set up; the limits come from its listener. */
export interface StreamInOptions {
  log: Logger;
  /** Starts every log line: `c2s` or `service`. */
  logPrefix: string;
  /** The stream's default namespace (`jabber:client`, `jabber:component:accept`). */
  namespace: string;
  /** The stream errors that are an ordinary end of a stream, logged at info (the rest at warning). */
  quietErrors: readonly StreamErrorCondition[];
  /** The reason of the `policy-violation` when more than `max_fsm_queue` writes wait for the peer. */
  overflowReason: string;
  listener: { max_fsm_queue: number; max_stanza_size: number; negotiation_timeout: number };
}

/**
 * xmpp_stream_in: what every incoming XMPP stream connection shares, whatever it negotiates. It owns
 * the socket, the XML parser and the writer, ends the stream with a stream error (RFC 6120 4.9) or a
 * plain `</stream:stream>`, and gives up on a peer that does not finish negotiation in time. The
 * subclasses (ejabberd_c2s, ejabberd_service) say what their header is, what the stream's elements
 * mean, and what to undo when the stream ends.
 */
export abstract class XmppStreamIn<State extends string = StreamState> {
  protected socket: Socket;
  protected readonly parser: XmlStream;
  protected state: State | StreamState = 'wait_for_stream';
  protected readonly streamId = randomBytes(8).toString('hex');
  protected readonly peer: string;
  /** What the peer may send per second, once it is known who it is. */
  protected shaper: Shaper | undefined;
  /** Set by `close`: the stream is ending and takes nothing more. */
  protected closing = false;
  /** Gathers writes per event-loop turn and bounds what waits for a peer that does not read. */
  private readonly writer: StreamWriter;
  private negotiationTimer: NodeJS.Timeout | undefined;

  constructor(
    socket: Socket,
    private readonly options: StreamInOptions,
  ) {
    this.socket = socket;
    const { listener } = options;
    this.writer = new StreamWriter(listener.max_fsm_queue, () =>
      this.streamError('policy-violation', options.overflowReason),
    );
    this.peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    this.parser = new XmlStream(
      {
        xmlstreamstart: (name, attrs) => {
          if (this.state !== 'wait_for_stream') {
            this.streamError('invalid-xml', 'A stream header in the middle of a stream');
            return;
          }
          this.streamStart(name, attrs);
        },
        xmlstreamelement: (stanza) => this.element(stanza),
        xmlstreamend: () => this.streamEnd(),
        xmlstreamerror: (error) => this.parseError(error),
      },
      { maxStanzaSize: listener.max_stanza_size },
    );
    // Stanzas are small and each one is a complete message: Nagle's algorithm would hold one back
    // until the peer's delayed ACK (up to 40 ms on Linux) whenever traffic is light.
    socket.setNoDelay(true);
    this.attach(socket);
    this.negotiationTimer = setTimeout(() => {
      if (this.state !== 'established') this.streamError('connection-timeout', 'Negotiation took too long');
    }, listener.negotiation_timeout * 1000);
    this.negotiationTimer.unref();
  }

  // ---- what the subclasses say -------------------------------------------------------------------

  /** The `<stream:stream>` this side opens with. */
  protected abstract streamHeader(): string;
  /** The peer's stream header (only in `wait_for_stream`; a second one is a stream error here). */
  protected abstract streamStart(name: string, attrs: XmlAttr[]): void;
  /** A top-level element of the stream. */
  protected abstract element(packet: XmlElement): void;
  /** The peer's `</stream:stream>`. */
  protected abstract streamEnd(): void;
  /** `close` begins: leave what routes to this connection before the stream ends. */
  protected abstract onClosing(): void;
  /** The socket is gone (once): release what the connection holds. */
  protected abstract onClosed(): void;
  /** Who the peer is, for the log (empty before it is known). */
  protected abstract identity(): string;

  /** Each time the peer sends something, before it is parsed. */
  protected received(): void {}

  // ---- the socket ---------------------------------------------------------------------------------

  private attach(socket: Socket): void {
    socket.on('data', (data: Buffer) => this.data(data));
    socket.on('drain', () => this.writer.drained());
    socket.on('error', (e) =>
      this.options.log.debug(`${this.options.logPrefix} ${this.who()}: socket error: ${e.message}`),
    );
    socket.on('close', () => this.closed());
  }

  private data(data: Buffer): void {
    if (this.state === 'closed') return;
    this.received();
    this.parser.write(data);
    shapeRead(this.socket, this.shaper, data.length, () => this.state !== 'closed');
  }

  /** Moves the stream onto a socket wrapping the current one (STARTTLS); the peer restarts the stream. */
  protected replaceSocket<S extends Socket>(wrap: (raw: Socket) => S): S {
    const raw = this.socket;
    raw.removeAllListeners('data');
    raw.removeAllListeners('drain');
    raw.removeAllListeners('close');
    raw.removeAllListeners('error');
    const socket = wrap(raw);
    this.socket = socket;
    this.restartStream();
    this.attach(socket);
    return socket;
  }

  /** A stream restart (after STARTTLS or SASL): the peer sends a new header on the same connection. */
  protected restartStream(): void {
    this.parser.reset();
    this.state = 'wait_for_stream';
  }

  /** Negotiation is done: the stream is established and the timeout no longer applies. */
  protected negotiated(): void {
    this.state = 'established';
    if (this.negotiationTimer !== undefined) clearTimeout(this.negotiationTimer);
  }

  protected who(): string {
    const identity = this.identity();
    return identity === '' ? this.peer : `${identity} (${this.peer})`;
  }

  // ---- output ------------------------------------------------------------------------------------

  protected send(data: string): void {
    if (this.state === 'closed' || this.socket.destroyed) return;
    this.writer.write(this.socket, data);
  }

  protected sendElement(packet: XmlElement): void {
    this.send(element_to_string(packet));
  }

  protected sendHeader(): void {
    this.send(this.streamHeader());
  }

  /** Ends the stream with a stream error (RFC 6120 4.9): header first if none was sent, then close. */
  streamError(condition: StreamErrorCondition, reason: string): void {
    if (this.state === 'closed' || this.closing) return;
    const { log, logPrefix, quietErrors } = this.options;
    const level = quietErrors.includes(condition) ? 'info' : 'warning';
    log[level](`${logPrefix} ${this.who()}: stream error ${condition}: ${reason}`);
    if (this.state === 'wait_for_stream') this.sendHeader();
    this.sendElement([
      'xmlelement',
      'stream:error',
      [],
      [
        ['xmlelement', condition, [['xmlns', NS_STREAM_ERRORS]], []],
        [
          'xmlelement',
          'text',
          [
            ['xmlns', NS_STREAM_ERRORS],
            ['xml:lang', 'en'],
          ],
          [['xmlcdata', reason]],
        ],
      ],
    ]);
    this.close(`stream error ${condition}`);
  }

  /** Sends `</stream:stream>` and closes the connection once the peer has had a moment to reply. */
  close(why: string): void {
    if (this.state === 'closed' || this.closing) return;
    this.closing = true;
    this.options.log.debug(`${this.options.logPrefix} ${this.who()}: closing: ${why}`);
    this.onClosing();
    this.send('</stream:stream>');
    this.socket.end();
    // A peer that never closes its side does not keep the connection open.
    setTimeout(() => this.socket.destroy(), 5000).unref();
  }

  private closed(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    if (this.negotiationTimer !== undefined) clearTimeout(this.negotiationTimer);
    this.onClosed();
    this.options.log.debug(`${this.options.logPrefix} ${this.who()}: connection closed`);
  }

  // ---- input -------------------------------------------------------------------------------------

  private parseError(error: XmlStreamError): void {
    this.streamError(error.condition, `${error.reason} (at character ${error.position})`);
  }

  /**
   * The checks every stream header gets: the root is `<stream>` in the stream's namespace. False (and
   * the stream error sent) when it is not.
   */
  protected validStreamRoot(name: string, attrs: XmlAttr[]): boolean {
    if (name !== 'stream:stream' && !name.endsWith(':stream') && name !== 'stream') {
      this.streamError('invalid-namespace', `The stream root is <${name}>, not <stream>`);
      return false;
    }
    const xmlns = get_attr_s('xmlns', attrs);
    const { namespace } = this.options;
    if (xmlns !== namespace) {
      this.streamError(
        'invalid-namespace',
        `The stream's default namespace is '${xmlns}', not '${namespace}'`,
      );
      return false;
    }
    return true;
  }
}
