import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { type SecureContext, TLSSocket } from 'node:tls';
import { type Jid, make, parse, resourceprep } from '@tsjabberd/jid';
import type { EjabberdNode, Logger, SessionProcess, Sid } from '@tsjabberd/router';
import { error_condition, make_error_reply, stanza_error, stanza_type } from '@tsjabberd/router';
import { get_attr_s, type XmlAttr, type XmlElement } from '@tsjabberd/xml-stanza';
import { type SaslCredentials, type SaslServer, saslMechanisms, startSasl } from '../auth/sasl.js';
import { accessAllows, shaperFor } from '../config/acl.js';
import type { ListenerConfig, ServerConfig } from '../config/types.js';
import { NS_STREAM, type StreamErrorCondition, XmppStreamIn } from '../net/xmpp_stream_in.js';
import { C2sPresence } from './presence.js';
import { Shaper } from './shaper.js';

// The stream's own names live with the stream; they are exported here too, where they always were.
export { NS_STREAM, NS_STREAM_ERRORS, type StreamErrorCondition } from '../net/xmpp_stream_in.js';
export const NS_CLIENT = 'jabber:client';
export const NS_TLS = 'urn:ietf:params:xml:ns:xmpp-tls';
export const NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';
export const NS_BIND = 'urn:ietf:params:xml:ns:xmpp-bind';
export const NS_SESSION = 'urn:ietf:params:xml:ns:xmpp-session';
export const NS_BLOCKING_ERRORS = 'urn:xmpp:blocking:errors';

/** How long a kick waits at most for the packets routed before it (see `kick`). */
const KICK_DRAIN_MS = 1000;
/** Stanzas held while an earlier one waits on a hook; past this the socket is paused (back-pressure). */
const INBOX_PAUSE = 256;

/** What a c2s connection needs from the server around it. */
export interface C2sContext {
  node: EjabberdNode;
  config: ServerConfig;
  listener: ListenerConfig;
  /** The TLS context for STARTTLS and direct TLS (undefined: no certificate). */
  secureContext: SecureContext | undefined;
  /** SCRAM keys and PLAIN checks of the accounts of a host. */
  credentials(host: string): SaslCredentials;
  /** Slows down repeated authentication failures from one address. */
  throttle: {
    delayFor(address: string): number;
    failure(address: string): void;
    success(address: string): void;
  };
  log: Logger;
  /** Every open connection, so shutdown can close them. */
  connections: Set<C2sConnection>;
}

type State =
  | 'wait_for_stream'
  | 'wait_for_feature_request'
  | 'wait_for_sasl_response'
  | 'wait_for_bind'
  | 'established'
  | 'closed';

function el(name: string, attrs: XmlAttr[] = [], children: XmlElement[] = []): XmlElement {
  return ['xmlelement', name, attrs, children];
}

function text(name: string, value: string, attrs: XmlAttr[] = []): XmlElement {
  return ['xmlelement', name, attrs, [['xmlcdata', value]]];
}

function firstChild(packet: XmlElement): XmlElement | undefined {
  for (const child of packet[3]) if (child[0] === 'xmlelement') return child;
  return undefined;
}

function cdataOf(packet: XmlElement): string {
  let s = '';
  for (const child of packet[3]) if (child[0] === 'xmlcdata') s += child[1];
  return s;
}

/**
 * ejabberd_c2s: one client connection, from the stream header to `</stream:stream>` (RFC 6120):
 * stream header checks, features, STARTTLS, SASL, stream restarts, resource binding, the legacy
 * session IQ, then a session of ejabberd_sm through which every stanza is routed. Every failure ends
 * the stream with the stream error RFC 6120 names, and a log line that names the peer and the reason.
 */
export class C2sConnection extends XmppStreamIn<State> implements SessionProcess {
  private tls: boolean;
  private host = '';
  private user = '';
  private jid: Jid | undefined;
  private sid: Sid | undefined;
  private sasl: SaslServer | undefined;
  /** A kick waiting for the packets routed before it to go out (see `kick`). */
  private pendingKick: [StreamErrorCondition, string] | undefined;
  /** RFC 6120 10.1: stanzas from the client wait here while an earlier one waits on a hook. */
  private readonly inbox: XmlElement[] = [];
  private inboxBusy = false;
  /** Packets for the client wait here while an earlier one waits on its privacy check. */
  private readonly outbox: [Jid, Jid, XmlElement][] = [];
  private outboxBusy = false;
  private presence: C2sPresence | undefined;
  /** When the client last sent anything (mod_ping pings idle clients). */
  lastActivity = Date.now();

