import { parse } from '@tsjabberd/jid';
import { element_to_string, type XmlElement } from '@tsjabberd/xml-stanza';
import { describe, expect, it } from 'vitest';
import { GLOBAL } from '../src/ejabberd_hooks.js';
import type { FilterAcc } from '../src/ejabberd_router.js';
import { MemoryGlobalRouteTable, type RouteProcess } from '../src/route_table.js';
import { make_error_reply, stanza_error } from '../src/stanza_errors.js';
import {
  attr,
  condition,
  connect,
  errorChild,
  errorXml,
  iq,
  linesWith,
  message,
  NS_STANZAS,
  presence,
  RecordingRoute,
  send,
  settle,
  startNode,
  text,
} from './helpers.js';

describe('ejabberd_router: the local route table', () => {
  it('delivers a packet for a registered domain to its process, with the same from, to and packet', async () => {
    const { node } = await startNode();
    const service = new RecordingRoute();
    node.ejabberd_router.register_local_route('echo.localhost', service);
    const packet = message({
      from: 'alice@localhost/phone',
      to: 'echo.localhost',
      type: 'chat',
      body: 'ping',
    });
    send(node, 'alice@localhost/phone', 'echo.localhost', packet);
    expect(service.received).toHaveLength(1);
    expect(service.received[0].from).toBe('alice@localhost/phone');
    expect(service.received[0].to).toBe('echo.localhost');
    expect(service.received[0].packet).toBe(packet);
  });

  it('routes by the prepared domain: an upper-case destination reaches the route of its lower-case form', async () => {
    const { node } = await startNode();
    const service = new RecordingRoute();
    node.ejabberd_router.register_local_route('echo.localhost', service);
    send(node, 'alice@localhost/phone', 'user@ECHO.Localhost/r', message({ body: 'x' }));
    expect(service.received.map((r) => r.to)).toEqual(['user@echo.localhost/r']);
  });

  it('answers is_my_route and dirty_get_all_routes from the local table', async () => {
    const { node } = await startNode();
    const router = node.ejabberd_router;
    expect(router.is_my_route('localhost')).toBe(true);
    expect(router.is_my_route('echo.localhost')).toBe(false);
    router.register_local_route('echo.localhost', new RecordingRoute());
    expect(router.is_my_route('echo.localhost')).toBe(true);
    expect(router.dirty_get_all_routes().sort()).toEqual(['echo.localhost', 'localhost']);
  });

  it('refuses a second process for a domain already routed, and keeps the first', async () => {
    const { node } = await startNode();
    const first = new RecordingRoute();
    const second = new RecordingRoute();
    node.ejabberd_router.register_local_route('echo.localhost', first);
    expect(() => node.ejabberd_router.register_local_route('echo.localhost', second)).toThrow(
      /echo\.localhost is already routed/,
    );
    await expect(node.ejabberd_router.register_route('echo.localhost', second)).rejects.toThrow(
      /already routed/,
    );
    send(node, 'alice@localhost/phone', 'echo.localhost', message());
    expect(first.received).toHaveLength(1);
    expect(second.received).toHaveLength(0);
  });

  it('accepts registering the same process again for its own domain', async () => {
    const { node } = await startNode();
    const service = new RecordingRoute();
    node.ejabberd_router.register_local_route('echo.localhost', service);
    expect(() => node.ejabberd_router.register_local_route('echo.localhost', service)).not.toThrow();
    send(node, 'alice@localhost/phone', 'echo.localhost', message());
    expect(service.received).toHaveLength(1);
  });

  it('unregister_local_route removes the route: the domain then goes to s2s, and may be registered again', async () => {
    const { node } = await startNode();
    const alice = connect(node, 'alice@localhost/phone', 1);
    const first = new RecordingRoute();
    node.ejabberd_router.register_local_route('echo.localhost', first);
    node.ejabberd_router.unregister_local_route('echo.localhost');
    expect(node.ejabberd_router.is_my_route('echo.localhost')).toBe(false);
    send(
      node,
      'alice@localhost/phone',
      'echo.localhost',
      message({ from: 'alice@localhost/phone', to: 'echo.localhost' }),
    );
    await settle();
    expect(first.received).toHaveLength(0);
    expect(alice.process.received.map((r) => condition(r.packet))).toEqual(['service-unavailable']);
    const second = new RecordingRoute();
    node.ejabberd_router.register_local_route('echo.localhost', second);
    send(node, 'alice@localhost/phone', 'echo.localhost', message());
    expect(second.received).toHaveLength(1);
  });
});

