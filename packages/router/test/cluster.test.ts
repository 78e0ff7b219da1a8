import { describe, expect, it } from 'vitest';
import { MemoryCluster } from '../src/memory_cluster.js';
import { attr, condition, connect, message, RecordingRoute, send, settle, startNode } from './helpers.js';

/** Two nodes sharing one global route table: node a serves a.test, node b serves b.test. */
async function twoNodes() {
  const cluster = new MemoryCluster();
  const a = await startNode({ node: 'a@cluster', hosts: ['a.test'], global: cluster.global, cluster });
  const b = await startNode({ node: 'b@cluster', hosts: ['b.test'], global: cluster.global, cluster });
  cluster.join(a.node);
  cluster.join(b.node);
  return { cluster, a, b };
}

describe('ejabberd_router in a cluster: local table, then global table, then s2s', () => {
  it('both nodes see every domain in the shared global table', async () => {
    const { cluster } = await twoNodes();
    expect(await cluster.global.lookup('a.test')).toEqual(['a@cluster']);
    expect(await cluster.global.lookup('b.test')).toEqual(['b@cluster']);
  });

  it('a domain only in the global table, owned by another node, is routed to that node', async () => {
    const { a, b } = await twoNodes();
    const alice = connect(a.node, 'alice@a.test/phone', 1);
    const bob = connect(b.node, 'bob@b.test/pc', 1);
    expect(a.node.ejabberd_router.is_my_route('b.test')).toBe(false);
    send(a.node, 'alice@a.test/phone', 'bob@b.test/pc', message({ type: 'chat', body: 'across' }));
    await settle();
    expect(bob.process.received.map((r) => [r.from, r.to, r.xml])).toEqual([
      ['alice@a.test/phone', 'bob@b.test/pc', "<message type='chat'><body>across</body></message>"],
    ]);
    // And back: b routes to a the same way.
    send(b.node, 'bob@b.test/pc', 'alice@a.test/phone', message({ type: 'chat', body: 'back' }));
    await settle();
    expect(alice.process.received.map((r) => r.xml)).toEqual([
      "<message type='chat'><body>back</body></message>",
    ]);
  });

  it('a service registered with register_route on one node is reached from the other', async () => {
    const { a, b } = await twoNodes();
    const muc = new RecordingRoute();
    await b.node.ejabberd_router.register_route('muc.b.test', muc);
    send(a.node, 'alice@a.test/phone', 'room@muc.b.test', message({ type: 'groupchat' }));
    await settle();
    expect(muc.received.map((r) => [r.from, r.to])).toEqual([['alice@a.test/phone', 'room@muc.b.test']]);
  });

  it('a domain in the local table wins over the same domain in the global table', async () => {
    const { a, b } = await twoNodes();
    const onA = new RecordingRoute();
    const onB = new RecordingRoute();
    await b.node.ejabberd_router.register_route('shared.test', onB);
    a.node.ejabberd_router.register_local_route('shared.test', onA);
    send(a.node, 'alice@a.test/phone', 'shared.test', message({ body: 'from a' }));
    send(b.node, 'bob@b.test/pc', 'shared.test', message({ body: 'from b' }));
    await settle();
    expect(onA.received.map((r) => r.xml)).toEqual(['<message><body>from a</body></message>']);
    expect(onB.received.map((r) => r.xml)).toEqual(['<message><body>from b</body></message>']);
  });

  it('a domain in neither table goes to s2s, whose bounce reaches the sender on its own node', async () => {
    const { a, b } = await twoNodes();
    const alice = connect(a.node, 'alice@a.test/phone', 1);
    send(
      a.node,
      'alice@a.test/phone',
      'carol@c.test',
      message({ from: 'alice@a.test/phone', to: 'carol@c.test' }),
    );
    await settle();
    expect(alice.process.received.map((r) => [r.from, condition(r.packet)])).toEqual([
      ['carol@c.test', 'remote-server-not-found'],
    ]);
    // A sender on the other node: the packet goes to s2s on node b, the bounce across to node a.
    send(
      b.node,
      'alice@a.test/phone',
      'carol@c.test',
      message({ from: 'alice@a.test/phone', to: 'carol@c.test' }),
    );
    await settle();
    expect(alice.process.received).toHaveLength(2);
    expect(condition(alice.process.received[1].packet)).toBe('remote-server-not-found');
  });

  it('an error from another node is not bounced back across the cluster', async () => {
    const { a, b } = await twoNodes();
    const alice = connect(a.node, 'alice@a.test/phone', 1);
    send(b.node, 'alice@a.test/phone', 'carol@c.test', message({ type: 'error' }));
    await settle();
    expect(alice.process.received).toHaveLength(0);
  });

  it('a node that owns the domain but cannot be reached: the packet bounces service-unavailable', async () => {
    const { cluster, a, b } = await twoNodes();
    const alice = connect(a.node, 'alice@a.test/phone', 1);
    const bob = connect(b.node, 'bob@b.test/pc', 1);
    cluster.leave('b@cluster');
    send(
      a.node,
      'alice@a.test/phone',
      'bob@b.test/pc',
      message({ id: 'm1', from: 'alice@a.test/phone', to: 'bob@b.test/pc', type: 'chat' }),
    );
    await settle();
    expect(bob.process.received).toHaveLength(0);
    expect(alice.process.received.map((r) => [r.from, attr(r.packet, 'id'), condition(r.packet)])).toEqual([
      ['bob@b.test/pc', 'm1', 'service-unavailable'],
    ]);
  });

  it('a packet forwarded for a domain the receiving node no longer serves bounces service-unavailable', async () => {
    const { a, b } = await twoNodes();
    const alice = connect(a.node, 'alice@a.test/phone', 1);
    // Registered in the global table, then gone from b's local table (a race with a shutdown).
    const gone = new RecordingRoute();
    await b.node.ejabberd_router.register_route('gone.test', gone);
    b.node.ejabberd_router.unregister_local_route('gone.test');
    send(
      a.node,
      'alice@a.test/phone',
      'gone.test',
      message({ from: 'alice@a.test/phone', to: 'gone.test', type: 'chat' }),
    );
    await settle();
    expect(gone.received).toHaveLength(0);
    expect(alice.process.received.map((r) => [r.from, condition(r.packet)])).toEqual([
      ['gone.test', 'service-unavailable'],
    ]);
  });

  it('stopping a node withdraws its hosts from the global table', async () => {
    const { cluster, a, b } = await twoNodes();
    await b.node.stop();
    expect(await cluster.global.lookup('b.test')).toEqual([]);
    const alice = connect(a.node, 'alice@a.test/phone', 1);
    send(
      a.node,
      'alice@a.test/phone',
      'bob@b.test',
      message({ from: 'alice@a.test/phone', to: 'bob@b.test', type: 'chat' }),
    );
    await settle();
    expect(alice.process.received.map((r) => condition(r.packet))).toEqual(['remote-server-not-found']);
  });
});
