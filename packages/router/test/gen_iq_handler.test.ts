import { type Jid, parse } from '@tsjabberd/jid';
import type { XmlElement } from '@tsjabberd/xml-stanza';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EjabberdHooks } from '../src/ejabberd_hooks.js';
import { EjabberdRouter } from '../src/ejabberd_router.js';
import { GenIqHandler, type GenIqHandlerDeps, type IqHandler } from '../src/gen_iq_handler.js';
import { type Iq, iq_error, iq_result } from '../src/iq.js';
import { MemoryLogger } from '../src/logger.js';
import { MemoryGlobalRouteTable } from '../src/route_table.js';
import { error_condition, NS_STANZAS, stanza_error, stanza_type } from '../src/stanza_errors.js';
import { PacketTrace } from '../src/trace.js';

const ROMEO = parse('romeo@client.example/orchard');
const SERVER = parse('example.com');
const JULIET = parse('juliet@example.com');
const NS = 'urn:example:test';

interface Received {
  from: Jid;
  to: Jid;
  packet: XmlElement;
}

/**
 * A real router with two local routes: `example.com`, which hands IQs to gen_iq_handler as
 * ejabberd_local (server JID) or ejabberd_sm (a user's JID) would, and `client.example`, the sender's
 * domain, which records what comes back.
 */
function setup(opts: Partial<Pick<GenIqHandlerDeps, 'timeout' | 'maxQueue'>> & { trace?: boolean } = {}) {
  const log = new MemoryLogger();
  const trace = new PacketTrace(log, opts.trace ?? false);
  const router = new EjabberdRouter('node1', {
    log,
    trace,
    hooks: new EjabberdHooks(log),
    global: new MemoryGlobalRouteTable(),
  });
  router.s2s = { route() {} };
  const received: Received[] = [];
  router.register_local_route('client.example', {
    route(from, to, packet) {
      received.push({ from, to, packet });
    },
  });
  const gen = new GenIqHandler({ router, log, trace, timeout: opts.timeout, maxQueue: opts.maxQueue });
  // Stands in for ejabberd_local and ejabberd_sm: it hands IQs on, and gen_iq_handler ends the trace.
  router.register_local_route('example.com', {
    traces: true,
    route(from, to, packet) {
      gen.handle(to.luser === '' ? 'ejabberd_local' : 'ejabberd_sm', from, to, packet);
    },
  });
  const send = (packet: XmlElement, to: Jid = SERVER) => router.route(ROMEO, to, packet);
  return { log, router, gen, received, send };
}

function query(ns = NS, attrs: [string, string][] = []): XmlElement {
  return ['xmlelement', 'query', [['xmlns', ns], ...attrs], []];
}

function iq(id: string | undefined, type: string, children: XmlElement[] = [query()]): XmlElement {
  const attrs: [string, string][] = [['type', type]];
  if (id !== undefined) attrs.push(['id', id]);
  return ['xmlelement', 'iq', attrs, children];
}

function attr(packet: XmlElement, name: string): string | undefined {
  return packet[2].find(([k]) => k === name)?.[1];
}

function errorText(packet: XmlElement): string {
  const error = packet[3].find((c): c is XmlElement => c[0] === 'xmlelement' && c[1] === 'error');
  const text = error?.[3].find((c): c is XmlElement => c[0] === 'xmlelement' && c[1] === 'text');
  const cdata = text?.[3][0];
  return cdata !== undefined && cdata[0] === 'xmlcdata' ? cdata[1] : '';
}

/** `[id, type, condition]` of every reply received, in order. */
function replies(received: Received[]): [string | undefined, string, string][] {
  return received.map(({ packet }) => [attr(packet, 'id'), stanza_type(packet), error_condition(packet)]);
}

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** One turn of the event loop: queued IQs start, settled answers are routed. */
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Counts how many calls of a handler run at once, and the order they start in. */
function concurrency() {
  let running = 0;
  const state = { max: 0, started: [] as string[], finished: [] as string[] };
  const track = async (iq: Iq, work: () => Promise<void>): Promise<Iq> => {
    state.started.push(iq.id);
    running++;
    state.max = Math.max(state.max, running);
    try {
      await work();
    } finally {
      running--;
      state.finished.push(iq.id);
    }
    return iq_result(iq);
  };
  return { state, track };
}

