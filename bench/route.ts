/**
 * `npm run bench`, second suite: the routing core in process, no sockets.
 *
 * - messages routed from one session to another per second: to a full JID, and to a bare JID whose three
 *   resources have different priorities (RFC 6121 8.5.2.1.1: the highest one gets it);
 * - IQ round trips per second through each gen_iq_handler discipline (no_queue, one_queue, parallel,
 *   ['queues', 4]), with a synchronous handler and with one that awaits a setImmediate tick: a batch of
 *   IQs sent at once and every reply awaited, then one IQ at a time, each after the previous reply;
 * - the heap one IQ holds while in flight (async handler) under each discipline;
 * - memory per session: heapUsed (after full garbage collections) with 100,000 sessions in the table,
 *   each with its own Jid and a tiny SessionProcess.
 *
 * Every reply and delivery is counted and checked before a figure is reported; a run that lost or
 * duplicated one fails. Run with `node --expose-gc` (without it the flag is set at run time).
 *
 * Environment: BENCH_TIME_MS (sampling time per task, split between rounds; default 2000), BENCH_ROUNDS
 * (default 2), BENCH_BATCH (messages or IQs per timed call; default 10000, at most gen_iq_handler's
 * queue limit of 10000), BENCH_SESSIONS (default 100000).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { type Jid, parse } from '@tsjabberd/jid';
import {
  EjabberdNode,
  type IqDiscipline,
  type IqHandler,
  iq_result,
  MemoryLogger,
  type SessionProcess,
} from '@tsjabberd/router';
import { cdata, element, element_to_string, type XmlElement } from '@tsjabberd/xml-stanza';
import { Bench } from 'tinybench';
import { machine, writeResults } from './report.js';
import {
  type MemoryRow,
  type MemoryTable,
  markdownReport,
  type RateRow,
  textTables,
} from './route-report.js';

const TIME_MS = Number(process.env.BENCH_TIME_MS ?? 2000);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 2));
const BATCH = Number(process.env.BENCH_BATCH ?? 10_000);
const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 100_000);
/** IQs per timed call when they are sent one at a time, each after the previous reply. */
const SEQUENTIAL = 1000;
/** gen_iq_handler's default maxQueue: a larger batch would be answered resource-constraint. */
const MAX_QUEUE = 10_000;
/** A timed call that has not seen all its replies by then has lost some: fail rather than hang. */
const WATCHDOG_MS = 30_000;
const HOST = 'localhost';

if (!Number.isInteger(BATCH) || BATCH < 1 || BATCH > MAX_QUEUE) {
  throw new RangeError(
    `BENCH_BATCH must be an integer in [1, ${MAX_QUEUE}] (gen_iq_handler's maxQueue), not ${BATCH}`,
  );
}
if (!Number.isInteger(SESSIONS) || SESSIONS < 1000) {
  throw new RangeError(`BENCH_SESSIONS must be an integer of at least 1000, not ${SESSIONS}`);
}

function log(line = ''): void {
  process.stdout.write(`${line}\n`);
}

/** `global.gc`, from `--expose-gc` or, failing that, from the flag set now. */
function getGc(): () => void {
  if (typeof globalThis.gc === 'function') return globalThis.gc;
  setFlagsFromString('--expose-gc');
  const gc: unknown = runInNewContext('gc');
  if (typeof gc !== 'function') throw new Error('no gc(): run node with --expose-gc');
  log('(note: node was started without --expose-gc; the flag was set at run time)');
  return gc as () => void;
}

const gc = getGc();