  constructor(
    socket: Socket,
    private readonly ctx: C2sContext,
    directTls: boolean,
  ) {
    super(socket, {
      log: ctx.log,
      logPrefix: 'c2s',
      namespace: NS_CLIENT,
      // A replaced session (conflict) is ordinary for a client.
      quietErrors: ['system-shutdown', 'conflict'],
      overflowReason: 'Too many stanzas queued for a client that does not read',
      listener: ctx.listener,
    });
    this.tls = directTls;
    ctx.connections.add(this);
  }

  /** The bound JID, once the session is established. */
  get boundJid(): Jid | undefined {
    return this.jid;
  }

  protected identity(): string {
    return this.jid?.toString() ?? '';
  }

  protected override received(): void {
    this.lastActivity = Date.now();
  }

  protected streamHeader(): string {
    return (
      `<?xml version='1.0'?><stream:stream xmlns='${NS_CLIENT}' xmlns:stream='${NS_STREAM}' id='${this.streamId}'` +
      `${this.host === '' ? '' : ` from='${this.host}'`} version='1.0' xml:lang='en'>`
    );
  }

  protected streamEnd(): void {
    this.close('the client closed its stream');
  }

  /** Leave the session table now, so what arrives meanwhile goes offline instead of into a closing socket. */
  protected onClosing(): void {
    this.leaveSession('');
  }

  protected onClosed(): void {
    this.leaveSession('Connection closed');
    this.inbox.length = 0;
    this.outbox.length = 0;
    this.ctx.connections.delete(this);
  }

  /**
   * Ends the session in ejabberd_sm (once): unavailable presence to the contacts if it was available
   * (RFC 6121 4.5.2; `unset_presence_hook` records the logout), then `close_session`.
   */
  private leaveSession(status: string): void {
    const { sid, jid, presence } = this;
    if (sid === undefined || jid === undefined) return;
    this.sid = undefined;
    if (presence?.available) {
      presence.terminate(status).catch((e) => this.internalError('the unavailable broadcast', e));
    }
    this.ctx.node.ejabberd_sm.close_session(sid, jid);
  }

  private internalError(what: string, e: unknown): void {
    this.ctx.log.error(
      `c2s ${this.who()}: ${what} failed: ${e instanceof Error ? (e.stack ?? e.message) : e}`,
    );
  }

  // ---- SessionProcess: packets the router delivers to this client ---------------------------------

  /**
   * A packet for the client: the privacy check (mod_blocking), probes answered by the presence logic,
   * then the socket. Packets leave in the order they came even when a check has to wait.
   */
  route(from: Jid, to: Jid, packet: XmlElement): void {
    if (this.state !== 'established') return;
    if (this.outboxBusy) {
      this.outbox.push([from, to, packet]);
      if (this.outbox.length > this.ctx.listener.max_fsm_queue)
        this.streamError('policy-violation', 'Too many stanzas queued for the client');
      return;
    }
    const pending = this.incoming(from, to, packet);
    if (pending !== undefined) this.waitOutbox(pending);
  }

  private waitOutbox(pending: Promise<void>): void {
    this.outboxBusy = true;
    pending
      .catch((e) => this.internalError('delivering a stanza', e))
      .then(() => {
        this.outboxBusy = false;
        while (!this.outboxBusy && this.outbox.length > 0 && this.state === 'established') {
          const [from, to, packet] = this.outbox.shift()!;
          const next = this.incoming(from, to, packet);
          if (next !== undefined) this.waitOutbox(next);
        }
        if (!this.outboxBusy) this.kickNow();
      });
  }

  /** One packet for the client; a promise when it had to wait on a hook. */
  private incoming(from: Jid, to: Jid, packet: XmlElement): Promise<void> | undefined {
    const jid = this.jid;
    if (jid === undefined) return undefined;
    const verdict = this.ctx.node.ejabberd_hooks.run_fold<string>(
      'privacy_check_packet',
      jid.lserver,
      'allow',
      [jid, from, to, packet, 'in'],
    );
    if (verdict instanceof Promise) return verdict.then((v) => this.afterPrivacyIn(v, from, to, packet));
    return this.afterPrivacyIn(verdict, from, to, packet);
  }