describe('ejabberd_router: the global route table', () => {
  it('register_route puts the domain in the global table under this node; unregister_route takes it out', async () => {
    const global = new MemoryGlobalRouteTable();
    const { node } = await startNode({ node: 'one@cluster', global });
    expect(await global.lookup('localhost')).toEqual(['one@cluster']);
    const service = new RecordingRoute();
    await node.ejabberd_router.register_route('echo.localhost', service);
    expect(await global.lookup('echo.localhost')).toEqual(['one@cluster']);
    expect(node.ejabberd_router.is_my_route('echo.localhost')).toBe(true);
    await node.ejabberd_router.unregister_route('echo.localhost');
    expect(await global.lookup('echo.localhost')).toEqual([]);
    expect(node.ejabberd_router.is_my_route('echo.localhost')).toBe(false);
  });

  it('register_local_route does not touch the global table', async () => {
    const global = new MemoryGlobalRouteTable();
    const { node } = await startNode({ global });
    node.ejabberd_router.register_local_route('private.localhost', new RecordingRoute());
    expect(await global.lookup('private.localhost')).toEqual([]);
  });

  it('after unregister_route, packets for the service bounce service-unavailable (a subdomain of a served host)', async () => {
    const { node } = await startNode();
    const alice = connect(node, 'alice@localhost/phone', 1);
    const service = new RecordingRoute();
    await node.ejabberd_router.register_route('echo.localhost', service);
    await node.ejabberd_router.unregister_route('echo.localhost');
    send(
      node,
      'alice@localhost/phone',
      'echo.localhost',
      message({ from: 'alice@localhost/phone', to: 'echo.localhost' }),
    );
    await settle();
    expect(service.received).toHaveLength(0);
    expect(alice.process.received.map((r) => condition(r.packet))).toEqual(['service-unavailable']);
  });

  it('a domain that only this node holds in the global table (no local route) goes to s2s', async () => {
    const global = new MemoryGlobalRouteTable();
    const { node } = await startNode({ node: 'one@cluster', global });
    const alice = connect(node, 'alice@localhost/phone', 1);
    await global.register('stale.example', 'one@cluster');
    send(
      node,
      'alice@localhost/phone',
      'bob@stale.example',
      message({ from: 'alice@localhost/phone', to: 'bob@stale.example' }),
    );
    await settle();
    expect(alice.process.received.map((r) => condition(r.packet))).toEqual(['remote-server-not-found']);
  });

  it('a failing global lookup is logged and the packet goes to s2s', async () => {
    const global = new MemoryGlobalRouteTable();
    global.lookup = async () => {
      throw new Error('store down');
    };
    const { node, log } = await startNode({ global });
    const alice = connect(node, 'alice@localhost/phone', 1);
    send(
      node,
      'alice@localhost/phone',
      'bob@remote.example',
      message({ from: 'alice@localhost/phone', to: 'bob@remote.example' }),
    );
    await settle();
    expect(linesWith(log, 'store down').length).toBeGreaterThan(0);
    // The bounce to alice is for a local domain: it goes through the local table, no lookup needed.
    expect(alice.process.received.map((r) => condition(r.packet))).toEqual(['remote-server-not-found']);
  });
});