const randomDelay = () => sleep(Math.floor(Math.random() * 6));
const ids = (n: number) => Array.from({ length: n }, (_, i) => `q${i}`);

afterEach(() => {
  vi.useRealTimers();
});

describe('GenIqHandler: routing an IQ to its handler', () => {
  it('no_queue answers within the router call for a sync handler, from the server to the sender', () => {
    const { gen, received, send } = setup();
    const calls: [string, string, Iq][] = [];
    gen.add_iq_handler('ejabberd_local', 'example.com', NS, (from, to, request) => {
      calls.push([from.toString(), to.toString(), request]);
      return iq_result(request, [['xmlelement', 'answer', [['xmlns', NS]], [['xmlcdata', '42']]]]);
    });
    send(iq('v1', 'get'));
    expect(calls).toHaveLength(1);
    expect(calls[0][0]).toBe('romeo@client.example/orchard');
    expect(calls[0][1]).toBe('example.com');
    expect(calls[0][2]).toMatchObject({ id: 'v1', type: 'get', xmlns: NS, sub_el: query() });
    expect(received).toHaveLength(1);
    const reply = received[0];
    expect(reply.from.toString()).toBe('example.com');
    expect(reply.to.toString()).toBe('romeo@client.example/orchard');
    expect(reply.packet).toEqual([
      'xmlelement',
      'iq',
      [
        ['id', 'v1'],
        ['type', 'result'],
      ],
      [['xmlelement', 'answer', [['xmlns', NS]], [['xmlcdata', '42']]]],
    ]);
  });

  it('no_queue routes the reply of an async handler when it resolves', async () => {
    const { gen, received, send } = setup();
    const gate = deferred<void>();
    gen.add_iq_handler('ejabberd_local', 'example.com', NS, async (_f, _t, request) => {
      await gate.promise;
      return iq_result(request);
    });
    send(iq('a1', 'get'));
    expect(received).toHaveLength(0);
    gate.resolve();
    await vi.waitFor(() => expect(replies(received)).toEqual([['a1', 'result', '']]));
  });

  it('an error reply built by the handler is sent as it is', () => {
    const { gen, received, send } = setup();
    gen.add_iq_handler('ejabberd_local', 'example.com', NS, (_f, _t, request) =>
      iq_error(request, stanza_error('not-allowed')),
    );
    send(iq('e1', 'set'));
    expect(replies(received)).toEqual([['e1', 'error', 'not-allowed']]);
    expect(received[0].packet[3][0]).toEqual(query());
  });

  it('ejabberd_sm handles IQs to a user, ejabberd_local those to the server; hosts are kept apart', () => {
    const { gen, received, send } = setup();
    const seen: string[] = [];
    gen.add_iq_handler('ejabberd_sm', 'example.com', NS, (_f, to, request) => {
      seen.push(`sm ${to.toString()}`);
      return iq_result(request);
    });
    gen.add_iq_handler('ejabberd_local', 'other.example', NS, (_f, _t, request) => {
      seen.push('other host');
      return iq_result(request);
    });
    send(iq('u1', 'get'), JULIET);
    send(iq('s1', 'get'), SERVER);
    expect(seen).toEqual(['sm juliet@example.com']);
    expect(replies(received)).toEqual([
      ['u1', 'result', ''],
      ['s1', 'error', 'service-unavailable'],
    ]);
    expect(received[0].from.toString()).toBe('juliet@example.com');
  });

  it('matches the host as to.lserver spells it (nameprep)', () => {
    const { gen, received, send } = setup();
    gen.add_iq_handler('ejabberd_local', 'Example.COM', NS, (_f, _t, request) => iq_result(request));
    send(iq('h1', 'get'));
    expect(replies(received)).toEqual([['h1', 'result', '']]);
    expect(gen.namespaces('ejabberd_local', 'EXAMPLE.com')).toEqual([NS]);
  });

  it("'ignore' sends nothing, sync or async", async () => {
    const { gen, received, send } = setup();
    const handled: string[] = [];
    gen.add_iq_handler('ejabberd_local', 'example.com', NS, (_f, _t, request) => {
      handled.push(request.id);
      return 'ignore';
    });
    gen.add_iq_handler(
      'ejabberd_local',
      'example.com',
      'urn:example:async',
      async (_f, _t, request): Promise<'ignore'> => {
        handled.push(request.id);
        return 'ignore';
      },
    );
    send(iq('i1', 'get'));
    send(iq('i2', 'get', [query('urn:example:async')]));
    await tick();
    await tick();
    expect(handled).toEqual(['i1', 'i2']);
    expect(received).toEqual([]);
  });

  it('ends the packet trace at the handler that takes the IQ', async () => {
    const { gen, log, send } = setup({ trace: true });
    gen.add_iq_handler(
      'ejabberd_local',
      'example.com',
      NS,
      (_f, _t, request) => iq_result(request),
      'one_queue',
    );
    gen.add_iq_handler('ejabberd_local', 'example.com', 'urn:example:q', (_f, _t, r) => iq_result(r), [
      'queues',
      2,
    ]);
    send(iq('t1', 'get'));
    send(iq('t2', 'get', [query('urn:example:q')]));
    send(iq('t3', 'result'));
    send(iq('t4', 'get', [query('urn:example:none')]));
    await tick();
    const traces = log.lines.filter((l) => l.startsWith('[info] trace: iq romeo@client.example/orchard'));
    expect(traces).toEqual([
      `[info] trace: iq romeo@client.example/orchard -> example.com: router -> gen_iq_handler ejabberd_local ${NS} (one_queue)`,
      '[info] trace: iq romeo@client.example/orchard -> example.com: router -> gen_iq_handler ejabberd_local urn:example:q (queues 2)',
      '[info] trace: iq romeo@client.example/orchard -> example.com: router -> gen_iq_handler ejabberd_local (dropped: an IQ result is never answered)',
      '[info] trace: iq romeo@client.example/orchard -> example.com: router -> gen_iq_handler ejabberd_local urn:example:none (bounced: service-unavailable)',
    ]);
  });
});