  private afterPrivacyIn(
    verdict: unknown,
    from: Jid,
    to: Jid,
    packet: XmlElement,
  ): Promise<void> | undefined {
    const type = stanza_type(packet);
    if (verdict === 'deny') {
      // XEP-0191 3.5 / XEP-0016: the blocked sender learns nothing more than that it is not delivered.
      if (
        (packet[1] === 'message' && type !== 'error') ||
        (packet[1] === 'iq' && (type === 'get' || type === 'set'))
      )
        this.ctx.node.ejabberd_router.route_error(from, to, packet, stanza_error('service-unavailable'));
      return undefined;
    }
    if (packet[1] === 'presence' && this.presence !== undefined) {
      const deliver = this.presence.inbound(from, type);
      if (deliver instanceof Promise)
        return deliver.then((d) => {
          if (d) this.write(from, to, packet);
        });
      if (!deliver) return undefined;
    }
    this.write(from, to, packet);
    return undefined;
  }

  private write(from: Jid, to: Jid, packet: XmlElement): void {
    if (this.state !== 'established') return;
    const attrs: XmlAttr[] = [
      ['from', from.toString()],
      ['to', to.toString()],
    ];
    for (const attr of packet[2]) {
      if (attr[0] !== 'from' && attr[0] !== 'to' && !(attr[0] === 'xmlns' && attr[1] === NS_CLIENT))
        attrs.push(attr);
    }
    this.sendElement(['xmlelement', packet[1], attrs, packet[3]]);
  }

  replaced(): void {
    // The session manager has already removed the session; the contacts still learn it went away.
    this.sid = undefined;
    this.presence?.terminate('Replaced by new connection').catch((e) => this.internalError('replace', e));
    this.streamError('conflict', 'Replaced by a new connection for the same resource');
  }

  /**
   * Ends the session from outside (kick_session, ban_account, account removal). What was routed to
   * the client before the kick is delivered first, as ejabberd's c2s works through its mailbox before
   * the stop: the session leaves the session table at once (nothing new arrives), the packets queued
   * behind an asynchronous check go out, then the stream error. A check that hangs delays it 1 s at most.
   */
  kick(condition: string, reason: string): void {
    if (!this.outboxBusy) {
      this.streamError(condition as StreamErrorCondition, reason);
      return;
    }
    if (this.pendingKick !== undefined) return;
    this.pendingKick = [condition as StreamErrorCondition, reason];
    this.leaveSession(reason);
    setTimeout(() => this.kickNow(), KICK_DRAIN_MS).unref();
  }

  private kickNow(): void {
    const kick = this.pendingKick;
    if (kick === undefined) return;
    this.pendingKick = undefined;
    this.streamError(kick[0], kick[1]);
  }

  // ---- input -----------------------------------------------------------------------------------

  protected streamStart(name: string, attrs: XmlAttr[]): void {
    const to = get_attr_s('to', attrs).toLowerCase();
    const version = get_attr_s('version', attrs);
    // Known before the root is checked, so that a stream error's header names the host.
    if (this.host === '' && this.ctx.config.hosts.includes(to)) this.host = to;
    if (!this.validStreamRoot(name, attrs)) return;
    if (!this.ctx.config.hosts.includes(to) || (this.host !== '' && to !== this.host)) {
      this.streamError(
        'host-unknown',
        to === '' ? 'The stream header has no to' : `${to} is not served here`,
      );
      return;
    }
    if (!/^1\.\d+$/.test(version)) {
      this.streamError(
        'unsupported-version',
        version === ''
          ? 'Only XMPP 1.0 streams (version=1.0) are supported'
          : `Version ${version} is not supported`,
      );
      return;
    }
    this.sendHeader();
    this.sendFeatures();
  }

