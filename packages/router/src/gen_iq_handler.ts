import { type Jid, nameprep } from '@tsjabberd/jid';
import type { XmlElement } from '@tsjabberd/xml-stanza';
import type { EjabberdRouter } from './ejabberd_router.js';
import { type Iq, iq_query_info, iq_to_xml } from './iq.js';
import type { Logger } from './logger.js';
import { type StanzaErrorCondition, stanza_error, stanza_type } from './stanza_errors.js';
import type { PacketTrace } from './trace.js';

/**
 * How the IQs of one registration are run (ejabberd's `iqdisc`):
 * - `no_queue`: inline, within the router's call;
 * - `one_queue`: one FIFO, one IQ at a time, in arrival order;
 * - `parallel`: every IQ on its own, concurrently;
 * - `['queues', N]`: N FIFOs, IQs dealt to them in turn, each FIFO one IQ at a time.
 */
export type IqDiscipline = 'no_queue' | 'one_queue' | 'parallel' | ['queues', number];

/** Where the handler sits: `ejabberd_local` for IQs to the server's JID, `ejabberd_sm` for users' bare JIDs. */
export type IqComponent = 'ejabberd_local' | 'ejabberd_sm';

/**
 * `Module:Function(From, To, IQ)`: the reply (`iq_result` / `iq_error` of the request), or `'ignore'`
 * when the handler answers some other way (or not at all). It may be async.
 */
export type IqHandler = (from: Jid, to: Jid, iq: Iq) => Iq | 'ignore' | Promise<Iq | 'ignore'>;

export interface GenIqHandlerDeps {
  router: EjabberdRouter;
  log: Logger;
  trace: PacketTrace;
  /** How long an async handler may take before the IQ is answered `internal-server-error`, in ms (30 000). */
  timeout?: number;
  /** How many IQs may wait in one queue (or, for `no_queue` and `parallel`, be in flight) (10 000). */
  maxQueue?: number;
}

/** One IQ waiting in a queue. */
interface Job {
  from: Jid;
  to: Jid;
  packet: XmlElement;
  iq: Iq;
}

/**
 * A FIFO that does not `shift()` (O(n)): a head index into an array that is reset when it empties and
 * compacted when the consumed part dominates, so a long-lived busy queue does not grow without bound.
 */
class Fifo {
  private items: (Job | undefined)[] = [];
  private head = 0;
  /** A drain is scheduled, running, or waiting for an async answer: nothing else may start a job. */
  running = false;

  get length(): number {
    return this.items.length - this.head;
  }

  push(job: Job): void {
    this.items.push(job);
  }

  shift(): Job | undefined {
    if (this.head === this.items.length) return undefined;
    const job = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head === this.items.length) {
      this.items.length = 0;
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return job;
  }
}

/** One `add_iq_handler`. Queued IQs keep their registration alive after it is removed or replaced. */
interface Registration {
  readonly component: IqComponent;
  readonly host: string;
  readonly ns: string;
  readonly handler: IqHandler;
  readonly discipline: IqDiscipline;
  /** The trace's last step, built once so the hot path does not build it per IQ. */
  readonly label: string;
  /** The FIFOs of `one_queue` (one) and `['queues', N]` (N); empty for the others. */
  readonly queues: Fifo[];
  /** The next FIFO in turn, for `['queues', N]`. */
  next: number;
  /** Async answers pending (`no_queue`) or IQs started and not answered (`parallel`). */
  inflight: number;
}

/** Sync answers are taken from a FIFO in a row; after this many the drain yields, so I/O is not starved. */
const DRAIN_BATCH = 64;
/** setTimeout's ceiling (2^31 - 1 ms); a longer delay would fire at once. */
const MAX_TIMEOUT = 2_147_483_647;

function isThenable(x: unknown): x is PromiseLike<unknown> {
  return typeof x === 'object' && x !== null && typeof (x as PromiseLike<unknown>).then === 'function';
}

function disciplineName(d: IqDiscipline): string {
  return typeof d === 'string' ? d : `queues ${d[1]}`;
}

function describeError(e: unknown): string {
  return e instanceof Error ? (e.stack ?? e.message) : String(e);
}