describe('GenIqHandler: IQs that are not requests, or that nobody handles', () => {
  it('never answers a result or an error, even with a handler for its namespace', async () => {
    const { gen, received, send } = setup();
    const handler = vi.fn<IqHandler>((_f, _t, request) => iq_result(request));
    gen.add_iq_handler('ejabberd_local', 'example.com', NS, handler);
    send(iq('r1', 'result'));
    send(iq('r2', 'error', [query(), stanza_error('item-not-found')]));
    send(iq('r3', 'result', []));
    send(iq(undefined, 'result', []));
    send(iq(undefined, 'error', [stanza_error('item-not-found')]));
    await tick();
    expect(handler).not.toHaveBeenCalled();
    expect(received).toEqual([]);
  });

  it.each([
    ['no payload', iq('b1', 'get', []), 'b1', 'exactly one payload element, not 0'],
    ['two payloads', iq('b2', 'set', [query(), query('urn:example:other')]), 'b2', 'not 2'],
    ['no id', iq(undefined, 'get'), undefined, 'must have an id'],
    ['an unknown type', iq('b4', 'fetch'), 'b4', "type 'fetch'"],
  ])('answers bad-request to an IQ with %s', (_what, packet, id, text) => {
    const { gen, received, send } = setup();
    const handler = vi.fn<IqHandler>((_f, _t, request) => iq_result(request));
    gen.add_iq_handler('ejabberd_local', 'example.com', NS, handler);
    gen.add_iq_handler('ejabberd_local', 'example.com', 'urn:example:other', handler);
    send(packet);
    expect(handler).not.toHaveBeenCalled();
    expect(replies(received)).toEqual([[id, 'error', 'bad-request']]);
    expect(errorText(received[0].packet)).toContain(text);
    expect(received[0].to.toString()).toBe('romeo@client.example/orchard');
  });

  it('answers bad-request to a packet that is not an IQ', () => {
    const { gen, received } = setup();
    gen.handle('ejabberd_local', ROMEO, SERVER, ['xmlelement', 'message', [['id', 'm1']], []]);
    expect(received.map((r) => [r.packet[1], stanza_type(r.packet), error_condition(r.packet)])).toEqual([
      ['message', 'error', 'bad-request'],
    ]);
  });

  it('answers service-unavailable when no handler has the namespace', () => {
    const { gen, received, send } = setup();
    gen.add_iq_handler('ejabberd_sm', 'example.com', NS, (_f, _t, request) => iq_result(request));
    send(iq('n1', 'get', [query('urn:example:unknown')]));
    send(iq('n2', 'get')); // NS is handled on ejabberd_sm, not ejabberd_local
    expect(replies(received)).toEqual([
      ['n1', 'error', 'service-unavailable'],
      ['n2', 'error', 'service-unavailable'],
    ]);
    // The error reply carries the request's payload back (RFC 6120 section 8.3.1).
    expect(received[0].packet[3][0]).toEqual(query('urn:example:unknown'));
  });
});