  private sendFeatures(): void {
    const { listener } = this.ctx;
    const features: XmlElement[] = [];
    if (this.user === '') {
      const canTls = !this.tls && listener.starttls && this.ctx.secureContext !== undefined;
      if (canTls)
        features.push(
          el('starttls', [['xmlns', NS_TLS]], listener.starttls_required ? [el('required')] : []),
        );
      if (!(canTls && listener.starttls_required)) {
        const mechanisms = saslMechanisms({
          tls: this.tls,
          allowPlainWithoutTls: listener.allow_unencrypted_plain,
          plainOnly: this.ctx.credentials(this.host).plainOnly === true,
        });
        // An empty <mechanisms/> is not allowed (RFC 6120 6.4.1): none before TLS with PLAIN-only auth.
        if (mechanisms.length > 0)
          features.push(
            el(
              'mechanisms',
              [['xmlns', NS_SASL]],
              mechanisms.map((m) => text('mechanism', m)),
            ),
          );
        features.push(...this.hookFeatures('c2s_pre_auth_features'));
      }
      this.state = 'wait_for_feature_request';
    } else {
      features.push(el('bind', [['xmlns', NS_BIND]]));
      features.push(el('session', [['xmlns', NS_SESSION]], [el('optional')]));
      features.push(...this.hookFeatures('c2s_post_auth_features'));
      this.state = 'wait_for_bind';
    }
    this.sendElement(el('stream:features', [], features));
  }

  /** Stream features the modules add (mod_register, mod_roster); these hooks must answer at once. */
  private hookFeatures(hook: string): XmlElement[] {
    const features = this.ctx.node.ejabberd_hooks.run_fold<XmlElement[]>(hook, this.host, [], [this.host]);
    if (Array.isArray(features)) return features;
    if (features instanceof Promise)
      this.ctx.log.error(`c2s: a ${hook} function is async; its features are left out`);
    return [];
  }

  /**
   * A top-level element from the client. Stanzas are processed one after the other (RFC 6120 10.1):
   * while one waits on a hook (storage), the next ones wait in the inbox, and past a bound the socket
   * is paused so a client cannot make the server hold an unbounded queue.
   */
  protected element(packet: XmlElement): void {
    if (this.inboxBusy) {
      this.inbox.push(packet);
      if (this.inbox.length >= INBOX_PAUSE && !this.socket.isPaused()) this.socket.pause();
      return;
    }
    const pending = this.process(packet);
    if (pending !== undefined) this.waitInbox(pending);
  }

  private waitInbox(pending: Promise<void>): void {
    this.inboxBusy = true;
    pending
      .catch((e) => this.internalError(`processing a stanza`, e))
      .then(() => {
        this.inboxBusy = false;
        while (!this.inboxBusy && this.inbox.length > 0 && this.state !== 'closed') {
          const next = this.process(this.inbox.shift()!);
          if (next !== undefined) this.waitInbox(next);
        }
        if (!this.inboxBusy && this.state !== 'closed' && this.socket.isPaused() && this.shaperIdle())
          this.socket.resume();
      });
  }

  private shaperIdle(): boolean {
    return this.shaper === undefined || this.shaper.update(0) <= 0;
  }

  private process(packet: XmlElement): Promise<void> | undefined {
    if (this.state === 'closed' || this.closing) return undefined;
    const xmlns = get_attr_s('xmlns', packet[2]);
    switch (this.state) {
      case 'wait_for_feature_request':
      case 'wait_for_sasl_response':
        if (xmlns === NS_TLS && packet[1] === 'starttls') this.starttls();
        else if (xmlns === NS_SASL) return this.saslElement(packet);
        else if (packet[1] === 'iq' && this.state === 'wait_for_feature_request')
          return this.unauthenticatedIq(packet);
        else this.streamError('not-authorized', `<${packet[1]}/> before authentication`);
        return undefined;
      case 'wait_for_bind':
        this.bindElement(packet);
        return undefined;
      case 'established':
        return this.stanza(packet);
      default:
        return undefined;
    }
  }

  /**
   * An IQ before authentication: only what a module answers through `c2s_unauthenticated_iq`
   * (mod_register's in-band registration); anything else is service-unavailable.
   */
  private async unauthenticatedIq(packet: XmlElement): Promise<void> {
    const type = get_attr_s('type', packet[2]);
    if (type !== 'get' && type !== 'set') return;
    const reply = await this.ctx.node.ejabberd_hooks.run_fold<XmlElement | 'empty'>(
      'c2s_unauthenticated_iq',
      this.host,
      'empty',
      [this.host, packet, this.socket.remoteAddress ?? ''],
    );
    if ((this.state as State) === 'closed') return;
    if (Array.isArray(reply) && reply[0] === 'xmlelement') this.sendElement(reply);
    else this.sendElement(make_error_reply(packet, stanza_error('service-unavailable')));
  }