/** Why `iq_query_info` called an IQ invalid, for the `<text/>` of the bad-request and the log. */
function invalidReason(packet: XmlElement): string {
  let id = false;
  let type = '';
  for (const [key, value] of packet[2]) {
    if (key === 'id') id = true;
    else if (key === 'type') type = value;
  }
  if (!id) return 'An IQ must have an id';
  if (type !== 'get' && type !== 'set') return `An IQ of type '${type}' is not valid`;
  let payloads = 0;
  for (const child of packet[3]) if (child[0] === 'xmlelement') payloads++;
  return `An IQ ${type} must have exactly one payload element, not ${payloads}`;
}

/**
 * gen_iq_handler: the handlers of IQ requests by payload namespace, per component (`ejabberd_local` for
 * IQs to a server's JID, `ejabberd_sm` for IQs to a user's bare JID) and virtual host, each with its
 * queueing discipline (Developers Guide, section 8.1).
 *
 * History: the guide lists `no_queue`, `one_queue` and `parallel`; later ejabberd added `{queues, N}`
 * (it picked one of the N at random; here they take turns). In 2018 ejabberd dropped the `iqdisc`
 * option altogether and now runs every handler inline. All four are kept here, `no_queue` by default:
 * a queue orders the IQs of one handler, and bounds how many of them a slow handler holds at once.
 *
 * Where Erlang has processes, this has the event loop. A queue is a FIFO drained outside the router's
 * call; an async handler's answer is awaited without blocking anything else. What a process crash or
 * a stuck process would do is bounded instead: a handler that throws or rejects gets its IQ answered
 * `internal-server-error`; an async answer later than `timeout` gets the same and is then dropped; a
 * queue longer than `maxQueue` answers `resource-constraint`. A synchronous handler cannot be
 * interrupted, so `timeout` applies only to answers given as promises.
 */
export class GenIqHandler {
  /** component -> host -> namespace: nested maps, so a lookup builds no key string. */
  private readonly tables = new Map<IqComponent, Map<string, Map<string, Registration>>>([
    ['ejabberd_local', new Map()],
    ['ejabberd_sm', new Map()],
  ]);
  private readonly timeout: number;
  private readonly maxQueue: number;

  constructor(private readonly deps: GenIqHandlerDeps) {
    const timeout = deps.timeout ?? 30_000;
    if (!(timeout > 0) || (timeout > MAX_TIMEOUT && timeout !== Number.POSITIVE_INFINITY)) {
      throw new RangeError(
        `gen_iq_handler: timeout must be a number of ms in (0, ${MAX_TIMEOUT}] or Infinity, not ${timeout}`,
      );
    }
    const maxQueue = deps.maxQueue ?? 10_000;
    if (!Number.isInteger(maxQueue) || maxQueue < 1) {
      throw new RangeError(`gen_iq_handler: maxQueue must be a positive integer, not ${maxQueue}`);
    }
    this.timeout = timeout;
    this.maxQueue = maxQueue;
  }

  /**
   * `gen_iq_handler:add_iq_handler(Component, Host, NS, Module, Function, Type)`. Adding again for the
   * same component, host and namespace replaces the handler (with a warning); IQs queued for the old
   * one are still answered by it.
   */
  add_iq_handler(
    component: IqComponent,
    host: string,
    ns: string,
    handler: IqHandler,
    type: IqDiscipline = 'no_queue',
  ): void {
    const table = this.table(component);
    const lhost = this.prepHost(host);
    let queues: Fifo[];
    if (type === 'no_queue' || type === 'parallel') {
      queues = [];
    } else if (type === 'one_queue') {
      queues = [new Fifo()];
    } else if (Array.isArray(type) && type[0] === 'queues') {
      const n = type[1];
      if (!Number.isInteger(n) || n < 1) {
        throw new RangeError(
          `gen_iq_handler: ['queues', N] needs N to be a positive integer, not ${String(n)} (handler for ${ns} on ${component} ${lhost})`,
        );
      }
      queues = Array.from({ length: n }, () => new Fifo());
    } else {
      throw new RangeError(
        `gen_iq_handler: unknown discipline ${JSON.stringify(type)} (handler for ${ns} on ${component} ${lhost}); use no_queue, one_queue, parallel or ['queues', N]`,
      );
    }
    // A copy, so a caller mutating its array afterwards cannot change the registration.
    const discipline: IqDiscipline = typeof type === 'string' ? type : ['queues', type[1]];
    let byNs = table.get(lhost);
    if (byNs === undefined) {
      byNs = new Map();
      table.set(lhost, byNs);
    }
    if (byNs.has(ns)) {
      this.deps.log.warning(`gen_iq_handler: replacing the handler for ${ns} on ${component} ${lhost}`);
    }
    byNs.set(ns, {
      component,
      host: lhost,
      ns,
      handler,
      discipline,
      label: `gen_iq_handler ${component} ${ns} (${disciplineName(discipline)})`,
      queues,
      next: 0,
      inflight: 0,
    });
  }