/** heapUsed after full collections (twice: the first may leave what finalizers release). */
function heap(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

function attr(packet: XmlElement, name: string): string | undefined {
  for (const [key, value] of packet[2]) if (key === name) return value;
  return undefined;
}

function newNode(): EjabberdNode {
  return new EjabberdNode({ hosts: [HOST], log: new MemoryLogger(), trace: false, userExists: () => true });
}

/** Fails when a module logged a warning or an error: the benchmark then measured a failure path. */
function checkLog(node: EjabberdNode, what: string): void {
  const bad = (node.log as MemoryLogger).lines.filter(
    (l) => !l.startsWith('[debug]') && !l.startsWith('[info]'),
  );
  if (bad.length > 0) {
    throw new Error(
      `${what}: the server logged ${bad.length} warnings/errors, the first: ${bad[0].slice(0, 300)}`,
    );
  }
}

/** The tiniest c2s stand-in: counts what it is given. */
class CountingProcess implements SessionProcess {
  delivered = 0;
  route(): void {
    this.delivered++;
  }
  replaced(): void {
    throw new Error('a benchmark session was replaced');
  }
}

/**
 * The session that sends the IQs: counts results and errors, checks that every id of a batch is answered
 * once, counts replies that overtook an earlier one, and resolves the expectation of the timed call.
 */
class Requester implements SessionProcess {
  results = 0;
  errors = 0;
  duplicates = 0;
  /** Replies that arrived before the reply to an IQ sent earlier. */
  reordered = 0;
  firstError = '';
  private next = 0;
  private seen = new Uint8Array(Math.max(BATCH, SEQUENTIAL));
  private pending: { target: number; resolve: () => void; reject: (e: Error) => void } | undefined;

  get answered(): number {
    return this.results + this.errors;
  }

  /** A new batch of ids (q0, q1, ...) begins. */
  reset(): void {
    this.seen.fill(0);
    this.next = 0;
  }

  /** Settles once `n` more replies have arrived (or `abort` is called). `fresh` starts a new batch of ids. */
  expect(n: number, fresh: boolean): Promise<void> {
    if (fresh) this.reset();
    const target = this.answered + n;
    return new Promise((resolve, reject) => {
      this.pending = { target, resolve, reject };
    });
  }

  abort(e: Error): void {
    const p = this.pending;
    this.pending = undefined;
    p?.reject(e);
  }

  route(_from: Jid, _to: Jid, packet: XmlElement): void {
    const type = attr(packet, 'type');
    if (packet[1] !== 'iq' || type !== 'result') {
      if (this.errors === 0) this.firstError = element_to_string(packet).slice(0, 300);
      this.errors++;
    } else {
      this.results++;
    }
    const index = Number((attr(packet, 'id') ?? '').slice(1));
    if (this.seen[index] === 1) this.duplicates++;
    this.seen[index] = 1;
    if (index < this.next) this.reordered++;
    else this.next = index + 1;
    const p = this.pending;
    if (p !== undefined && this.answered >= p.target) {
      this.pending = undefined;
      p.resolve();
    }
  }

  replaced(): void {
    throw new Error('the requester session was replaced');
  }
}

// ---------------------------------------------------------------------------------------------- timing

interface Task {
  name: string;
  /** Operations per call of fn. */
  ops: number;
  async: boolean;
  fn: () => unknown;
  /** After the task's runs: throws when an operation was lost; returns the check passed. */
  verify: () => string;
  note?: () => string | undefined;
}

interface Measured {
  p50: number;
  mean: number;
  rme: number;
  samples: number;
}

async function measure(title: string, task: Task): Promise<Measured> {
  const bench = new Bench({ time: TIME_MS / ROUNDS, iterations: 10, warmupTime: 200, warmupIterations: 3 });
  bench.add(task.name, task.fn, { async: task.async });
  await bench.run();
  const result = bench.tasks[0].result;
  if (result.state !== 'completed') {
    throw new Error(
      `${title} / ${task.name}: ${result.state === 'errored' ? (result.error.stack ?? result.error.message) : result.state}`,
    );
  }
  const { p50, mean, rme, samplesCount } = result.latency;
  return { p50, mean, rme, samples: samplesCount };
}

/**
 * As the parse suite: `ROUNDS` rounds, alternately in order and reversed, each task keeping its round
 * with the lowest median. The first task is the suite's baseline.
 */
async function suite(title: string, tasks: Task[], checks: string[]): Promise<RateRow[]> {
  log(`\n${title}`);
  const best = new Map<Task, Measured>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const task of round % 2 === 0 ? tasks : [...tasks].reverse()) {
      const m = await measure(title, task);
      log(
        `  round ${round + 1}  ${task.name.padEnd(44)} ${Math.round((task.ops / m.p50) * 1000)
          .toLocaleString('en-US')
          .padStart(11)}/s  median ${m.p50.toFixed(3)} ms  (${m.samples} samples)`,
      );
      const prev = best.get(task);
      if (prev === undefined || m.p50 < prev.p50) best.set(task, m);
    }
  }
  for (const task of tasks) checks.push(`${title} / ${task.name}: ${task.verify()}`);
  const baseline = best.get(tasks[0])!.p50 / tasks[0].ops;
  return tasks.map((task) => {
    const m = best.get(task)!;
    const perOp = m.p50 / task.ops;
    return {
      suite: title,
      task: task.name,
      ops: task.ops,
      samples: m.samples,
      medianMs: m.p50,
      meanMs: m.mean,
      rme: m.rme,
      opsPerSec: 1000 / perOp,
      usPerOp: perOp * 1000,
      ratio: baseline / perOp,
      baseline: tasks[0].name,
      note: task.note?.(),
    };
  });
}

