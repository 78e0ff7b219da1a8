import type { Jid } from '@tsjabberd/jid';
import type { XmlElement } from '@tsjabberd/xml-stanza';
import { describe, expect, it } from 'vitest';
import { type Iq, iq_result } from '../src/iq.js';
import {
  attr,
  condition,
  connect,
  el,
  iq,
  message,
  NS_STANZAS,
  presence,
  send,
  settle,
  startNode,
} from './helpers.js';

const NS_VERSION = 'jabber:iq:version';

describe('ejabberd_local: destinations with a user part go to the session manager', () => {
  it('a message to user@host/resource reaches that session', async () => {
    const { node } = await startNode();
    const bob = connect(node, 'bob@localhost/pc', 1);
    const packet = message({ type: 'chat', body: 'hi' });
    send(node, 'alice@localhost/phone', 'bob@localhost/pc', packet);
    expect(bob.process.received).toHaveLength(1);
    expect(bob.process.received[0].packet).toBe(packet);
  });

  it('an IQ to user@host goes to the ejabberd_sm handlers, not the ejabberd_local ones', async () => {
    const { node } = await startNode();
    const alice = connect(node, 'alice@localhost/phone', 1);
    const calls: string[] = [];
    node.gen_iq_handler.add_iq_handler('ejabberd_local', 'localhost', NS_VERSION, (_f, _t, q) => {
      calls.push('local');
      return iq_result(q);
    });
    node.gen_iq_handler.add_iq_handler('ejabberd_sm', 'localhost', NS_VERSION, (_f, _t, q) => {
      calls.push('sm');
      return iq_result(q);
    });
    send(node, 'alice@localhost/phone', 'bob@localhost', iq({ ns: NS_VERSION }));
    await settle();
    expect(calls).toEqual(['sm']);
    expect(alice.process.received.map((r) => attr(r.packet, 'type'))).toEqual(['result']);
  });
});

describe("ejabberd_local: IQs to the server's own JID", () => {
  it('go to the handler registered for their namespace on ejabberd_local, whose result returns to the sender', async () => {
    const { node } = await startNode();
    const alice = connect(node, 'alice@localhost/phone', 1);
    const seen: [string, string, Iq][] = [];
    node.gen_iq_handler.add_iq_handler(
      'ejabberd_local',
      'localhost',
      NS_VERSION,
      (from: Jid, to: Jid, q: Iq) => {
        seen.push([from.toString(), to.toString(), q]);
        return iq_result(q, [
          el('query', [['xmlns', NS_VERSION]], [el('name', [], [['xmlcdata', 'tsjabberd']])]),
        ]);
      },
    );
    send(
      node,
      'alice@localhost/phone',
      'localhost',
      iq({ id: 'v1', ns: NS_VERSION, from: 'alice@localhost/phone', to: 'localhost' }),
    );
    await settle();
    expect(seen).toHaveLength(1);
    expect(seen[0][0]).toBe('alice@localhost/phone');
    expect(seen[0][1]).toBe('localhost');
    expect(seen[0][2]).toMatchObject({ id: 'v1', type: 'get', xmlns: NS_VERSION });
    expect(alice.process.received.map((r) => [r.from, r.to, r.xml])).toEqual([
      [
        'localhost',
        'alice@localhost/phone',
        `<iq id='v1' type='result'><query xmlns='${NS_VERSION}'><name>tsjabberd</name></query></iq>`,
      ],
    ]);
  });

  it('an IQ nobody handles gets service-unavailable, with the query kept', async () => {
    const { node } = await startNode();
    const alice = connect(node, 'alice@localhost/phone', 1);
    send(
      node,
      'alice@localhost/phone',
      'localhost',
      iq({ id: 'q1', ns: 'urn:nobody', from: 'alice@localhost/phone', to: 'localhost' }),
    );
    await settle();
    expect(alice.process.received).toHaveLength(1);
    const reply = alice.process.received[0];
    expect(reply.from).toBe('localhost');
    expect(attr(reply.packet, 'id')).toBe('q1');
    expect(attr(reply.packet, 'type')).toBe('error');
    expect(attr(reply.packet, 'to')).toBe('alice@localhost/phone');
    expect(attr(reply.packet, 'from')).toBe('localhost');
    expect(condition(reply.packet)).toBe('service-unavailable');
    expect(reply.xml).toContain("<query xmlns='urn:nobody'/><error type='cancel'><service-unavailable");
  });

  it('a handler on the ejabberd_sm component does not answer IQs to the server', async () => {
    const { node } = await startNode();
    const alice = connect(node, 'alice@localhost/phone', 1);
    node.gen_iq_handler.add_iq_handler('ejabberd_sm', 'localhost', NS_VERSION, (_f, _t, q) => iq_result(q));
    send(node, 'alice@localhost/phone', 'localhost', iq({ ns: NS_VERSION }));
    await settle();
    expect(alice.process.received.map((r) => condition(r.packet))).toEqual(['service-unavailable']);
  });

  it('a handler on another virtual host does not answer IQs to this one', async () => {
    const { node } = await startNode({ hosts: ['localhost', 'other.test'] });
    const alice = connect(node, 'alice@localhost/phone', 1);
    node.gen_iq_handler.add_iq_handler('ejabberd_local', 'other.test', NS_VERSION, (_f, _t, q) =>
      iq_result(q),
    );
    send(node, 'alice@localhost/phone', 'localhost', iq({ ns: NS_VERSION }));
    send(node, 'alice@localhost/phone', 'other.test', iq({ ns: NS_VERSION, id: 'o1' }));
    await settle();
    expect(alice.process.received.map((r) => [r.from, attr(r.packet, 'type')])).toEqual([
      ['localhost', 'error'],
      ['other.test', 'result'],
    ]);
  });

  it('an IQ result or error to the server is never answered', async () => {
    const { node } = await startNode();
    const alice = connect(node, 'alice@localhost/phone', 1);
    send(node, 'alice@localhost/phone', 'localhost', iq({ type: 'result', payload: [] }));
    send(node, 'alice@localhost/phone', 'localhost', iq({ type: 'error', ns: NS_VERSION }));
    await settle();
    expect(alice.process.received).toHaveLength(0);
  });
});