describe('GenIqHandler: registrations', () => {
  it('remove_iq_handler: later IQs get service-unavailable, IQs already queued still get their answer', async () => {
    const { gen, received, send } = setup();
    const gate = deferred<void>();
    gen.add_iq_handler(
      'ejabberd_local',
      'example.com',
      NS,
      async (_f, _t, request) => {
        await gate.promise;
        return iq_result(request);
      },
      'one_queue',
    );
    expect(gen.namespaces('ejabberd_local', 'example.com')).toEqual([NS]);
    send(iq('x1', 'get'));
    send(iq('x2', 'get'));
    send(iq('x3', 'get'));
    await tick();
    gen.remove_iq_handler('ejabberd_local', 'example.com', NS);
    expect(gen.namespaces('ejabberd_local', 'example.com')).toEqual([]);
    send(iq('x4', 'get'));
    expect(replies(received)).toEqual([['x4', 'error', 'service-unavailable']]);
    gate.resolve();
    await vi.waitFor(() => expect(received).toHaveLength(4));
    expect(replies(received).slice(1)).toEqual([
      ['x1', 'result', ''],
      ['x2', 'result', ''],
      ['x3', 'result', ''],
    ]);
    // Removing what is not there is harmless.
    gen.remove_iq_handler('ejabberd_local', 'example.com', NS);
    gen.remove_iq_handler('ejabberd_sm', 'nowhere.example', NS);
  });

  it('adding again replaces the handler, with a warning', () => {
    const { gen, log, received, send } = setup();
    gen.add_iq_handler('ejabberd_local', 'example.com', NS, (_f, _t, r) => iq_error(r, stanza_error('gone')));
    gen.add_iq_handler('ejabberd_local', 'example.com', NS, (_f, _t, r) => iq_result(r));
    send(iq('p1', 'get'));
    expect(replies(received)).toEqual([['p1', 'result', '']]);
    expect(gen.namespaces('ejabberd_local', 'example.com')).toEqual([NS]);
    expect(log.lines).toContain(
      `[warning] gen_iq_handler: replacing the handler for ${NS} on ejabberd_local example.com`,
    );
  });

  it('namespaces lists the handlers of one component and host', () => {
    const { gen } = setup();
    const h: IqHandler = (_f, _t, r) => iq_result(r);
    gen.add_iq_handler('ejabberd_local', 'example.com', 'jabber:iq:version', h);
    gen.add_iq_handler('ejabberd_local', 'example.com', 'jabber:iq:last', h, 'parallel');
    gen.add_iq_handler('ejabberd_sm', 'example.com', 'jabber:iq:roster', h);
    gen.add_iq_handler('ejabberd_local', 'other.example', 'urn:xmpp:ping', h);
    expect(gen.namespaces('ejabberd_local', 'example.com').sort()).toEqual([
      'jabber:iq:last',
      'jabber:iq:version',
    ]);
    expect(gen.namespaces('ejabberd_sm', 'example.com')).toEqual(['jabber:iq:roster']);
    expect(gen.namespaces('ejabberd_sm', 'other.example')).toEqual([]);
  });

  it("rejects ['queues', N] unless N is a positive integer, and unknown disciplines", () => {
    const { gen } = setup();
    const h: IqHandler = (_f, _t, r) => iq_result(r);
    expect(() => gen.add_iq_handler('ejabberd_local', 'example.com', NS, h, ['queues', 0])).toThrow(
      RangeError,
    );
    expect(() => gen.add_iq_handler('ejabberd_local', 'example.com', NS, h, ['queues', 0])).toThrow(
      /\['queues', N\] needs N to be a positive integer, not 0/,
    );
    expect(() => gen.add_iq_handler('ejabberd_local', 'example.com', NS, h, ['queues', -2])).toThrow(
      RangeError,
    );
    expect(() => gen.add_iq_handler('ejabberd_local', 'example.com', NS, h, ['queues', 1.5])).toThrow(
      RangeError,
    );
    expect(() => gen.add_iq_handler('ejabberd_local', 'example.com', NS, h, ['queues', Number.NaN])).toThrow(
      RangeError,
    );
    expect(() =>
      gen.add_iq_handler('ejabberd_local', 'example.com', NS, h, 'two_queues' as unknown as 'one_queue'),
    ).toThrow(RangeError);
    // Nothing was registered by the failed calls.
    expect(gen.namespaces('ejabberd_local', 'example.com')).toEqual([]);
    expect(() => gen.add_iq_handler('ejabberd_local', 'example.com', NS, h, ['queues', 1])).not.toThrow();
  });

  it('rejects a bad timeout or maxQueue', () => {
    const { router, log } = setup();
    const trace = new PacketTrace(log, false);
    expect(() => new GenIqHandler({ router, log, trace, maxQueue: 0 })).toThrow(RangeError);
    expect(() => new GenIqHandler({ router, log, trace, timeout: -1 })).toThrow(RangeError);
    expect(() => new GenIqHandler({ router, log, trace, timeout: Number.POSITIVE_INFINITY })).not.toThrow();
  });
});