// -------------------------------------------------------------------------------------------- messages

function chat(i: number, to: string): XmlElement {
  return element(
    'message',
    [
      ['type', 'chat'],
      ['id', `m${i}`],
      ['to', to],
    ],
    [element('body', [], [cdata('Wherefore art thou, Romeo?')])],
  );
}

function presence(priority: number): XmlElement {
  return element('presence', [], [element('priority', [], [cdata(String(priority))])]);
}

/** A session opened and made available with `priority`. */
function online(node: EjabberdNode, jid: Jid, process: SessionProcess, priority: number): void {
  const sid = node.ejabberd_sm.make_sid();
  node.ejabberd_sm.open_session(sid, jid, process);
  node.ejabberd_sm.set_presence(sid, jid, priority, presence(priority));
}

function messageTasks(node: EjabberdNode): Task[] {
  const alice = parse('alice@localhost/balcony');
  online(node, alice, new CountingProcess(), 0);

  const bobJid = parse('bob@localhost/orchard');
  const bob = new CountingProcess();
  online(node, bobJid, bob, 0);
  const toBob = Array.from({ length: BATCH }, (_, i) => chat(i, 'bob@localhost/orchard'));
  let sentToBob = 0;

  // carol: three resources; a message to her bare JID goes to the one of highest priority only.
  const carol = { phone: new CountingProcess(), desk: new CountingProcess(), tablet: new CountingProcess() };
  online(node, parse('carol@localhost/phone'), carol.phone, 1);
  online(node, parse('carol@localhost/desk'), carol.desk, 5);
  online(node, parse('carol@localhost/tablet'), carol.tablet, 0);
  const carolBare = parse('carol@localhost');
  const toCarol = Array.from({ length: BATCH }, (_, i) => chat(i, 'carol@localhost'));
  let sentToCarol = 0;

  return [
    {
      name: 'chat to a full JID (bob@localhost/orchard)',
      ops: BATCH,
      async: false,
      fn: () => {
        for (let i = 0; i < BATCH; i++) node.route(alice, bobJid, toBob[i]);
        sentToBob += BATCH;
      },
      verify: () => {
        checkLog(node, 'messages to bob');
        if (bob.delivered !== sentToBob) throw new Error(`bob got ${bob.delivered} of ${sentToBob} messages`);
        return `${sentToBob.toLocaleString('en-US')} messages sent, all delivered to bob's session`;
      },
    },
    {
      name: 'chat to a bare JID, 3 resources by priority',
      ops: BATCH,
      async: false,
      fn: () => {
        for (let i = 0; i < BATCH; i++) node.route(alice, carolBare, toCarol[i]);
        sentToCarol += BATCH;
      },
      verify: () => {
        checkLog(node, 'messages to carol');
        const { phone, desk, tablet } = carol;
        if (desk.delivered !== sentToCarol || phone.delivered !== 0 || tablet.delivered !== 0) {
          throw new Error(
            `carol: ${sentToCarol} sent; desk (priority 5) got ${desk.delivered}, phone (1) ${phone.delivered}, tablet (0) ${tablet.delivered}`,
          );
        }
        return `${sentToCarol.toLocaleString('en-US')} messages sent, all delivered to carol/desk (priority 5), none to phone (1) or tablet (0)`;
      },
    },
  ];
}