describe('ejabberd_local: other packets to the server go to local_send_to_resource_hook', () => {
  it('with no module: a message to the server is answered item-not-found', async () => {
    const { node } = await startNode();
    const alice = connect(node, 'alice@localhost/phone', 1);
    send(
      node,
      'alice@localhost/phone',
      'localhost',
      message({ id: 'm1', from: 'alice@localhost/phone', to: 'localhost', type: 'chat', body: 'hi' }),
    );
    await settle();
    expect(alice.process.received).toHaveLength(1);
    const reply = alice.process.received[0];
    expect(reply.from).toBe('localhost');
    expect(reply.to).toBe('alice@localhost/phone');
    expect(reply.xml).toBe(
      `<message id='m1' to='alice@localhost/phone' from='localhost' type='error'><body>hi</body><error type='cancel'><item-not-found xmlns='${NS_STANZAS}'/><text xmlns='${NS_STANZAS}' xml:lang='en'>No available resource found</text></error></message>`,
    );
  });

  it('with no module: a normal message (no type) to the server is answered item-not-found', async () => {
    const { node } = await startNode();
    const alice = connect(node, 'alice@localhost/phone', 1);
    send(node, 'alice@localhost/phone', 'localhost', message());
    await settle();
    expect(alice.process.received.map((r) => condition(r.packet))).toEqual(['item-not-found']);
  });

  it('with no module: a message to a resource of the server is answered item-not-found', async () => {
    const { node } = await startNode();
    const alice = connect(node, 'alice@localhost/phone', 1);
    send(node, 'alice@localhost/phone', 'localhost/announce', message({ type: 'chat' }));
    await settle();
    expect(alice.process.received.map((r) => [r.from, condition(r.packet)])).toEqual([
      ['localhost/announce', 'item-not-found'],
    ]);
  });

  it('with no module: presence to the server is dropped', async () => {
    const { node } = await startNode();
    const alice = connect(node, 'alice@localhost/phone', 1);
    send(node, 'alice@localhost/phone', 'localhost', presence());
    send(node, 'alice@localhost/phone', 'localhost', presence({ type: 'subscribe' }));
    send(node, 'alice@localhost/phone', 'localhost', presence({ type: 'probe' }));
    await settle();
    expect(alice.process.received).toHaveLength(0);
  });

  it('with no module: a headline to the server is dropped', async () => {
    const { node } = await startNode();
    const alice = connect(node, 'alice@localhost/phone', 1);
    send(node, 'alice@localhost/phone', 'localhost', message({ type: 'headline' }));
    await settle();
    expect(alice.process.received).toHaveLength(0);
  });

  it('with no module: error and result stanzas to the server are dropped', async () => {
    const { node } = await startNode();
    const alice = connect(node, 'alice@localhost/phone', 1);
    const calls: unknown[] = [];
    node.ejabberd_hooks.add('local_send_to_resource_hook', 'localhost', (...args: unknown[]) => {
      calls.push(args);
    });
    send(node, 'alice@localhost/phone', 'localhost', message({ type: 'error' }));
    send(node, 'alice@localhost/phone', 'localhost/res', message({ type: 'error' }));
    send(node, 'alice@localhost/phone', 'localhost', presence({ type: 'error' }));
    await settle();
    expect(alice.process.received).toHaveLength(0);
    // Dropped before the hook: no module sees them.
    expect(calls).toHaveLength(0);
  });

  it('a module on the hook gets (from, to, packet) and, returning stop, takes the packet: no bounce', async () => {
    const { node } = await startNode();
    const alice = connect(node, 'alice@localhost/phone', 1);
    const taken: [string, string, XmlElement][] = [];
    node.ejabberd_hooks.add(
      'local_send_to_resource_hook',
      'localhost',
      (from: Jid, to: Jid, packet: XmlElement) => {
        taken.push([from.toString(), to.toString(), packet]);
        return 'stop';
      },
    );
    const packet = message({ type: 'chat' });
    send(node, 'alice@localhost/phone', 'localhost', packet);
    await settle();
    expect(taken).toEqual([['alice@localhost/phone', 'localhost', packet]]);
    expect(alice.process.received).toHaveLength(0);
  });

  it('a module on the hook that does not stop the chain still leaves the bounce to the last function', async () => {
    const { node } = await startNode();
    const alice = connect(node, 'alice@localhost/phone', 1);
    let looked = 0;
    node.ejabberd_hooks.add('local_send_to_resource_hook', 'localhost', () => {
      looked++;
    });
    send(node, 'alice@localhost/phone', 'localhost', message({ type: 'chat' }));
    await settle();
    expect(looked).toBe(1);
    expect(alice.process.received.map((r) => condition(r.packet))).toEqual(['item-not-found']);
  });

  it('a module that answers the message itself and stops the chain: its answer is the only one', async () => {
    const { node } = await startNode();
    const alice = connect(node, 'alice@localhost/phone', 1);
    node.ejabberd_hooks.add('local_send_to_resource_hook', 'localhost', (from: Jid, to: Jid) => {
      node.ejabberd_router.route(to, from, message({ type: 'chat', body: 'auto-reply' }));
      return 'stop';
    });
    send(node, 'alice@localhost/phone', 'localhost', message({ type: 'chat' }));
    await settle();
    expect(alice.process.received.map((r) => r.xml)).toEqual([
      "<message type='chat'><body>auto-reply</body></message>",
    ]);
  });

  it('after node.stop() the bounce function is gone from the hook and the host is not routed', async () => {
    const { node } = await startNode();
    expect(node.ejabberd_hooks.count('local_send_to_resource_hook', 'localhost')).toBe(1);
    await node.stop();
    expect(node.ejabberd_hooks.count('local_send_to_resource_hook', 'localhost')).toBe(0);
    expect(node.ejabberd_router.is_my_route('localhost')).toBe(false);
  });
});

describe('ejabberd_local: the error element', () => {
  it('an unhandled IQ error reply is exactly the request with to/from swapped, type=error and the error appended', async () => {
    const { node } = await startNode();
    const alice = connect(node, 'alice@localhost/phone', 1);
    send(
      node,
      'alice@localhost/phone',
      'localhost',
      iq({ id: 'x1', type: 'set', from: 'alice@localhost/phone', to: 'localhost', ns: 'urn:x' }),
    );
    await settle();
    const xml = alice.process.received[0]?.xml ?? '';
    expect(
      xml.startsWith(
        `<iq id='x1' to='alice@localhost/phone' from='localhost' type='error'><query xmlns='urn:x'/>`,
      ),
    ).toBe(true);
    expect(xml).toContain(`<error type='cancel'><service-unavailable xmlns='${NS_STANZAS}'/>`);
    expect(xml.endsWith('</error></iq>')).toBe(true);
  });
});