describe('GenIqHandler: disciplines', () => {
  it('one_queue runs one IQ at a time, in arrival order, under handlers of random delay', async () => {
    const { gen, received, send } = setup();
    const { state, track } = concurrency();
    gen.add_iq_handler(
      'ejabberd_local',
      'example.com',
      NS,
      (_f, _t, r) => track(r, randomDelay),
      'one_queue',
    );
    const sent = ids(25);
    for (const id of sent) send(iq(id, 'get'));
    // The queue is drained after the router's call, as a queue process takes its messages later.
    expect(received).toHaveLength(0);
    await vi.waitFor(() => expect(received).toHaveLength(sent.length));
    expect(state.max).toBe(1);
    expect(state.started).toEqual(sent);
    expect(received.map((r) => attr(r.packet, 'id'))).toEqual(sent);
  });

  it('one_queue keeps order across sync and async answers', async () => {
    const { gen, received, send } = setup();
    gen.add_iq_handler(
      'ejabberd_local',
      'example.com',
      NS,
      (_f, _t, r) => (Number(r.id.slice(1)) % 2 === 0 ? iq_result(r) : sleep(3).then(() => iq_result(r))),
      'one_queue',
    );
    const sent = ids(10);
    for (const id of sent) send(iq(id, 'get'));
    await vi.waitFor(() => expect(received).toHaveLength(sent.length));
    expect(received.map((r) => attr(r.packet, 'id'))).toEqual(sent);
  });

  it('one_queue drains a long run of sync answers completely', async () => {
    const { gen, received, send } = setup();
    gen.add_iq_handler('ejabberd_local', 'example.com', NS, (_f, _t, r) => iq_result(r), 'one_queue');
    const sent = ids(500);
    for (const id of sent) send(iq(id, 'get'));
    await vi.waitFor(() => expect(received).toHaveLength(sent.length));
    expect(received.map((r) => attr(r.packet, 'id'))).toEqual(sent);
  });

  it('parallel runs every IQ at once, each answered on its own', async () => {
    const { gen, received, send } = setup();
    const { state, track } = concurrency();
    const gates = new Map<string, ReturnType<typeof deferred<void>>>();
    gen.add_iq_handler(
      'ejabberd_local',
      'example.com',
      NS,
      (_f, _t, r) => {
        const gate = deferred<void>();
        gates.set(r.id, gate);
        return track(r, () => gate.promise);
      },
      'parallel',
    );
    const sent = ids(10);
    for (const id of sent) send(iq(id, 'get'));
    expect(state.started).toEqual([]);
    await vi.waitFor(() => expect(state.started).toHaveLength(10));
    expect(state.max).toBe(10);
    // Answers go out as each handler finishes, whatever the arrival order.
    for (const id of [...sent].reverse()) gates.get(id)!.resolve();
    await vi.waitFor(() => expect(received).toHaveLength(10));
    expect(received.map((r) => attr(r.packet, 'id'))).toEqual([...sent].reverse());
  });

  it('parallel overlaps handlers of random delay', async () => {
    const { gen, received, send } = setup();
    const { state, track } = concurrency();
    gen.add_iq_handler('ejabberd_local', 'example.com', NS, (_f, _t, r) => track(r, randomDelay), 'parallel');
    for (const id of ids(20)) send(iq(id, 'get'));
    await vi.waitFor(() => expect(received).toHaveLength(20));
    expect(state.max).toBeGreaterThan(1);
    expect(new Set(received.map((r) => attr(r.packet, 'id')))).toEqual(new Set(ids(20)));
  });

  it("['queues', 3] runs at most 3 at once, dealing IQs to the queues in turn", async () => {
    const { gen, received, send } = setup();
    const { state, track } = concurrency();
    const gates = new Map<string, ReturnType<typeof deferred<void>>>();
    gen.add_iq_handler(
      'ejabberd_local',
      'example.com',
      NS,
      (_f, _t, r) => {
        const gate = deferred<void>();
        gates.set(r.id, gate);
        return track(r, () => gate.promise);
      },
      ['queues', 3],
    );
    const sent = ids(9); // queue k gets q{k}, q{k+3}, q{k+6}
    for (const id of sent) send(iq(id, 'get'));
    await vi.waitFor(() => expect(state.started).toEqual(['q0', 'q1', 'q2']));
    await tick();
    expect(state.started).toEqual(['q0', 'q1', 'q2']);
    // Finishing q1 frees its queue only: q4 starts, q3 (queue 0) still waits for q0.
    gates.get('q1')!.resolve();
    await vi.waitFor(() => expect(state.started).toEqual(['q0', 'q1', 'q2', 'q4']));
    await tick();
    expect(state.started).toHaveLength(4);
    gates.get('q0')!.resolve();
    await vi.waitFor(() => expect(state.started).toContain('q3'));
    // Let everything through: release whatever has started until all nine are answered.
    await vi.waitFor(() => {
      for (const gate of gates.values()) gate.resolve();
      expect(received).toHaveLength(9);
    });
    expect(state.max).toBe(3);
    expect(replies(received).every(([, type]) => type === 'result')).toBe(true);
  });

  it("['queues', 4] keeps order within each queue under handlers of random delay", async () => {
    const { gen, received, send } = setup();
    const { state, track } = concurrency();
    gen.add_iq_handler('ejabberd_local', 'example.com', NS, (_f, _t, r) => track(r, randomDelay), [
      'queues',
      4,
    ]);
    const sent = ids(40);
    for (const id of sent) send(iq(id, 'get'));
    await vi.waitFor(() => expect(received).toHaveLength(sent.length));
    expect(state.max).toBeLessThanOrEqual(4);
    expect(state.max).toBeGreaterThan(1);
    const answered = received.map((r) => Number(attr(r.packet, 'id')!.slice(1)));
    for (let k = 0; k < 4; k++) {
      const queue = answered.filter((n) => n % 4 === k);
      expect(queue).toEqual(sent.map((_, n) => n).filter((n) => n % 4 === k));
    }
  });
});