  /** `gen_iq_handler:remove_iq_handler(Component, Host, NS)`. IQs already queued still get their answer. */
  remove_iq_handler(component: IqComponent, host: string, ns: string): void {
    const table = this.table(component);
    const lhost = this.prepHost(host);
    const byNs = table.get(lhost);
    if (byNs === undefined) return;
    byNs.delete(ns);
    if (byNs.size === 0) table.delete(lhost);
  }

  /** The namespaces with a handler on this component and host (what disco#info will announce). */
  namespaces(component: IqComponent, host: string): string[] {
    const lhost = nameprep(host);
    const byNs = lhost === 'error' ? undefined : this.tables.get(component)?.get(lhost);
    return byNs === undefined ? [] : [...byNs.keys()];
  }

  /**
   * What ejabberd_local / ejabberd_sm do with an IQ addressed to `to`: results and errors are dropped
   * (never answered, so two servers cannot loop), invalid IQs bounce `bad-request`, IQs nobody handles
   * bounce `service-unavailable`; the rest go to the handler of their namespace on `to.lserver`, whose
   * reply is routed back to `from`.
   */
  handle(component: IqComponent, from: Jid, to: Jid, packet: XmlElement): void {
    const iq = iq_query_info(packet);
    if (typeof iq === 'string') {
      this.notRequest(component, from, to, packet, iq);
      return;
    }
    const reg = this.tables.get(component)?.get(to.lserver)?.get(iq.xmlns);
    if (reg === undefined) {
      this.deps.trace.end(packet, `gen_iq_handler ${component} ${iq.xmlns} (bounced: service-unavailable)`);
      this.deps.router.route_error(
        from,
        to,
        packet,
        stanza_error('service-unavailable', 'No module is handling this query'),
      );
      return;
    }
    const discipline = reg.discipline;
    if (discipline === 'no_queue') {
      // Only pending async answers count against maxQueue: a sync handler is done before the next IQ.
      if (reg.inflight >= this.maxQueue) {
        this.overflow(reg, from, to, packet, iq, 'async answers pending');
        return;
      }
      this.deps.trace.end(packet, reg.label);
      this.invoke(reg, from, to, packet, iq, undefined);
    } else if (discipline === 'parallel') {
      if (reg.inflight >= this.maxQueue) {
        this.overflow(reg, from, to, packet, iq, 'IQs in flight');
        return;
      }
      this.deps.trace.end(packet, reg.label);
      reg.inflight++;
      // Off the router's call stack, as ejabberd spawned a process per IQ.
      setImmediate(() => this.runParallel(reg, from, to, packet, iq));
    } else {
      const queues = reg.queues;
      let queue = queues[0];
      if (queues.length > 1) {
        queue = queues[reg.next];
        reg.next = reg.next + 1 === queues.length ? 0 : reg.next + 1;
      }
      if (queue.length >= this.maxQueue) {
        this.overflow(reg, from, to, packet, iq, 'IQs queued');
        return;
      }
      this.deps.trace.end(packet, reg.label);
      queue.push({ from, to, packet, iq });
      if (!queue.running) {
        queue.running = true;
        // Drained after the router's call returns, as a queue process would take its message later.
        setImmediate(() => this.drain(reg, queue));
      }
    }
  }