  // ---- STARTTLS (RFC 6120 section 5) -------------------------------------------------------------

  private starttls(): void {
    const context = this.ctx.secureContext;
    if (
      this.tls ||
      context === undefined ||
      !this.ctx.listener.starttls ||
      this.state === 'wait_for_sasl_response'
    ) {
      this.sendElement(el('failure', [['xmlns', NS_TLS]]));
      this.close('STARTTLS refused');
      return;
    }
    this.sendElement(el('proceed', [['xmlns', NS_TLS]]));
    const secure = this.replaceSocket(
      (raw) => new TLSSocket(raw, { isServer: true, secureContext: context }),
    );
    this.tls = true;
    secure.on('secure', () =>
      this.ctx.log.debug(`c2s ${this.peer}: TLS established (${secure.getProtocol() ?? '?'})`),
    );
  }

  // ---- SASL (RFC 6120 section 6) -----------------------------------------------------------------

  private async saslElement(packet: XmlElement): Promise<void> {
    const name = packet[1];
    if (name === 'abort') {
      this.sasl = undefined;
      this.state = 'wait_for_feature_request';
      this.sendElement(el('failure', [['xmlns', NS_SASL]], [el('aborted')]));
      return;
    }
    if (this.ctx.listener.starttls_required && !this.tls) {
      this.sendElement(el('failure', [['xmlns', NS_SASL]], [el('encryption-required')]));
      this.streamError('policy-violation', 'TLS is required before authentication');
      return;
    }
    const body = cdataOf(packet).trim();
    if (body !== '=' && !/^[A-Za-z0-9+/]*={0,2}$/.test(body)) {
      this.sendElement(el('failure', [['xmlns', NS_SASL]], [el('incorrect-encoding')]));
      this.sasl = undefined;
      this.state = 'wait_for_feature_request';
      return;
    }
    const data = body === '=' ? Buffer.alloc(0) : Buffer.from(body, 'base64');
    if (name === 'auth' && this.state === 'wait_for_feature_request') {
      const mechanism = get_attr_s('mechanism', packet[2]);
      const allowed = saslMechanisms({
        tls: this.tls,
        allowPlainWithoutTls: this.ctx.listener.allow_unencrypted_plain,
        plainOnly: this.ctx.credentials(this.host).plainOnly === true,
      });
      const server = allowed.includes(mechanism)
        ? startSasl(mechanism, this.ctx.credentials(this.host), this.host)
        : undefined;
      if (server === undefined) {
        this.sendElement(el('failure', [['xmlns', NS_SASL]], [el('invalid-mechanism')]));
        return;
      }
      this.sasl = server;
      this.state = 'wait_for_sasl_response';
    } else if (name !== 'response' || this.state !== 'wait_for_sasl_response' || this.sasl === undefined) {
      this.streamError('not-authorized', `Unexpected SASL element <${name}/>`);
      return;
    }
    const sasl = this.sasl;
    if (sasl === undefined) return;
    const result = await sasl.step(data);
    if ((this.state as State) === 'closed') return;
    const address = this.socket.remoteAddress ?? '';
    if (result.kind === 'challenge') {
      this.sendElement(text('challenge', result.data.toString('base64'), [['xmlns', NS_SASL]]));
      return;
    }
    this.sasl = undefined;
    this.state = 'wait_for_feature_request';
    if (result.kind === 'failure') {
      // Unknown user and wrong password look the same; repeated failures from one address wait longer.
      const delay = this.ctx.throttle.delayFor(address);
      this.ctx.throttle.failure(address);
      this.ctx.log.info(
        `c2s ${this.peer}: authentication failed on ${this.host} (${sasl.mechanism}): ${result.condition}${result.text === undefined ? '' : `, ${result.text}`}`,
      );
      setTimeout(() => {
        if (this.state === 'closed') return;
        this.sendElement(el('failure', [['xmlns', NS_SASL]], [el(result.condition)]));
      }, delay).unref();
      return;
    }
    if (!accessAllows(this.ctx.config, this.ctx.listener.access, result.user, this.host)) {
      this.ctx.log.info(
        `c2s ${this.peer}: ${result.user}@${this.host} authenticated but access '${this.ctx.listener.access}' denies it`,
      );
      this.sendElement(
        el(
          'failure',
          [['xmlns', NS_SASL]],
          [el('not-authorized'), text('text', 'Access denied by service policy')],
        ),
      );
      return;
    }
    this.ctx.throttle.success(address);
    this.user = result.user;
    const rule = this.ctx.listener.shaper;
    const shaper = shaperFor(this.ctx.config, rule, this.user, this.host);
    this.shaper = shaper === undefined ? undefined : new Shaper(shaper);
    this.ctx.log.info(
      `c2s ${this.peer}: ${this.user}@${this.host} authenticated with ${sasl.mechanism}${this.tls ? ' over TLS' : ''}`,
    );
    this.sendElement(
      result.data === undefined
        ? el('success', [['xmlns', NS_SASL]])
        : text('success', result.data.toString('base64'), [['xmlns', NS_SASL]]),
    );
    // RFC 6120 6.4.6: the client restarts the stream over the authenticated connection.
    this.restartStream();
  }