describe('GenIqHandler: failing and slow handlers', () => {
  const failing: IqHandler = (_f, _t, r) => {
    if (r.id === 'bad') throw new Error('handler exploded');
    return iq_result(r);
  };
  const rejecting: IqHandler = async (_f, _t, r) => {
    await sleep(1);
    if (r.id === 'bad') throw new Error('handler rejected');
    return iq_result(r);
  };

  it.each([
    ['throws', 'no_queue', failing, 'handler exploded'],
    ['throws', 'one_queue', failing, 'handler exploded'],
    ['throws', 'parallel', failing, 'handler exploded'],
    ['rejects', 'no_queue', rejecting, 'handler rejected'],
    ['rejects', 'one_queue', rejecting, 'handler rejected'],
    ['rejects', 'queues', rejecting, 'handler rejected'],
  ] as const)(
    'a handler that %s (%s) gets internal-server-error, the other IQs are unaffected',
    async (_w, disc, handler, message) => {
      const { gen, log, received, send } = setup();
      gen.add_iq_handler(
        'ejabberd_local',
        'example.com',
        NS,
        handler,
        disc === 'queues' ? ['queues', 2] : disc,
      );
      send(iq('ok1', 'get'));
      send(iq('bad', 'get'));
      send(iq('ok2', 'get'));
      await vi.waitFor(() => expect(received).toHaveLength(3));
      const byId = new Map(replies(received).map(([id, type, condition]) => [id, [type, condition]]));
      expect(byId.get('ok1')).toEqual(['result', '']);
      expect(byId.get('ok2')).toEqual(['result', '']);
      expect(byId.get('bad')).toEqual(['error', 'internal-server-error']);
      const bad = received.find((r) => attr(r.packet, 'id') === 'bad')!;
      expect(bad.to.toString()).toBe('romeo@client.example/orchard');
      const errors = log.lines.filter((l) => l.startsWith('[error]'));
      expect(errors).toHaveLength(1);
      expect(errors[0]).toContain(NS);
      expect(errors[0]).toContain('romeo@client.example/orchard');
      expect(errors[0]).toContain('id=bad');
      expect(errors[0]).toContain(message);
      // The handler still serves later IQs.
      send(iq('ok3', 'get'));
      await vi.waitFor(() => expect(received).toHaveLength(4));
      expect(replies(received)[3]).toEqual(['ok3', 'result', '']);
    },
  );

  it('a handler returning something other than an #iq{} gets internal-server-error', () => {
    const { gen, log, received, send } = setup();
    gen.add_iq_handler('ejabberd_local', 'example.com', NS, (() => undefined) as unknown as IqHandler);
    send(iq('u1', 'get'));
    expect(replies(received)).toEqual([['u1', 'error', 'internal-server-error']]);
    expect(log.lines.some((l) => l.startsWith('[error]') && l.includes('id=u1'))).toBe(true);
  });

  it.each(['no_queue', 'one_queue', 'parallel'] as const)(
    'a handler slower than the timeout (%s) gets internal-server-error; its late answer is dropped',
    async (disc) => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      const { gen, log, received, send } = setup({ timeout: 50 });
      const late = deferred<Iq>();
      gen.add_iq_handler(
        'ejabberd_local',
        'example.com',
        NS,
        (_f, _t, r) => (r.id === 'slow' ? late.promise.then(() => iq_result(r)) : iq_result(r)),
        disc,
      );
      send(iq('slow', 'get'));
      send(iq('fast', 'get'));
      await tick();
      await tick();
      // one_queue: 'fast' waits behind 'slow'; the others answer it at once.
      expect(replies(received)).toEqual(disc === 'one_queue' ? [] : [['fast', 'result', '']]);
      await vi.advanceTimersByTimeAsync(49);
      expect(replies(received).filter(([id]) => id === 'slow')).toEqual([]);
      await vi.advanceTimersByTimeAsync(1);
      await tick();
      await tick();
      const byId = new Map(replies(received).map(([id, type, condition]) => [id, [type, condition]]));
      expect(byId.get('slow')).toEqual(['error', 'internal-server-error']);
      expect(byId.get('fast')).toEqual(['result', '']);
      const slow = received.find((r) => attr(r.packet, 'id') === 'slow')!;
      expect(errorText(slow.packet)).toMatch(/timed out/);
      expect(
        log.lines.some((l) => l.startsWith('[error]') && l.includes('id=slow') && l.includes('50 ms')),
      ).toBe(true);
      // The late answer is logged and dropped: the sender got exactly one reply.
      late.resolve(iq_result({ id: 'slow', type: 'get', xmlns: NS, lang: '', sub_el: [] }));
      await tick();
      await tick();
      expect(received.filter((r) => attr(r.packet, 'id') === 'slow')).toHaveLength(1);
      expect(received).toHaveLength(2);
      expect(
        log.lines.some(
          (l) => l.startsWith('[warning]') && l.includes('late answer') && l.includes('id=slow'),
        ),
      ).toBe(true);
    },
  );

  it('a late rejection after the timeout is logged, not answered again', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { gen, log, received, send } = setup({ timeout: 50 });
    const late = deferred<Iq>();
    gen.add_iq_handler('ejabberd_local', 'example.com', NS, () => late.promise);
    send(iq('slow', 'get'));
    await vi.advanceTimersByTimeAsync(50);
    expect(replies(received)).toEqual([['slow', 'error', 'internal-server-error']]);
    late.reject(new Error('gave up'));
    await tick();
    expect(received).toHaveLength(1);
    expect(
      log.lines.some((l) => l.startsWith('[warning]') && l.includes('gave up') && l.includes('id=slow')),
    ).toBe(true);
  });
});