describe('ejabberd_router: filter_packet', () => {
  it('a filter returning drop stops the packet; others pass', async () => {
    const { node } = await startNode();
    const bob = connect(node, 'bob@localhost/pc', 1);
    const seen: string[] = [];
    node.ejabberd_hooks.add('filter_packet', GLOBAL, (acc: FilterAcc) => {
      if (acc === 'drop') return acc;
      const [, , packet] = acc;
      seen.push(element_to_string(packet));
      return packet[3].some((c) => c[0] === 'xmlelement' && c[1] === 'body' && c[3][0]?.[1] === 'spam')
        ? 'drop'
        : acc;
    });
    send(node, 'alice@localhost/phone', 'bob@localhost/pc', message({ type: 'chat', body: 'spam' }));
    send(node, 'alice@localhost/phone', 'bob@localhost/pc', message({ type: 'chat', body: 'ham' }));
    expect(seen).toHaveLength(2);
    expect(bob.process.received.map((r) => r.xml)).toEqual([
      "<message type='chat'><body>ham</body></message>",
    ]);
  });

  it("a filter returning 'stop' drops the packet too", async () => {
    const { node } = await startNode();
    const bob = connect(node, 'bob@localhost/pc', 1);
    node.ejabberd_hooks.add('filter_packet', GLOBAL, () => 'stop');
    send(node, 'alice@localhost/phone', 'bob@localhost/pc', message({ type: 'chat' }));
    await settle();
    expect(bob.process.received).toHaveLength(0);
  });

  it('a filter may rewrite the destination and the packet', async () => {
    const { node } = await startNode();
    const bob = connect(node, 'bob@localhost/pc', 1);
    const carol = connect(node, 'carol@localhost/pc', 1);
    node.ejabberd_hooks.add('filter_packet', GLOBAL, (acc: FilterAcc): FilterAcc => {
      if (acc === 'drop') return acc;
      const [from, to] = acc;
      if (to.luser !== 'bob') return acc;
      const rewritten: XmlElement = [
        'xmlelement',
        'message',
        [['type', 'chat']],
        [text('body', 'redirected')],
      ];
      return [from, parse('carol@localhost/pc'), rewritten];
    });
    send(node, 'alice@localhost/phone', 'bob@localhost/pc', message({ type: 'chat', body: 'for bob' }));
    expect(bob.process.received).toHaveLength(0);
    expect(carol.process.received.map((r) => [r.from, r.to, r.xml])).toEqual([
      [
        'alice@localhost/phone',
        'carol@localhost/pc',
        "<message type='chat'><body>redirected</body></message>",
      ],
    ]);
  });

  it('filters run in seq order, each seeing what the previous one returned', async () => {
    const { node } = await startNode();
    const bob = connect(node, 'bob@localhost/pc', 1);
    const tag =
      (label: string) =>
      (acc: FilterAcc): FilterAcc => {
        if (acc === 'drop') return acc;
        const [from, to, packet] = acc;
        return [
          from,
          to,
          ['xmlelement', packet[1], packet[2], [...packet[3], ['xmlelement', label, [], []]]],
        ];
      };
    node.ejabberd_hooks.add('filter_packet', GLOBAL, tag('second'), 60);
    node.ejabberd_hooks.add('filter_packet', GLOBAL, tag('first'), 40);
    send(node, 'alice@localhost/phone', 'bob@localhost/pc', message({ type: 'chat', body: null }));
    expect(bob.process.received.map((r) => r.xml)).toEqual([
      "<message type='chat'><first/><second/></message>",
    ]);
  });

  it('a filter on a virtual host instead of global is not consulted by the router', async () => {
    const { node } = await startNode();
    const bob = connect(node, 'bob@localhost/pc', 1);
    node.ejabberd_hooks.add('filter_packet', 'localhost', () => 'drop');
    send(node, 'alice@localhost/phone', 'bob@localhost/pc', message({ type: 'chat' }));
    expect(bob.process.received).toHaveLength(1);
  });
});