  /** The parallel discipline's start of one IQ (run from setImmediate). */
  private runParallel(reg: Registration, from: Jid, to: Jid, packet: XmlElement, iq: Iq): void {
    // invoke counts the IQ again if its answer turns out to be async.
    reg.inflight--;
    this.invoke(reg, from, to, packet, iq, undefined);
  }

  /**
   * Runs the IQs of `queue` one at a time until it is empty or an answer is async (whose settling
   * drains on). A run of synchronous answers yields to the event loop every DRAIN_BATCH IQs.
   */
  private drain(reg: Registration, queue: Fifo): void {
    for (let n = 0; n < DRAIN_BATCH; n++) {
      const job = queue.shift();
      if (job === undefined) {
        queue.running = false;
        return;
      }
      if (!this.invoke(reg, job.from, job.to, job.packet, job.iq, queue)) return;
    }
    setImmediate(() => this.drain(reg, queue));
  }

  /**
   * Calls the handler on one IQ and answers it. True when done synchronously; false when the answer
   * is a promise, which, once settled or timed out, drains `queue` on (or releases its `inflight`).
   */
  private invoke(
    reg: Registration,
    from: Jid,
    to: Jid,
    packet: XmlElement,
    iq: Iq,
    queue: Fifo | undefined,
  ): boolean {
    let result: ReturnType<IqHandler>;
    try {
      result = reg.handler(from, to, iq);
    } catch (e) {
      this.failed(reg, from, to, packet, iq, e);
      return true;
    }
    if (isThenable(result)) {
      this.awaitAnswer(reg, from, to, packet, iq, result, queue);
      return false;
    }
    this.answer(reg, from, to, packet, iq, result);
    return true;
  }

  private awaitAnswer(
    reg: Registration,
    from: Jid,
    to: Jid,
    packet: XmlElement,
    iq: Iq,
    pending: PromiseLike<Iq | 'ignore'>,
    queue: Fifo | undefined,
  ): void {
    if (queue === undefined) reg.inflight++;
    let open = true;
    const release = () => {
      open = false;
      if (timer !== undefined) clearTimeout(timer);
      if (queue === undefined) reg.inflight--;
      else this.drain(reg, queue);
    };
    const timer =
      this.timeout === Number.POSITIVE_INFINITY
        ? undefined
        : setTimeout(() => {
            if (!open) return;
            this.deps.log.error(
              `gen_iq_handler: the handler for ${reg.ns} on ${reg.component} ${reg.host} took more than ${this.timeout} ms on IQ id=${iq.id} from ${from.toString()}; answered internal-server-error`,
            );
            try {
              this.routeError(
                from,
                to,
                packet,
                iq,
                stanza_error('internal-server-error', 'The handler of this query timed out'),
              );
            } finally {
              release();
            }
          }, this.timeout);
    // A pending handler should not keep the process alive on its own.
    timer?.unref();
    pending.then(
      (result) => {
        if (!open) {
          this.deps.log.warning(
            `gen_iq_handler: dropped the late answer of the handler for ${reg.ns} to IQ id=${iq.id} from ${from.toString()} (timed out)`,
          );
          return;
        }
        try {
          this.answer(reg, from, to, packet, iq, result);
        } finally {
          release();
        }
      },
      (e: unknown) => {
        if (!open) {
          this.deps.log.warning(
            `gen_iq_handler: the handler for ${reg.ns} failed after timing out on IQ id=${iq.id} from ${from.toString()}: ${describeError(e)}`,
          );
          return;
        }
        try {
          this.failed(reg, from, to, packet, iq, e);
        } finally {
          release();
        }
      },
    );
  }