describe('GenIqHandler: bounded queues', () => {
  it('one_queue answers resource-constraint beyond maxQueue waiting IQs, and serves the rest', async () => {
    const { gen, log, received, send } = setup({ maxQueue: 2 });
    const gate = deferred<void>();
    gen.add_iq_handler(
      'ejabberd_local',
      'example.com',
      NS,
      async (_f, _t, r) => {
        await gate.promise;
        return iq_result(r);
      },
      'one_queue',
    );
    send(iq('o1', 'get'));
    await tick(); // o1 is running; the queue is empty again
    send(iq('o2', 'get'));
    send(iq('o3', 'get'));
    send(iq('o4', 'get'));
    send(iq('o5', 'get'));
    expect(replies(received)).toEqual([
      ['o4', 'error', 'resource-constraint'],
      ['o5', 'error', 'resource-constraint'],
    ]);
    expect(log.lines.some((l) => l.startsWith('[warning]') && l.includes('id=o4') && l.includes(NS))).toBe(
      true,
    );
    gate.resolve();
    await vi.waitFor(() => expect(received).toHaveLength(5));
    expect(replies(received).slice(2)).toEqual([
      ['o1', 'result', ''],
      ['o2', 'result', ''],
      ['o3', 'result', ''],
    ]);
    // With room again, the queue takes IQs again.
    send(iq('o6', 'get'));
    await vi.waitFor(() => expect(received).toHaveLength(6));
    expect(replies(received)[5]).toEqual(['o6', 'result', '']);
  });

  it.each(['parallel', 'no_queue'] as const)(
    '%s answers resource-constraint beyond maxQueue pending answers',
    async (disc) => {
      const { gen, received, send } = setup({ maxQueue: 2 });
      const gate = deferred<void>();
      gen.add_iq_handler(
        'ejabberd_local',
        'example.com',
        NS,
        async (_f, _t, r) => {
          await gate.promise;
          return iq_result(r);
        },
        disc,
      );
      send(iq('p1', 'get'));
      send(iq('p2', 'get'));
      send(iq('p3', 'get'));
      expect(replies(received)).toEqual([['p3', 'error', 'resource-constraint']]);
      gate.resolve();
      await vi.waitFor(() => expect(received).toHaveLength(3));
      send(iq('p4', 'get'));
      await vi.waitFor(() => expect(received).toHaveLength(4));
      expect(replies(received).slice(1)).toEqual([
        ['p1', 'result', ''],
        ['p2', 'result', ''],
        ['p4', 'result', ''],
      ]);
    },
  );

  it('a sync no_queue handler is never limited by maxQueue', () => {
    const { gen, received, send } = setup({ maxQueue: 1 });
    gen.add_iq_handler('ejabberd_local', 'example.com', NS, (_f, _t, r) => iq_result(r));
    for (const id of ids(5)) send(iq(id, 'get'));
    expect(replies(received).map(([, type]) => type)).toEqual([
      'result',
      'result',
      'result',
      'result',
      'result',
    ]);
  });
});

describe('GenIqHandler: error replies', () => {
  it('carry the stanza error namespace', () => {
    const { received, send } = setup();
    send(iq('z1', 'get'));
    const error = received[0].packet[3].find(
      (c): c is XmlElement => c[0] === 'xmlelement' && c[1] === 'error',
    )!;
    expect(error[3][0]).toEqual(['xmlelement', 'service-unavailable', [['xmlns', NS_STANZAS]], []]);
  });
});