describe('ejabberd_router: failing route processes', () => {
  it('a process that throws is logged with the domain and the packet, and routing goes on', async () => {
    const { node, log } = await startNode();
    const bob = connect(node, 'bob@localhost/pc', 1);
    const broken: RouteProcess = {
      route() {
        throw new Error('component crashed');
      },
    };
    node.ejabberd_router.register_local_route('broken.localhost', broken);
    expect(() =>
      send(node, 'alice@localhost/phone', 'broken.localhost', message({ id: 'm1', type: 'chat' })),
    ).not.toThrow();
    const errors = log.lines.filter((l) => l.startsWith('[error]'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('broken.localhost');
    expect(errors[0]).toContain('component crashed');
    expect(errors[0]).toContain('<message type=chat id=m1> from alice@localhost/phone to broken.localhost');
    send(node, 'alice@localhost/phone', 'bob@localhost/pc', message({ type: 'chat' }));
    expect(bob.process.received).toHaveLength(1);
  });

  it('a session process that throws is logged and routing goes on', async () => {
    const { node, log } = await startNode();
    const sm = node.ejabberd_sm;
    const jid = parse('bob@localhost/pc');
    const sid = sm.make_sid();
    sm.open_session(sid, jid, {
      route() {
        throw new Error('socket closed');
      },
      replaced() {},
    });
    sm.set_presence(sid, jid, 1, presence({ priority: 1 }));
    const carol = connect(node, 'carol@localhost/pc', 1);
    expect(() =>
      send(node, 'alice@localhost/phone', 'bob@localhost/pc', message({ type: 'chat' })),
    ).not.toThrow();
    expect(linesWith(log, 'socket closed')).toHaveLength(1);
    expect(linesWith(log, 'socket closed')[0]).toContain('bob@localhost/pc');
    send(node, 'alice@localhost/phone', 'carol@localhost/pc', message({ type: 'chat' }));
    expect(carol.process.received).toHaveLength(1);
  });
});

describe('ejabberd_s2s: domains not served here', () => {
  it('bounces a message to another server with remote-server-not-found, to the sender, from the addressee', async () => {
    const { node } = await startNode();
    const alice = connect(node, 'alice@localhost/phone', 1);
    const packet = message({
      id: 'm1',
      from: 'alice@localhost/phone',
      to: 'bob@remote.example',
      type: 'chat',
      body: 'hi',
    });
    send(node, 'alice@localhost/phone', 'bob@remote.example', packet);
    await settle();
    expect(alice.process.received).toHaveLength(1);
    const bounce = alice.process.received[0];
    expect(bounce.from).toBe('bob@remote.example');
    expect(bounce.to).toBe('alice@localhost/phone');
    expect(attr(bounce.packet, 'type')).toBe('error');
    expect(attr(bounce.packet, 'to')).toBe('alice@localhost/phone');
    expect(attr(bounce.packet, 'from')).toBe('bob@remote.example');
    const error = errorChild(bounce.packet);
    expect(error).toBeDefined();
    expect(attr(error!, 'type')).toBe('cancel');
    expect(condition(bounce.packet)).toBe('remote-server-not-found');
    const condEl = error![3][0] as XmlElement;
    expect(attr(condEl, 'xmlns')).toBe(NS_STANZAS);
    // The original payload is kept before the error.
    expect(element_to_string(bounce.packet[3][0] as XmlElement)).toBe('<body>hi</body>');
  });

  it('bounces an IQ get to another server', async () => {
    const { node } = await startNode();
    const alice = connect(node, 'alice@localhost/phone', 1);
    send(
      node,
      'alice@localhost/phone',
      'remote.example',
      iq({ from: 'alice@localhost/phone', to: 'remote.example', id: 'v1' }),
    );
    await settle();
    expect(
      alice.process.received.map((r) => [attr(r.packet, 'id'), attr(r.packet, 'type'), condition(r.packet)]),
    ).toEqual([['v1', 'error', 'remote-server-not-found']]);
  });

  it('never answers an error stanza with an error', async () => {
    const { node, log } = await startNode();
    const alice = connect(node, 'alice@localhost/phone', 1);
    const errorMessage = message({ from: 'alice@localhost/phone', to: 'bob@remote.example', type: 'error' });
    send(node, 'alice@localhost/phone', 'bob@remote.example', errorMessage);
    send(node, 'alice@localhost/phone', 'remote.example', iq({ type: 'result', id: 'r1', payload: [] }));
    send(node, 'alice@localhost/phone', 'remote.example', iq({ type: 'error', id: 'e1' }));
    await settle();
    expect(alice.process.received).toHaveLength(0);
    expect(linesWith(log, 'not bouncing')).toHaveLength(3);
  });

  it('a bounce to a sender on another server does not loop', async () => {
    const { node } = await startNode();
    let routed = 0;
    const original = node.ejabberd_router.route.bind(node.ejabberd_router);
    node.ejabberd_router.route = (from, to, packet) => {
      routed++;
      original(from, to, packet);
    };
    send(node, 'mallory@evil.example/x', 'bob@remote.example', message({ type: 'chat' }));
    await settle(20);
    // The packet, then its bounce to evil.example, which is an error and is not bounced again.
    expect(routed).toBe(2);
  });

  it('a replacement S2S manager receives the packets for foreign domains', async () => {
    const outgoing = new RecordingRoute();
    const { node } = await startNode({ s2s: () => outgoing });
    send(node, 'alice@localhost/phone', 'bob@remote.example/home', message({ type: 'chat' }));
    await settle();
    expect(outgoing.received.map((r) => [r.from, r.to])).toEqual([
      ['alice@localhost/phone', 'bob@remote.example/home'],
    ]);
  });
});

describe('stanza errors (RFC 6120 section 8.3)', () => {
  it('make_error_reply swaps to and from, sets type=error, keeps the payload and appends the error', () => {
    const packet = message({
      id: 'm1',
      to: 'bob@localhost',
      from: 'alice@localhost/phone',
      type: 'chat',
      body: 'hi',
    });
    const reply = make_error_reply(packet, stanza_error('service-unavailable'));
    expect(element_to_string(reply)).toBe(
      `<message id='m1' to='alice@localhost/phone' from='bob@localhost' type='error'><body>hi</body>${errorXml(
        'cancel',
        'service-unavailable',
      )}</message>`,
    );
    // The original is not modified.
    expect(attr(packet, 'type')).toBe('chat');
  });

  it('stanza_error gives the RFC type of each condition, an optional text, and an explicit type', () => {
    expect(element_to_string(stanza_error('bad-request'))).toBe(errorXml('modify', 'bad-request'));
    expect(element_to_string(stanza_error('forbidden'))).toBe(errorXml('auth', 'forbidden'));
    expect(element_to_string(stanza_error('resource-constraint'))).toBe(
      errorXml('wait', 'resource-constraint'),
    );
    expect(element_to_string(stanza_error('item-not-found', 'Nobody here'))).toBe(
      `<error type='cancel'><item-not-found xmlns='${NS_STANZAS}'/><text xmlns='${NS_STANZAS}' xml:lang='en'>Nobody here</text></error>`,
    );
    expect(element_to_string(stanza_error('conflict', undefined, 'modify'))).toBe(
      errorXml('modify', 'conflict'),
    );
  });

  it('route_error bounces a request with the exact error shape, from the address it was sent to', async () => {
    const { node } = await startNode();
    const alice = connect(node, 'alice@localhost/phone', 1);
    const packet = message({
      id: 'x',
      to: 'nobody@localhost',
      from: 'alice@localhost/phone',
      type: 'chat',
      body: 'hi',
    });
    node.ejabberd_router.route_error(
      parse('alice@localhost/phone'),
      parse('nobody@localhost'),
      packet,
      stanza_error('service-unavailable'),
    );
    expect(alice.process.received.map((r) => [r.from, r.to, r.xml])).toEqual([
      [
        'nobody@localhost',
        'alice@localhost/phone',
        `<message id='x' to='alice@localhost/phone' from='nobody@localhost' type='error'><body>hi</body>${errorXml(
          'cancel',
          'service-unavailable',
        )}</message>`,
      ],
    ]);
  });

  it('route_error does nothing for an error or a result', async () => {
    const { node } = await startNode();
    const alice = connect(node, 'alice@localhost/phone', 1);
    const alicej = parse('alice@localhost/phone');
    const bob = parse('bob@localhost');
    node.ejabberd_router.route_error(
      alicej,
      bob,
      message({ type: 'error' }),
      stanza_error('service-unavailable'),
    );
    node.ejabberd_router.route_error(
      alicej,
      bob,
      iq({ type: 'result', payload: [] }),
      stanza_error('service-unavailable'),
    );
    node.ejabberd_router.route_error(
      alicej,
      bob,
      presence({ type: 'error' }),
      stanza_error('service-unavailable'),
    );
    await settle();
    expect(alice.process.received).toHaveLength(0);
  });
});
