import { randomBytes } from 'node:crypto';
import { describeError, type XmppConnection } from './client.js';
import { LatencyHistogram } from './histogram.js';
import type { ErrorCounts } from './login.js';
import type { LoadOptions } from './options.js';
import { attrValue, parseElement, tagEnd } from './xml.js';

/** A logged-in client during the messaging phase. */
interface Sender {
  /** Its index in the senders array (part of its message ids). */
  slot: number;
  conn: XmppConnection;
  /** Bare JID, as partners address it. */
  jid: string;
  seq: number;
  /** Its messages not yet delivered: sequence number → performance.now() at sending. Oldest first. */
  inFlight: Map<number, number>;
}

/** Moments the caller samples the server at (its CPU time over the measured interval). */
export interface TrafficHooks {
  measureStart(): void;
  measureEnd(): void;
}

/**
 * The messaging phase: every client sends chat messages to partners picked at random, closed loop (a
 * client sends its next message when one of its own is delivered, `window` in flight) or open loop
 * (`rate` per second over all clients). A message's id names the run, its sender, its recipient and
 * its number, so the receiver checks it was meant for it and credits the sender and the latency is the receive time minus the send time in this
 * process. Messages from earlier runs (offline storage) are recognised and ignored.
 */
export class Traffic {
  /** Over the whole phase. */
  sent = 0;
  delivered = 0;
  /** Delivered within the measured interval (after the warm-up, before sending stops). */
  deliveredMeasured = 0;
  /** Delivered after they had been counted as not delivered in time, or twice. */
  late = 0;
  /** Open loop: messages not sent because every client had `window` messages in flight. */
  skipped = 0;
  /** Messages of an earlier run received (from offline storage): ignored. */
  stale = 0;
  readonly latency = new LatencyHistogram();
  /** performance.now() bounds of the measured interval. */
  measureFrom = Number.POSITIVE_INFINITY;
  measureTo = Number.POSITIVE_INFINITY;