// ------------------------------------------------------------------------------------------------- IQs

const DISCIPLINES: IqDiscipline[] = ['no_queue', 'one_queue', 'parallel', ['queues', 4]];

function disciplineName(d: IqDiscipline): string {
  return typeof d === 'string' ? d : `['queues', ${d[1]}]`;
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

const HANDLERS: { kind: 'sync' | 'async'; handler: IqHandler }[] = [
  { kind: 'sync', handler: (_from, _to, iq) => iq_result(iq) },
  {
    kind: 'async',
    handler: async (_from, _to, iq) => {
      await tick();
      return iq_result(iq);
    },
  },
];

function iqPacket(i: number, ns: string): XmlElement {
  return element(
    'iq',
    [
      ['type', 'get'],
      ['id', `q${i}`],
      ['to', HOST],
    ],
    [element('query', [['xmlns', ns]])],
  );
}

/** Runs `run` (which awaits `n` replies to `req`); rejects, rather than hangs, when they do not all come. */
async function guard(req: Requester, name: string, n: number, run: () => Promise<void>): Promise<void> {
  const before = req.answered;
  const timer = setTimeout(
    () => req.abort(new Error(`${name}: ${req.answered - before} of ${n} replies after ${WATCHDOG_MS} ms`)),
    WATCHDOG_MS,
  );
  try {
    await run();
  } finally {
    clearTimeout(timer);
  }
}

/** `bench:noqueue`, `bench:queues4`: a namespace per registration. */
function slug(d: IqDiscipline): string {
  return disciplineName(d).replace(/[^a-z0-9]+/g, '');
}

interface IqTasks {
  batch: Task[];
  sequential: Task[];
}

function iqTasks(node: EjabberdNode): IqTasks {
  const server = parse(HOST);
  const batch: Task[] = [];
  const sequential: Task[] = [];

  /** One requester session per task, so that each task's counts are its own. */
  const task = (name: string, ns: string, mode: 'batch' | 'sequential'): Task => {
    const me = parse(`romeo@localhost/${ns.replaceAll(':', '-')}`);
    const req = new Requester();
    online(node, me, req, 0);
    const n = mode === 'batch' ? BATCH : SEQUENTIAL;
    const packets = Array.from({ length: n }, (_, i) => iqPacket(i, ns));
    let sent = 0;
    let calls = 0;
    const fn =
      mode === 'batch'
        ? () =>
            guard(req, name, n, async () => {
              const all = req.expect(n, true);
              for (let i = 0; i < n; i++) node.route(me, server, packets[i]);
              sent += n;
              calls++;
              await all;
            })
        : () =>
            guard(req, name, n, async () => {
              req.reset();
              for (let i = 0; i < n; i++) {
                const one = req.expect(1, false);
                node.route(me, server, packets[i]);
                sent++;
                await one;
              }
              calls++;
            });
    return {
      name,
      ops: n,
      async: true,
      fn,
      verify: () => {
        checkLog(node, name);
        if (req.errors > 0)
          throw new Error(`${name}: ${req.errors} error replies, the first: ${req.firstError}`);
        if (req.results !== sent) throw new Error(`${name}: ${req.results} results for ${sent} IQs`);
        if (req.duplicates > 0) throw new Error(`${name}: ${req.duplicates} IQs answered twice`);
        return `${sent.toLocaleString('en-US')} IQs in ${calls} calls, each answered once with a result${req.reordered > 0 ? `; ${req.reordered.toLocaleString('en-US')} replies overtook an earlier one` : ', in order'}`;
      },
      note: () => (req.reordered > 0 ? 'replies reordered' : undefined),
    };
  };

  for (const { kind, handler } of HANDLERS) {
    for (const d of DISCIPLINES) {
      // A registration (so a queue) per task: bench:noqueue:sync, bench:queues4:async, ...
      const ns = `bench:${slug(d)}:${kind}`;
      node.gen_iq_handler.add_iq_handler('ejabberd_local', HOST, ns, handler, d);
      batch.push(task(`${disciplineName(d)}, ${kind} handler`, ns, 'batch'));
      node.gen_iq_handler.add_iq_handler('ejabberd_local', HOST, `${ns}:seq`, handler, d);
      sequential.push(task(`${disciplineName(d)}, ${kind} handler`, `${ns}:seq`, 'sequential'));
    }
  }
  return { batch, sequential };
}

/**
 * What an IQ holds while in flight, with the async handler: heapUsed (after full collections) right after
 * a batch is routed, before the event loop runs (queued jobs; for no_queue, handlers started and awaiting
 * their tick), and after one turn of it (by then parallel's handlers have started); the larger, per IQ.
 */
async function inflightMemory(node: EjabberdNode, checks: string[]): Promise<MemoryTable> {
  const server = parse(HOST);
  const rows: MemoryRow[] = [];
  const perIq = (bytes: number) => `${Math.max(0, Math.round(bytes / BATCH)).toLocaleString('en-US')} B`;
  for (const d of DISCIPLINES) {
    const name = `in flight, ${disciplineName(d)}`;
    const ns = `bench:inflight:${slug(d)}`;
    node.gen_iq_handler.add_iq_handler('ejabberd_local', HOST, ns, HANDLERS[1].handler, d);
    const me = parse(`romeo@localhost/inflight-${slug(d)}`);
    const req = new Requester();
    online(node, me, req, 0);
    const packets = Array.from({ length: BATCH }, (_, i) => iqPacket(i, ns));
    let routed = 0;
    let turned = 0;
    // Three rounds, the last one kept: the first ones compile and size what they touch.
    for (let round = 0; round < 3; round++) {
      await guard(req, name, BATCH, async () => {
        const all = req.expect(BATCH, true);
        const h0 = heap();
        for (let i = 0; i < BATCH; i++) node.route(me, server, packets[i]);
        routed = heap() - h0;
        await tick();
        turned = heap() - h0;
        await all;
      });
    }
    checkLog(node, name);
    if (req.errors > 0 || req.results !== 3 * BATCH || req.duplicates > 0) {
      throw new Error(
        `${name}: ${req.results} results, ${req.errors} errors, ${req.duplicates} duplicates for ${3 * BATCH} IQs`,
      );
    }
    checks.push(`${name}: ${(3 * BATCH).toLocaleString('en-US')} IQs, each answered once with a result`);
    const peak = Math.max(routed, turned);
    rows.push({
      step: disciplineName(d),
      bytes: peak,
      each: peak / BATCH,
      note: `right after routing ${perIq(routed)}, after one event-loop turn ${perIq(turned)}`,
    });
  }
  return {
    title: `heap held per IQ in flight, async handler, ${BATCH.toLocaleString('en-US')} IQs routed at once`,
    per: 'bytes/IQ',
    rows,
  };
}

// ---------------------------------------------------------------------------------------------- memory

interface MemoryResult {
  rows: MemoryRow[];
  perSession: number;
  facts: string[];
  checks: string[];
  raw: Record<string, number>;
}

async function memorySuite(n: number): Promise<MemoryResult> {
  const node = newNode();
  await node.start();
  const sm = node.ejabberd_sm;
  const sender = parse('nurse@localhost/house');

  // Warm-up: open_session, set_presence and close_session compiled before the baseline.
  for (let i = 0; i < 2000; i++) {
    const jid = parse(`warm${i}@localhost/r`);
    const sid = sm.make_sid();
    sm.open_session(sid, jid, new CountingProcess());
    sm.set_presence(sid, jid, 0, presence(0));
    sm.close_session(sid, jid);
  }
  if (sm.connected_users_number() !== 0) throw new Error('memory: warm-up sessions left in the table');

  // Allocated before the baseline (filling them with objects does not reallocate them).
  const jids: Jid[] = new Array(n);
  const procs: CountingProcess[] = new Array(n);
  const h0 = heap();

  let t = performance.now();
  for (let i = 0; i < n; i++) {
    jids[i] = parse(`user${i}@localhost/res${i % 10}`);
    procs[i] = new CountingProcess();
  }
  const parseMs = performance.now() - t;
  const h1 = heap();

  t = performance.now();
  for (let i = 0; i < n; i++) sm.open_session(sm.make_sid(), jids[i], procs[i]);
  const openMs = performance.now() - t;
  const h2 = heap();
  if (sm.connected_users_number() !== n) {
    throw new Error(`memory: ${sm.connected_users_number()} sessions in the table, not ${n}`);
  }

  t = performance.now();
  for (let i = 0; i < n; i++) {
    const jid = jids[i];
    const session = sm.get_session(jid.luser, jid.lserver, jid.lresource);
    if (session === undefined) throw new Error(`memory: no session for ${jid.toString()}`);
    sm.set_presence(session.sid, jid, 0, presence(0));
  }
  const presenceMs = performance.now() - t;
  const h3 = heap();

  // Every session is reachable: a message to a sample of bare JIDs reaches its process, and no other.
  const step = Math.max(1, Math.floor(n / 1000));
  let sampled = 0;
  for (let i = 0; i < n; i += step) {
    node.route(sender, jids[i].bare(), chat(i, jids[i].bare().toString()));
    sampled++;
  }
  let delivered = 0;
  for (let i = 0; i < n; i++) delivered += procs[i].delivered;
  for (let i = 0; i < n; i += step) {
    if (procs[i].delivered !== 1)
      throw new Error(`memory: ${jids[i].toString()} got ${procs[i].delivered} messages`);
  }
  if (delivered !== sampled) throw new Error(`memory: ${delivered} deliveries for ${sampled} messages`);
  checkLog(node, 'memory');

  t = performance.now();
  for (const jid of sm.dirty_get_sessions_list()) {
    const session = sm.get_session(jid.luser, jid.lserver, jid.lresource)!;
    sm.close_session(session.sid, jid);
  }
  const closeMs = performance.now() - t;
  if (sm.connected_users_number() !== 0) {
    throw new Error(`memory: ${sm.connected_users_number()} sessions left after closing them all`);
  }
  const h4 = heap();
  // The table is empty: what it held is released (the Jids and processes are still in the arrays).
  const left = h4 - h1;
  const total = h3 - h0;
  if (left > 0.1 * (h3 - h1)) {
    throw new Error(
      `memory: ${left} bytes still held after closing every session (of ${h3 - h1} the table took)`,
    );
  }

  const per = (bytes: number) => bytes / n;
  const rows: MemoryRow[] = [
    { step: 'a Jid (parse, full JID) and a SessionProcess per session', bytes: h1 - h0, each: per(h1 - h0) },
    { step: 'open_session: session record, sid, table entry', bytes: h2 - h1, each: per(h2 - h1) },
    {
      step: 'set_presence with its own <presence/>',
      bytes: h3 - h2,
      each: per(h3 - h2),
      note: 'a 3-node tuple tree',
    },
    { step: 'total: an available session with its Jid and process', bytes: total, each: per(total) },
    { step: 'the table alone (open_session + set_presence)', bytes: h3 - h1, each: per(h3 - h1) },
  ];
  const rate = (ms: number) => Math.round((n / ms) * 1000).toLocaleString('en-US');
  const facts = [
    `${n.toLocaleString('en-US')} sessions (user0..user${n - 1}@localhost, one resource each): parse ${parseMs.toFixed(0)} ms ` +
      `(${rate(parseMs)}/s), open_session ${openMs.toFixed(0)} ms (${rate(openMs)}/s), set_presence ${presenceMs.toFixed(0)} ms ` +
      `(${rate(presenceMs)}/s), close_session ${closeMs.toFixed(0)} ms (${rate(closeMs)}/s)`,
  ];
  const checks = [
    `memory: ${n.toLocaleString('en-US')} sessions in the table; ${sampled} messages to a sample of bare JIDs each reached its own session only; ` +
      `after closing them all the table is empty and ${Math.max(0, left).toLocaleString('en-US')} bytes of it remain (${per(Math.max(0, left)).toFixed(1)} per session)`,
  ];
  return {
    rows,
    perSession: per(total),
    facts,
    checks,
    // The arrays are used up to here, so every measurement above still counts what they point to.
    raw: {
      sessions: n,
      arrays: jids.length + procs.length,
      h0,
      h1,
      h2,
      h3,
      h4,
      parseMs,
      openMs,
      presenceMs,
      closeMs,
    },
  };
}

// ------------------------------------------------------------------------------------------------ main

async function main(): Promise<void> {
  const started = performance.now();
  const m = machine();
  log(
    `routing benchmark: ${m.cpu}, ${m.cores} cores, ${m.os}, node ${m.node}, load ${m.loadAverage.join(' ')}`,
  );
  const checks: string[] = [];

  // Memory first, while the heap holds nothing else of ours.
  log(`\nmemory: ${SESSIONS.toLocaleString('en-US')} sessions in the table`);
  const memory = await memorySuite(SESSIONS);
  for (const f of memory.facts) log(`  ${f}`);
  checks.push(...memory.checks);
  heap();

  const node = newNode();
  await node.start();
  const rates: RateRow[] = [];
  rates.push(...(await suite('messages routed session to session', messageTasks(node), checks)));
  const iqs = iqTasks(node);
  rates.push(
    ...(await suite(
      `IQ round trips, ${BATCH.toLocaleString('en-US')} sent at once, all replies awaited`,
      iqs.batch,
      checks,
    )),
  );
  rates.push(
    ...(await suite(
      `IQ round trips one at a time (${SEQUENTIAL.toLocaleString('en-US')} in a row per call)`,
      iqs.sequential,
      checks,
    )),
  );
  log('\nheap held per IQ in flight');
  const inflight = await inflightMemory(node, checks);

  // ---------------------------------------------------------------------------------------- summary
  const row = (suiteStart: string, task: string) =>
    rates.find((r) => r.suite.startsWith(suiteStart) && r.task === task)!;
  const per = (x: number) => Math.round(x).toLocaleString('en-US');
  const summary: string[] = [];
  const full = row('messages', 'chat to a full JID (bob@localhost/orchard)');
  const bare = row('messages', 'chat to a bare JID, 3 resources by priority');
  summary.push(
    `messages session → session: ${per(full.opsPerSec)}/s to a full JID (${full.usPerOp.toFixed(2)} µs each), ` +
      `${per(bare.opsPerSec)}/s to a bare JID with 3 resources by priority (${bare.usPerOp.toFixed(2)} µs each)`,
  );
  for (const kind of ['sync', 'async']) {
    const parts = DISCIPLINES.map((d) => {
      const r = row('IQ round trips, ', `${disciplineName(d)}, ${kind} handler`);
      return `${disciplineName(d)} ${per(r.opsPerSec)}/s`;
    });
    summary.push(
      `IQ round trips, ${kind} handler, ${BATCH.toLocaleString('en-US')} at once: ${parts.join(', ')}`,
    );
  }
  for (const kind of ['sync', 'async']) {
    const parts = DISCIPLINES.map((d) => {
      const r = row('IQ round trips one', `${disciplineName(d)}, ${kind} handler`);
      return `${disciplineName(d)} ${r.usPerOp.toFixed(2)} µs`;
    });
    summary.push(`IQ round trip one at a time, ${kind} handler: ${parts.join(', ')}`);
  }
  summary.push(
    `heap held per IQ in flight (async handler): ${inflight.rows.map((r) => `${r.step} ${per(r.each)} B`).join(', ')}`,
  );
  summary.push(
    `memory: ${per(memory.perSession)} bytes per available session with ${SESSIONS.toLocaleString('en-US')} in the table ` +
      `(Jid + process ${per(memory.rows[0].each)}, table entry ${per(memory.rows[1].each)}, presence ${per(memory.rows[2].each)})`,
  );

  const tables: MemoryTable[] = [
    inflight,
    {
      title: `memory per session, ${SESSIONS.toLocaleString('en-US')} sessions in the table`,
      per: 'bytes/session',
      rows: memory.rows,
    },
  ];
  log(textTables(rates, tables));
  log('');
  for (const s of summary) log(s);

  const intro = [
    'in process: one EjabberdNode serving localhost, trace off, a MemoryLogger (the run fails if anything logs a warning or an error)',
    `messages: ${BATCH.toLocaleString('en-US')} pre-built <message type='chat'/> per timed call, routed with node.route from ` +
      "alice's session; bob's session (full JID) or carol's three (priorities 5, 1, 0; bare JID) count the deliveries",
    `IQs: <iq type='get'/> to the server's JID with a payload in the handler's namespace (ejabberd_local); the handler answers an ` +
      'empty result (sync), or the same after awaiting one setImmediate (async); the reply is routed back to the sending session. ' +
      `"at once": ${BATCH.toLocaleString('en-US')} routed in a loop, then every reply awaited; "one at a time": each IQ sent ` +
      `after the previous reply, ${SEQUENTIAL.toLocaleString('en-US')} per call`,
    `in flight: heapUsed deltas (after two global.gc() each) right after ${BATCH.toLocaleString('en-US')} IQs to the async handler are ` +
      'routed and after one event-loop turn, the larger kept, third of three rounds',
    `memory: heapUsed deltas after two global.gc() each, for ${SESSIONS.toLocaleString('en-US')} sessions opened ` +
      '(each its own parsed full Jid and a one-field SessionProcess object), then made available with their own <presence/>',
    `tinybench: each task sampled ${TIME_MS / ROUNDS} ms after a warm-up in each of ${ROUNDS} rounds (alternately in order ` +
      'and reversed), keeping its round with the lowest median; per second and µs each are from that median; ' +
      '"vs baseline" compares time per operation with the first task of the table',
  ];
  checks.push(...memory.facts);
  const md = markdownReport(m, intro, rates, tables, summary, checks);
  const files = writeResults('route', m, md, {
    machine: m,
    settings: { timeMs: TIME_MS, rounds: ROUNDS, batch: BATCH, sequential: SEQUENTIAL, sessions: SESSIONS },
    rates,
    inflight: inflight.rows,
    memory: { rows: memory.rows, perSession: memory.perSession, raw: memory.raw },
    summary,
    checks,
  });
  log(`\nchecks: ${checks.length} passed`);
  for (const c of checks) log(`  ${c}`);
  log(`\nwritten: ${files.join(', ')} (${((performance.now() - started) / 1000).toFixed(0)} s)`);
  await node.stop();
}

await main();