  /** Routes the handler's reply back to the sender (nothing for `'ignore'`). */
  private answer(
    reg: Registration,
    from: Jid,
    to: Jid,
    packet: XmlElement,
    iq: Iq,
    result: Iq | 'ignore',
  ): void {
    if (result === 'ignore') return;
    // The type says Iq, but a handler in plain JS may return anything; that is its failure, not ours.
    if (typeof result !== 'object' || result === null) {
      this.failed(
        reg,
        from,
        to,
        packet,
        iq,
        new TypeError(`returned ${String(result)}, not an #iq{} or 'ignore'`),
      );
      return;
    }
    try {
      this.deps.router.route(to, from, iq_to_xml(result));
    } catch (e) {
      // A failing route must not stall the queue this answer came from; the router logs its own.
      this.deps.log.error(
        `gen_iq_handler: routing the answer to IQ id=${iq.id} from ${from.toString()} (${reg.ns}) failed: ${describeError(e)}`,
      );
    }
  }

  /** A handler that threw or rejected: logged, and its IQ answered internal-server-error. */
  private failed(reg: Registration, from: Jid, to: Jid, packet: XmlElement, iq: Iq, e: unknown): void {
    this.deps.log.error(
      `gen_iq_handler: the handler for ${reg.ns} on ${reg.component} ${reg.host} failed on IQ id=${iq.id} from ${from.toString()}: ${describeError(e)}`,
    );
    this.routeError(from, to, packet, iq, stanza_error('internal-server-error'));
  }

  /** route_error from a timer or a promise callback, where a throw would go nowhere useful. */
  private routeError(from: Jid, to: Jid, packet: XmlElement, iq: Iq, error: XmlElement): void {
    try {
      this.deps.router.route_error(from, to, packet, error);
    } catch (e) {
      this.deps.log.error(
        `gen_iq_handler: routing the error for IQ id=${iq.id} from ${from.toString()} failed: ${describeError(e)}`,
      );
    }
  }

  private overflow(reg: Registration, from: Jid, to: Jid, packet: XmlElement, iq: Iq, what: string): void {
    this.deps.log.warning(
      `gen_iq_handler: ${this.maxQueue} ${what} for ${reg.ns} on ${reg.component} ${reg.host}; IQ id=${iq.id} from ${from.toString()} answered resource-constraint`,
    );
    this.bounce(
      from,
      to,
      packet,
      `${reg.label} (bounced: resource-constraint)`,
      'resource-constraint',
      'Too many queries',
    );
  }

  /** Results and errors (dropped), invalid IQs and non-IQs (bad-request). */
  private notRequest(
    component: IqComponent,
    from: Jid,
    to: Jid,
    packet: XmlElement,
    kind: 'reply' | 'invalid' | 'not_iq',
  ): void {
    if (kind === 'reply') {
      this.deps.trace.end(
        packet,
        `gen_iq_handler ${component} (dropped: an IQ ${stanza_type(packet)} is never answered)`,
      );
      return;
    }
    const type = stanza_type(packet);
    if (type === 'result' || type === 'error') {
      // An IQ result or error without an id: invalid, but answering it could start an error loop.
      this.deps.trace.end(packet, `gen_iq_handler ${component} (dropped: an IQ ${type} without an id)`);
      return;
    }
    const reason = kind === 'not_iq' ? `A <${packet[1]}/> is not an IQ` : invalidReason(packet);
    this.deps.log.debug(`gen_iq_handler: bad-request to ${from.toString()}: ${reason}`);
    this.bounce(
      from,
      to,
      packet,
      `gen_iq_handler ${component} (bounced: bad-request)`,
      'bad-request',
      reason,
    );
  }

  private bounce(
    from: Jid,
    to: Jid,
    packet: XmlElement,
    where: string,
    condition: StanzaErrorCondition,
    text: string,
  ): void {
    this.deps.trace.end(packet, where);
    this.deps.router.route_error(from, to, packet, stanza_error(condition, text));
  }

  private table(component: IqComponent): Map<string, Map<string, Registration>> {
    const table = this.tables.get(component);
    if (table === undefined) {
      throw new RangeError(
        `gen_iq_handler: unknown component ${String(component)}; use ejabberd_local or ejabberd_sm`,
      );
    }
    return table;
  }

  /** The host as `to.lserver` will spell it, so `Example.COM` and `example.com` are one host. */
  private prepHost(host: string): string {
    const lhost = nameprep(host);
    if (lhost === 'error') {
      throw new RangeError(`gen_iq_handler: ${JSON.stringify(host)} is not a valid host name`);
    }
    return lhost;
  }
}