  // ---- resource binding (RFC 6120 section 7) and the legacy session (RFC 3921) --------------------

  private bindElement(packet: XmlElement): void {
    const id = get_attr_s('id', packet[2]);
    const type = get_attr_s('type', packet[2]);
    const child = firstChild(packet);
    const ns = child === undefined ? '' : get_attr_s('xmlns', child[2]);
    if (packet[1] !== 'iq' || type !== 'set' || child === undefined) {
      this.streamError('not-authorized', `<${packet[1]}/> before resource binding`);
      return;
    }
    if (ns === NS_SESSION) {
      this.sendElement(
        el('iq', [
          ['type', 'result'],
          ['id', id],
        ]),
      );
      return;
    }
    if (ns !== NS_BIND || child[1] !== 'bind') {
      this.streamError('not-authorized', `an IQ for ${ns} before resource binding`);
      return;
    }
    let requested = '';
    for (const c of child[3]) if (c[0] === 'xmlelement' && c[1] === 'resource') requested = cdataOf(c);
    const resource =
      requested === '' ? `tsjabberd-${randomBytes(6).toString('hex')}` : resourceprep(requested);
    const jid = resource === 'error' ? 'error' : make(this.user, this.host, resource);
    if (jid === 'error') {
      this.sendElement(
        el(
          'iq',
          [
            ['type', 'error'],
            ['id', id],
          ],
          [child, stanza_error('bad-request', 'Not a valid resource')],
        ),
      );
      return;
    }
    this.jid = jid;
    const sm = this.ctx.node.ejabberd_sm;
    this.sid = sm.make_sid();
    this.negotiated();
    // An existing session with this resource is replaced (its stream gets <conflict/>).
    const sid = this.sid;
    this.presence = new C2sPresence({
      node: this.ctx.node,
      jid,
      sid,
      deliver: (from, to, packet) => this.route(from, to, packet),
      allowedOut: (to, packet) => this.allowedOut(to, packet),
    });
    sm.open_session(sid, jid, this, {
      ip: this.socket.remoteAddress,
      port: this.socket.remotePort,
      tls: this.tls,
    });
    this.ctx.log.info(`c2s ${this.peer}: bound ${jid.toString()}`);
    this.sendElement(
      el(
        'iq',
        [
          ['type', 'result'],
          ['id', id],
        ],
        [el('bind', [['xmlns', NS_BIND]], [text('jid', jid.toString())])],
      ),
    );
  }

  // ---- an established session --------------------------------------------------------------------

