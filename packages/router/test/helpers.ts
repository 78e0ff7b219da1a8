import { type Jid, parse } from '@tsjabberd/jid';
import { element_to_string, type XmlAttr, type XmlElement, type XmlNode } from '@tsjabberd/xml-stanza';
import { EjabberdNode, type NodeOptions } from '../src/ejabberd_node.js';
import type { Session, SessionProcess, Sid } from '../src/ejabberd_sm.js';
import { MemoryLogger } from '../src/logger.js';
import type { RouteProcess } from '../src/route_table.js';

export const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';

/** One packet as a session or a route process received it. */
export interface Received {
  from: string;
  to: string;
  packet: XmlElement;
  /** The packet serialized, for exact assertions. */
  xml: string;
}

function record(from: Jid, to: Jid, packet: XmlElement): Received {
  return { from: from.toString(), to: to.toString(), packet, xml: element_to_string(packet) };
}

/** The c2s side of a session, reduced to what it was given: packets and `replaced()` calls. */
export class RecordingSession implements SessionProcess {
  readonly received: Received[] = [];
  replacedCalls = 0;
  /** Called from `replaced()`, as a c2s process would close its stream. */
  onReplaced: (() => void) | undefined;

  route(from: Jid, to: Jid, packet: XmlElement): void {
    this.received.push(record(from, to, packet));
  }

  replaced(): void {
    this.replacedCalls++;
    this.onReplaced?.();
  }

  /** The names of the packets received (`message`, `iq`, ...). */
  names(): string[] {
    return this.received.map((r) => r.packet[1]);
  }
}

/** A route process (a service, a component) that keeps what it was given. */
export class RecordingRoute implements RouteProcess {
  readonly received: Received[] = [];

  route(from: Jid, to: Jid, packet: XmlElement): void {
    this.received.push(record(from, to, packet));
  }
}

export interface TestNode {
  node: EjabberdNode;
  log: MemoryLogger;
}

/** A started node serving `localhost` (or `options.hosts`), logging to memory, trace off unless asked. */
export async function startNode(options: Partial<NodeOptions> = {}): Promise<TestNode> {
  const log = new MemoryLogger();
  const node = new EjabberdNode({ hosts: ['localhost'], log, trace: false, ...options });
  await node.start();
  return { node, log };
}

export interface Connected {
  sid: Sid;
  jid: Jid;
  process: RecordingSession;
  session: Session;
}

/**
 * Opens a session for the full JID `jid`; with a `priority`, the client also sent available presence
 * with that priority (without one the session is bound but not yet available).
 */
export function connect(node: EjabberdNode, jid: string, priority?: number): Connected {
  const sm = node.ejabberd_sm;
  const full = parse(jid);
  const sid = sm.make_sid();
  const process = new RecordingSession();
  const session = sm.open_session(sid, full, process);
  if (priority !== undefined) sm.set_presence(sid, full, priority, presence({ priority }));
  return { sid, jid: full, process, session };
}

/** Lets every pending promise, microtask and immediate run (global lookups, cluster hops, async hooks). */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

export function el(name: string, attrs: XmlAttr[] = [], children: XmlNode[] = []): XmlElement {
  return ['xmlelement', name, attrs, children];
}

export function text(name: string, value: string, attrs: XmlAttr[] = []): XmlElement {
  return ['xmlelement', name, attrs, [['xmlcdata', value]]];
}

interface StanzaOptions {
  from?: string;
  to?: string;
  type?: string;
  id?: string;
}

function attrs(o: StanzaOptions): XmlAttr[] {
  const out: XmlAttr[] = [];
  if (o.id !== undefined) out.push(['id', o.id]);
  if (o.to !== undefined) out.push(['to', o.to]);
  if (o.from !== undefined) out.push(['from', o.from]);
  if (o.type !== undefined) out.push(['type', o.type]);
  return out;
}

/** `<message>` with a `<body>` (unless `body` is null). */
export function message(o: StanzaOptions & { body?: string | null } = {}): XmlElement {
  const body = o.body === undefined ? 'hello' : o.body;
  return el('message', attrs(o), body === null ? [] : [text('body', body)]);
}

/** `<iq>` with one payload (`<query xmlns=ns/>` by default). */
export function iq(o: StanzaOptions & { ns?: string; payload?: XmlElement[] } = {}): XmlElement {
  const payload = o.payload ?? [el('query', [['xmlns', o.ns ?? 'urn:test:query']])];
  return el('iq', attrs({ id: 'iq1', type: 'get', ...o }), payload);
}

/** `<presence>`, with a `<priority>` child when given one. */
export function presence(o: StanzaOptions & { priority?: number } = {}): XmlElement {
  return el('presence', attrs(o), o.priority === undefined ? [] : [text('priority', String(o.priority))]);
}

/** Routes `packet` from `from` to `to` (both JID strings) through the node's router. */
export function send(node: EjabberdNode, from: string, to: string, packet: XmlElement): void {
  node.ejabberd_router.route(parse(from), parse(to), packet);
}

/** The value of attribute `name` of `packet` (undefined when absent). */
export function attr(packet: XmlElement, name: string): string | undefined {
  for (const [k, v] of packet[2]) if (k === name) return v;
  return undefined;
}

/** The `<error/>` child of an error stanza, or undefined. */
export function errorChild(packet: XmlElement): XmlElement | undefined {
  for (const c of packet[3]) if (c[0] === 'xmlelement' && c[1] === 'error') return c;
  return undefined;
}

/** The defined condition inside the `<error/>` child ('' when there is none). */
export function condition(packet: XmlElement): string {
  const error = errorChild(packet);
  if (error === undefined) return '';
  for (const c of error[3]) if (c[0] === 'xmlelement' && c[1] !== 'text') return c[1];
  return '';
}

/** `<error type='T'><C xmlns='...stanzas'/></error>` serialized, for exact comparisons without text. */
export function errorXml(type: string, cond: string): string {
  return `<error type='${type}'><${cond} xmlns='${NS_STANZAS}'/></error>`;
}

/** Every log line containing `part`. */
export function linesWith(log: MemoryLogger, part: string): string[] {
  return log.lines.filter((l) => l.includes(part));
}

/** A promise with its resolve function, for hooks that wait until the test lets them go. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