  private readonly tag = randomBytes(4).toString('hex');
  private readonly senders: Sender[];
  private sending = false;
  private random: () => number;
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly o: LoadOptions,
    conns: { conn: XmppConnection; user: string }[],
    private readonly errors: ErrorCounts,
  ) {
    this.random = xorshift(o.seed);
    this.senders = conns.map(({ conn, user }, slot) => ({
      slot,
      conn,
      jid: `${user}@${o.domain}`,
      seq: 0,
      inFlight: new Map(),
    }));
    for (const s of this.senders) {
      s.conn.onStanza = (xml) => this.receive(s, xml);
      s.conn.onClose = (why) => {
        if (why !== 'closed') this.errors.add(`disconnected: ${why}`);
      };
    }
  }

  /** Messages sent and neither delivered nor given up on yet. */
  get inFlight(): number {
    let n = 0;
    for (const s of this.senders) n += s.inFlight.size;
    return n;
  }

  /** Runs warm-up, measured interval and drain; resolves when the phase is over. */
  async run(hooks: TrafficHooks): Promise<void> {
    const o = this.o;
    const start = performance.now();
    this.measureFrom = start + o.warmup * 1000;
    this.measureTo = this.measureFrom + o.duration * 1000;
    this.sending = true;
    if (o.rate > 0) this.openLoop(start);
    else for (const s of this.senders) for (let k = 0; k < o.window; k++) this.send(s);
    this.timers.push(setInterval(() => this.expire(), 250));
    await sleep(o.warmup * 1000);
    hooks.measureStart();
    this.measureFrom = performance.now();
    this.measureTo = this.measureFrom + o.duration * 1000;
    await sleep(o.duration * 1000);
    this.sending = false;
    this.measureTo = performance.now();
    hooks.measureEnd();
    const drainEnd = performance.now() + o.drain * 1000;
    while (this.inFlight > 0 && performance.now() < drainEnd) await sleep(50);
    for (const t of this.timers) clearInterval(t);
    this.errors.add('not delivered by the end of the run', this.inFlight);
    for (const s of this.senders) s.inFlight.clear();
  }

  private openLoop(start: number): void {
    let due = 0;
    let next = 0;
    const n = this.senders.length;
    this.timers.push(
      setInterval(() => {
        if (!this.sending) return;
        const target = Math.floor((this.o.rate * (performance.now() - start)) / 1000);
        for (; due < target; due++) {
          // Round robin over the clients whose window has room; none has: this message is skipped.
          let tries = 0;
          for (; tries < n; tries++) {
            const s = this.senders[next];
            next = (next + 1) % n;
            if (s.inFlight.size < this.o.window) {
              this.send(s);
              break;
            }
          }
          if (tries === n) this.skipped++;
        }
      }, 5),
    );
  }

  private send(s: Sender): void {
    if (!this.sending || s.conn.closed) return;
    const n = this.senders.length;
    let p = Math.floor(this.random() * (n - 1));
    if (this.senders[p] === s) p = n - 1; // anyone but itself, uniformly
    const seq = ++s.seq;
    const now = performance.now();
    s.inFlight.set(seq, now);
    this.sent++;
    s.conn.send(
      `<message type='chat' to='${this.senders[p].jid}' id='${this.tag}.${s.slot}.${p}.${seq}'><body>${seq} ${now.toFixed(3)}</body></message>`,
    );
  }

  private receive(receiver: Sender, xml: string): void {
    if (xml.startsWith('<message')) {
      const head = xml.slice(0, tagEnd(xml, 1));
      const id = attrValue(head, 'id') ?? '';
      const [tag, from, to, seq] = id.split('.');
      if (tag !== this.tag) {
        this.stale++;
        return;
      }
      if (attrValue(head, 'type') === 'error') {
        // A bounce comes back to its sender.
        this.errors.add(`message error: ${describeError(parseElement(xml))}`);
        this.settle(receiver, Number(seq), false);
        return;
      }
      if (Number(to) !== receiver.slot) {
        this.errors.add('message delivered to the wrong client');
        return;
      }
      const sender = this.senders[Number(from)];
      if (sender !== undefined) this.settle(sender, Number(seq), true);
    } else if (xml.startsWith('<iq')) {
      const head = xml.slice(0, tagEnd(xml, 1));
      const type = attrValue(head, 'type');
      if (type === 'get' || type === 'set') {
        const to = attrValue(head, 'from');
        const reply = xml.includes('urn:xmpp:ping')
          ? `<iq type='result' id='${attrValue(head, 'id')}'${to ? ` to='${to}'` : ''}/>`
          : `<iq type='error' id='${attrValue(head, 'id')}'${to ? ` to='${to}'` : ''}><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`;
        receiver.conn.send(reply);
      }
    }
  }

  /** A message of `sender` is delivered (or bounced): latency, counters, and the next one in closed loop. */
  private settle(sender: Sender, seq: number, delivered: boolean): void {
    const sentAt = sender.inFlight.get(seq);
    if (sentAt === undefined) {
      if (delivered) this.late++;
      return;
    }
    sender.inFlight.delete(seq);
    if (delivered) {
      const now = performance.now();
      this.delivered++;
      if (now >= this.measureFrom && now < this.measureTo) {
        this.deliveredMeasured++;
        this.latency.record(now - sentAt);
      }
    }
    if (this.o.rate === 0) this.send(sender);
  }

  /** Gives up on messages older than the message timeout (in closed loop, their slots are reused). */
  private expire(): void {
    const limit = performance.now() - this.o.messageTimeout * 1000;
    for (const s of this.senders) {
      let expired = 0;
      for (const [seq, sentAt] of s.inFlight) {
        if (sentAt > limit) break;
        s.inFlight.delete(seq);
        expired++;
      }
      if (expired === 0) continue;
      this.errors.add(`not delivered within ${this.o.messageTimeout} s`, expired);
      if (this.o.rate === 0) for (let k = 0; k < expired; k++) this.send(s);
    }
  }
}

/** xorshift32: a fast, seedable generator of numbers in [0, 1). */
function xorshift(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