  private stanza(packet: XmlElement): Promise<void> | undefined {
    const jid = this.jid;
    if (jid === undefined) return undefined;
    const name = packet[1];
    if (name !== 'message' && name !== 'presence' && name !== 'iq') {
      this.streamError('unsupported-stanza-type', `<${name}/> is not a stanza`);
      return undefined;
    }
    const fromAttr = get_attr_s('from', packet[2]);
    if (fromAttr !== '') {
      const from = (() => {
        try {
          return parse(fromAttr);
        } catch {
          return undefined;
        }
      })();
      // RFC 6120 8.1.2.1: the server stamps the full JID; a client may only name its own.
      if (
        from === undefined ||
        !(
          from.equals(jid) ||
          (from.lresource === '' && from.luser === jid.luser && from.lserver === jid.lserver)
        )
      ) {
        this.streamError('invalid-from', `The stanza claims to be from ${fromAttr}`);
        return undefined;
      }
    }
    const toAttr = get_attr_s('to', packet[2]);
    let to: Jid;
    if (toAttr === '') {
      to = jid.bare();
    } else {
      try {
        to = parse(toAttr);
      } catch {
        this.sendElement([
          'xmlelement',
          name,
          [
            ['type', 'error'],
            ['id', get_attr_s('id', packet[2])],
          ],
          [
            ...packet[3].filter((c) => c[0] === 'xmlelement'),
            stanza_error('jid-malformed', `${toAttr} is not a valid JID`),
          ],
        ]);
        return undefined;
      }
    }
    if (name === 'presence' && toAttr === '') return this.ownPresence(packet);
    if (name === 'iq' && (toAttr === '' || toAttr === this.host) && this.isSessionIq(packet)) {
      // RFC 3921's session establishment: a no-op since RFC 6121, answered for older clients.
      this.sendElement(
        el('iq', [
          ['type', 'result'],
          ['id', get_attr_s('id', packet[2])],
        ]),
      );
      return undefined;
    }
    const allowed = this.allowedOut(to, packet);
    if (allowed instanceof Promise) return allowed.then((ok) => this.send_out(ok, jid, to, packet));
    return this.send_out(allowed, jid, to, packet);
  }

  /** Routes what the client sent, or answers the XEP-0191 error when privacy forbids it. */
  private send_out(allowed: boolean, jid: Jid, to: Jid, packet: XmlElement): Promise<void> | undefined {
    if (this.state !== 'established') return undefined;
    if (!allowed) {
      if (stanza_type(packet) !== 'error') {
        const error = stanza_error('not-acceptable');
        (error[3] as XmlElement[]).push(el('blocked', [['xmlns', NS_BLOCKING_ERRORS]]));
        this.write(to, jid, make_error_reply(packet, error));
      }
      return undefined;
    }
    if (packet[1] === 'presence' && this.presence !== undefined)
      return this.presence.outbound(to, packet, stanza_type(packet));
    this.ctx.node.route(jid, to, packet);
    return undefined;
  }

  /** `privacy_check_packet` for a stanza the client sends. */
  private allowedOut(to: Jid, packet: XmlElement): boolean | Promise<boolean> {
    const jid = this.jid;
    if (jid === undefined) return false;
    const verdict = this.ctx.node.ejabberd_hooks.run_fold<string>(
      'privacy_check_packet',
      jid.lserver,
      'allow',
      [jid, jid, to, packet, 'out'],
    );
    if (verdict instanceof Promise) return verdict.then((v) => v !== 'deny');
    return verdict !== 'deny';
  }

  private isSessionIq(packet: XmlElement): boolean {
    const child = firstChild(packet);
    return (
      get_attr_s('type', packet[2]) === 'set' &&
      child !== undefined &&
      get_attr_s('xmlns', child[2]) === NS_SESSION
    );
  }

  /** Presence without `to`: the session's own availability, broadcast by the presence logic. */
  private ownPresence(packet: XmlElement): Promise<void> | undefined {
    if (this.presence === undefined) return undefined;
    let priority = 0;
    for (const c of packet[3]) {
      if (c[0] === 'xmlelement' && c[1] === 'priority') {
        const p = Number.parseInt(cdataOf(c), 10);
        if (Number.isInteger(p) && p >= -128 && p <= 127) priority = p;
      }
    }
    return this.presence.self(packet, stanza_type(packet), priority);
  }

  /** Sends a ping (XEP-0199) to find dead connections; mod_ping uses it. */
  ping(from: Jid, id: string): void {
    if (this.state !== 'established' || this.jid === undefined) return;
    this.route(
      from,
      this.jid,
      el(
        'iq',
        [
          ['type', 'get'],
          ['id', id],
        ],
        [el('ping', [['xmlns', 'urn:xmpp:ping']])],
      ),
    );
  }
}

/** True when an error stanza carries `condition` (helper for the modules and tests). */
export function hasCondition(packet: XmlElement, condition: string): boolean {
  return error_condition(packet) === condition;
}
