import { parse } from '@tsjabberd/jid';
import { describe, expect, it } from 'vitest';
import { GLOBAL } from '../src/ejabberd_hooks.js';
import type { FilterAcc } from '../src/ejabberd_router.js';
import { iq_result } from '../src/iq.js';
import type { MemoryLogger } from '../src/logger.js';
import { MemoryCluster } from '../src/memory_cluster.js';
import { PacketTrace } from '../src/trace.js';
import { connect, iq, message, presence, RecordingRoute, send, settle, startNode } from './helpers.js';

function traces(log: MemoryLogger): string[] {
  return log.lines.filter((l) => l.startsWith('[info] trace: '));
}

describe('packet trace', () => {
  it('a message to a session logs router -> local -> sm -> session', async () => {
    const { node, log } = await startNode({ trace: true });
    connect(node, 'alice@localhost/phone', 1);
    send(node, 'bob@localhost/pc', 'alice@localhost/phone', message({ type: 'chat' }));
    expect(traces(log)).toEqual([
      '[info] trace: message bob@localhost/pc -> alice@localhost/phone: router -> local -> sm -> session alice@localhost/phone',
    ]);
  });

  it('a message to a bare JID logs the session it was delivered to', async () => {
    const { node, log } = await startNode({ trace: true });
    connect(node, 'alice@localhost/phone', 1);
    connect(node, 'alice@localhost/pc', 5);
    send(node, 'bob@localhost/pc', 'alice@localhost', message({ type: 'chat' }));
    expect(traces(log)).toEqual([
      '[info] trace: message bob@localhost/pc -> alice@localhost: router -> local -> sm -> session alice@localhost/pc',
    ]);
  });

  it('an IQ handled by a handler logs the handler, and the reply its own path', async () => {
    const { node, log } = await startNode({ trace: true });
    connect(node, 'alice@localhost/phone', 1);
    node.gen_iq_handler.add_iq_handler('ejabberd_local', 'localhost', 'urn:xmpp:ping', (_f, _t, q) =>
      iq_result(q),
    );
    send(node, 'alice@localhost/phone', 'localhost', iq({ ns: 'urn:xmpp:ping' }));
    await settle();
    expect(traces(log)).toEqual([
      '[info] trace: iq alice@localhost/phone -> localhost: router -> local -> gen_iq_handler ejabberd_local urn:xmpp:ping (no_queue)',
      '[info] trace: iq localhost -> alice@localhost/phone: router -> local -> sm -> session alice@localhost/phone',
    ]);
  });

  it('an IQ to a bare JID logs the ejabberd_sm handler', async () => {
    const { node, log } = await startNode({ trace: true });
    node.gen_iq_handler.add_iq_handler('ejabberd_sm', 'localhost', 'vcard-temp', () => 'ignore');
    send(node, 'alice@localhost/phone', 'bob@localhost', iq({ ns: 'vcard-temp' }));
    await settle();
    expect(traces(log)).toEqual([
      '[info] trace: iq alice@localhost/phone -> bob@localhost: router -> local -> sm -> gen_iq_handler ejabberd_sm vcard-temp (no_queue)',
    ]);
  });

  it('an s2s bounce logs where it was bounced, and the bounce its way back', async () => {
    const { node, log } = await startNode({ trace: true });
    connect(node, 'alice@localhost/phone', 1);
    send(node, 'alice@localhost/phone', 'bob@remote.example', message({ type: 'chat' }));
    await settle();
    const lines = traces(log);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      /^\[info\] trace: message alice@localhost\/phone -> bob@remote\.example: router -> .*s2s \(bounced: remote-server-not-found for remote\.example\)$/,
    );
    expect(lines[1]).toBe(
      '[info] trace: message bob@remote.example -> alice@localhost/phone: router -> local -> sm -> session alice@localhost/phone',
    );
  });

  it('a session manager bounce logs its condition', async () => {
    const { node, log } = await startNode({ trace: true });
    send(node, 'alice@localhost/phone', 'bob@localhost/pc', iq({}));
    await settle();
    expect(traces(log)[0]).toBe(
      '[info] trace: iq alice@localhost/phone -> bob@localhost/pc: router -> local -> sm -> sm (bounced: service-unavailable)',
    );
  });

  it('the local bounce of a message to the server logs item-not-found', async () => {
    const { node, log } = await startNode({ trace: true });
    send(node, 'alice@localhost/phone', 'localhost', message({ type: 'chat' }));
    await settle();
    expect(traces(log)[0]).toBe(
      '[info] trace: message alice@localhost/phone -> localhost: router -> local -> local_send_to_resource_hook -> local (bounced: item-not-found)',
    );
  });

  it('a dropped packet logs why', async () => {
    const { node, log } = await startNode({ trace: true });
    send(node, 'alice@localhost/phone', 'localhost', presence());
    send(node, 'alice@localhost/phone', 'bob@localhost/pc', presence());
    expect(traces(log)).toEqual([
      '[info] trace: presence alice@localhost/phone -> localhost: router -> local -> local_send_to_resource_hook -> local (dropped: presence to localhost)',
      '[info] trace: presence alice@localhost/phone -> bob@localhost/pc: router -> local -> sm -> sm (dropped: presence to an offline resource)',
    ]);
  });

  it('a message taken by the offline hook logs the hook and its answer', async () => {
    const { node, log } = await startNode({ trace: true });
    node.ejabberd_hooks.add('offline_message_hook', 'localhost', () => 'stored');
    send(node, 'alice@localhost/phone', 'bob@localhost', message({ type: 'chat' }));
    expect(traces(log)).toEqual([
      '[info] trace: message alice@localhost/phone -> bob@localhost: router -> local -> sm -> offline_message_hook -> offline_message_hook (stored)',
    ]);
  });

  it('a packet dropped by filter_packet logs it', async () => {
    const { node, log } = await startNode({ trace: true });
    node.ejabberd_hooks.add('filter_packet', GLOBAL, () => 'drop');
    send(node, 'alice@localhost/phone', 'bob@localhost/pc', message());
    expect(traces(log)).toEqual([
      '[info] trace: message alice@localhost/phone -> bob@localhost/pc: router -> filter_packet (dropped)',
    ]);
  });

  it('a packet rewritten by filter_packet still logs its path', async () => {
    const { node, log } = await startNode({ trace: true });
    connect(node, 'bob@localhost/pc', 1);
    node.ejabberd_hooks.add('filter_packet', GLOBAL, (acc: FilterAcc): FilterAcc => {
      if (acc === 'drop') return acc;
      const [from, to, packet] = acc;
      return [from, to, ['xmlelement', packet[1], packet[2], []]];
    });
    send(node, 'alice@localhost/phone', 'bob@localhost/pc', message({ type: 'chat' }));
    const lines = traces(log);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^\[info\] trace: message alice@localhost\/phone -> bob@localhost\/pc: router -> .*session bob@localhost\/pc$/,
    );
  });

  it('a packet for a service route (not ejabberd_local) logs its path', async () => {
    const { node, log } = await startNode({ trace: true });
    node.ejabberd_router.register_local_route('echo.localhost', new RecordingRoute());
    send(node, 'alice@localhost/phone', 'echo.localhost', message());
    const lines = traces(log);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\[info\] trace: message alice@localhost\/phone -> echo\.localhost: router/);
  });

  it('across a cluster: the first node logs the node it sent the packet to, the second the rest of the path', async () => {
    const cluster = new MemoryCluster();
    const a = await startNode({
      node: 'a@cluster',
      hosts: ['a.test'],
      global: cluster.global,
      cluster,
      trace: true,
    });
    const b = await startNode({
      node: 'b@cluster',
      hosts: ['b.test'],
      global: cluster.global,
      cluster,
      trace: true,
    });
    cluster.join(a.node);
    cluster.join(b.node);
    connect(b.node, 'bob@b.test/pc', 1);
    send(a.node, 'alice@a.test/phone', 'bob@b.test/pc', message({ type: 'chat' }));
    await settle();
    expect(traces(a.log)).toEqual([
      '[info] trace: message alice@a.test/phone -> bob@b.test/pc: router -> cluster node b@cluster',
    ]);
    expect(traces(b.log)).toEqual([
      '[info] trace: message alice@a.test/phone -> bob@b.test/pc: router (from cluster) -> local -> sm -> session bob@b.test/pc',
    ]);
  });

  it('with trace off nothing is logged', async () => {
    const { node, log } = await startNode({ trace: false });
    connect(node, 'alice@localhost/phone', 1);
    send(node, 'bob@localhost/pc', 'alice@localhost/phone', message({ type: 'chat' }));
    send(node, 'bob@localhost/pc', 'nobody@remote.example', message({ type: 'chat' }));
    await settle();
    expect(traces(log)).toEqual([]);
  });

  it('PacketTrace alone: begin, steps and end make one line; a packet never begun logs nothing', () => {
    const lines: string[] = [];
    const logger = { debug() {}, info: (m: string) => lines.push(m), warning() {}, error() {} };
    const trace = new PacketTrace(logger, true);
    const packet = message();
    trace.begin(packet, parse('a@x/r'), parse('b@y'), 'router');
    trace.step(packet, 'local');
    trace.end(packet, 'done');
    trace.end(packet, 'again');
    trace.end(message(), 'never begun');
    expect(lines).toEqual(['trace: message a@x/r -> b@y: router -> local -> done']);
    trace.enabled = false;
    trace.begin(packet, parse('a@x/r'), parse('b@y'), 'router');
    trace.end(packet, 'off');
    expect(lines).toHaveLength(1);
  });
});
