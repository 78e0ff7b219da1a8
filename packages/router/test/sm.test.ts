import { type Jid, parse } from '@tsjabberd/jid';
import type { XmlElement } from '@tsjabberd/xml-stanza';
import { describe, expect, it } from 'vitest';
import type { Sid } from '../src/ejabberd_sm.js';
import { iq_result } from '../src/iq.js';
import {
  attr,
  condition,
  connect,
  deferred,
  el,
  iq,
  message,
  presence,
  RecordingSession,
  send,
  settle,
  startNode,
} from './helpers.js';

const ALICE = 'alice@localhost/phone';

/** Who got what: `resource: xml` for each packet each session received, in order. */
function deliveries(...sessions: { jid: Jid; process: RecordingSession }[]): string[] {
  const out: string[] = [];
  for (const s of sessions) for (const r of s.process.received) out.push(`${s.jid.resource}: ${r.xml}`);
  return out;
}

describe('ejabberd_sm: a message to a full JID (RFC 6121 8.5.3)', () => {
  it('goes to that resource only, even when another resource has a higher priority', async () => {
    const { node } = await startNode();
    const phone = connect(node, 'bob@localhost/phone', 1);
    const pc = connect(node, 'bob@localhost/pc', 10);
    send(node, ALICE, 'bob@localhost/phone', message({ type: 'chat', body: 'to phone' }));
    expect(deliveries(phone, pc)).toEqual(["phone: <message type='chat'><body>to phone</body></message>"]);
    expect(phone.process.received[0].to).toBe('bob@localhost/phone');
    expect(phone.process.received[0].from).toBe(ALICE);
  });

  it('goes to a bound resource that has not sent presence yet', async () => {
    const { node } = await startNode();
    const pc = connect(node, 'bob@localhost/pc');
    send(node, ALICE, 'bob@localhost/pc', message({ type: 'chat' }));
    expect(pc.process.received).toHaveLength(1);
  });

  it('a chat or normal message to a resource that is not online is treated as sent to the bare JID', async () => {
    const { node } = await startNode();
    const phone = connect(node, 'bob@localhost/phone', 1);
    const pc = connect(node, 'bob@localhost/pc', 10);
    send(node, ALICE, 'bob@localhost/tablet', message({ type: 'chat', body: 'c' }));
    send(node, ALICE, 'bob@localhost/tablet', message({ body: 'n' }));
    send(node, ALICE, 'bob@localhost/tablet', message({ type: 'normal', body: 'n2' }));
    expect(deliveries(phone, pc)).toEqual([
      "pc: <message type='chat'><body>c</body></message>",
      'pc: <message><body>n</body></message>',
      "pc: <message type='normal'><body>n2</body></message>",
    ]);
    // Delivered to the session's own full JID.
    expect(pc.process.received.map((r) => r.to)).toEqual([
      'bob@localhost/pc',
      'bob@localhost/pc',
      'bob@localhost/pc',
    ]);
  });

  it('a chat to a resource that is not online, with no resource available, goes to the offline hook', async () => {
    const { node } = await startNode();
    const stored: string[] = [];
    node.ejabberd_hooks.add('offline_message_hook', 'localhost', (_acc: string, _from: Jid, to: Jid) => {
      stored.push(to.toString());
      return 'stored';
    });
    const alice = connect(node, ALICE, 1);
    send(node, ALICE, 'bob@localhost/tablet', message({ type: 'chat' }));
    await settle();
    expect(stored).toEqual(['bob@localhost/tablet']);
    expect(alice.process.received).toHaveLength(0);
  });

  it('a groupchat message to a resource that is not online gets service-unavailable', async () => {
    const { node } = await startNode();
    const alice = connect(node, ALICE, 1);
    const pc = connect(node, 'bob@localhost/pc', 10);
    send(
      node,
      ALICE,
      'bob@localhost/tablet',
      message({ type: 'groupchat', from: ALICE, to: 'bob@localhost/tablet' }),
    );
    await settle();
    expect(pc.process.received).toHaveLength(0);
    expect(alice.process.received.map((r) => [r.from, condition(r.packet)])).toEqual([
      ['bob@localhost/tablet', 'service-unavailable'],
    ]);
  });

  it('a headline or an error message to a resource that is not online is dropped', async () => {
    const { node } = await startNode();
    const alice = connect(node, ALICE, 1);
    const pc = connect(node, 'bob@localhost/pc', 10);
    let offline = 0;
    node.ejabberd_hooks.add('offline_message_hook', 'localhost', (acc: unknown) => {
      offline++;
      return acc;
    });
    send(node, ALICE, 'bob@localhost/tablet', message({ type: 'headline' }));
    send(node, ALICE, 'bob@localhost/tablet', message({ type: 'error' }));
    await settle();
    expect(pc.process.received).toHaveLength(0);
    expect(alice.process.received).toHaveLength(0);
    expect(offline).toBe(0);
  });

  it('presence to a full JID that is not online is dropped; available resources do not get it', async () => {
    const { node } = await startNode();
    const alice = connect(node, ALICE, 1);
    const pc = connect(node, 'bob@localhost/pc', 10);
    send(node, ALICE, 'bob@localhost/tablet', presence());
    send(node, ALICE, 'bob@localhost/tablet', presence({ type: 'unavailable' }));
    await settle();
    expect(pc.process.received).toHaveLength(0);
    expect(alice.process.received).toHaveLength(0);
  });

  it('a subscription request to a full JID that is not online is treated as sent to the account', async () => {
    const { node } = await startNode();
    const pc = connect(node, 'bob@localhost/pc', 10);
    send(node, ALICE, 'bob@localhost/tablet', presence({ type: 'subscribe' }));
    expect(deliveries(pc)).toEqual(["pc: <presence type='subscribe'/>"]);
  });

  it('presence to a full JID that is online goes to it', async () => {
    const { node } = await startNode();
    const pc = connect(node, 'bob@localhost/pc', 10);
    const phone = connect(node, 'bob@localhost/phone', 1);
    send(node, ALICE, 'bob@localhost/phone', presence());
    expect(deliveries(pc, phone)).toEqual(['phone: <presence/>']);
  });

  it('an element that is not a stanza is dropped', async () => {
    const { node } = await startNode();
    const alice = connect(node, ALICE, 1);
    const pc = connect(node, 'bob@localhost/pc', 10);
    send(node, ALICE, 'bob@localhost/tablet', el('foo'));
    send(node, ALICE, 'bob@localhost', el('foo'));
    await settle();
    expect(pc.process.received).toHaveLength(0);
    expect(alice.process.received).toHaveLength(0);
  });
});

describe('ejabberd_sm: IQs (RFC 6121 8.5.2.1.3, 8.5.3)', () => {
  it('an IQ to a full JID that is online goes to that resource, not to the handlers', async () => {
    const { node } = await startNode();
    let handled = 0;
    node.gen_iq_handler.add_iq_handler('ejabberd_sm', 'localhost', 'urn:test:query', (_f, _t, q) => {
      handled++;
      return iq_result(q);
    });
    const pc = connect(node, 'bob@localhost/pc', 1);
    send(node, ALICE, 'bob@localhost/pc', iq({ id: 'd1' }));
    await settle();
    expect(handled).toBe(0);
    expect(deliveries(pc)).toEqual(["pc: <iq id='d1' type='get'><query xmlns='urn:test:query'/></iq>"]);
  });

  it('an IQ get or set to a full JID that is not online gets service-unavailable', async () => {
    const { node } = await startNode();
    const alice = connect(node, ALICE, 1);
    const pc = connect(node, 'bob@localhost/pc', 10);
    send(
      node,
      ALICE,
      'bob@localhost/tablet',
      iq({ id: 'g', type: 'get', from: ALICE, to: 'bob@localhost/tablet' }),
    );
    send(
      node,
      ALICE,
      'bob@localhost/tablet',
      iq({ id: 's', type: 'set', from: ALICE, to: 'bob@localhost/tablet' }),
    );
    await settle();
    expect(pc.process.received).toHaveLength(0);
    expect(alice.process.received.map((r) => [r.from, attr(r.packet, 'id'), condition(r.packet)])).toEqual([
      ['bob@localhost/tablet', 'g', 'service-unavailable'],
      ['bob@localhost/tablet', 's', 'service-unavailable'],
    ]);
  });

  it('an IQ result or error to a full JID that is not online is dropped', async () => {
    const { node } = await startNode();
    const alice = connect(node, ALICE, 1);
    send(node, ALICE, 'bob@localhost/tablet', iq({ type: 'result', payload: [] }));
    send(node, ALICE, 'bob@localhost/tablet', iq({ type: 'error' }));
    await settle();
    expect(alice.process.received).toHaveLength(0);
  });

  it("an IQ to a bare JID is answered by the server on the user's behalf (ejabberd_sm handlers)", async () => {
    const { node } = await startNode();
    const alice = connect(node, ALICE, 1);
    const pc = connect(node, 'bob@localhost/pc', 10);
    const seen: string[] = [];
    node.gen_iq_handler.add_iq_handler('ejabberd_sm', 'localhost', 'vcard-temp', (from, to, q) => {
      seen.push(`${from.toString()} -> ${to.toString()} ${q.type} ${q.xmlns}`);
      return iq_result(q, [el('vCard', [['xmlns', 'vcard-temp']], [el('FN', [], [['xmlcdata', 'Bob']])])]);
    });
    send(node, ALICE, 'bob@localhost', iq({ id: 'v1', ns: 'vcard-temp', from: ALICE, to: 'bob@localhost' }));
    await settle();
    expect(seen).toEqual([`${ALICE} -> bob@localhost get vcard-temp`]);
    expect(pc.process.received).toHaveLength(0);
    expect(alice.process.received.map((r) => [r.from, r.to, r.xml])).toEqual([
      [
        'bob@localhost',
        ALICE,
        "<iq id='v1' type='result'><vCard xmlns='vcard-temp'><FN>Bob</FN></vCard></iq>",
      ],
    ]);
  });

  it('an IQ to a bare JID that no handler takes gets service-unavailable; resources do not see it', async () => {
    const { node } = await startNode();
    const alice = connect(node, ALICE, 1);
    const pc = connect(node, 'bob@localhost/pc', 10);
    send(node, ALICE, 'bob@localhost', iq({ id: 'u1', ns: 'urn:unknown' }));
    await settle();
    expect(pc.process.received).toHaveLength(0);
    expect(alice.process.received.map((r) => [r.from, attr(r.packet, 'id'), condition(r.packet)])).toEqual([
      ['bob@localhost', 'u1', 'service-unavailable'],
    ]);
  });
});

describe('ejabberd_sm: a message to a bare JID (RFC 6121 8.5.2.1.1)', () => {
  it('goes to the available resource of highest priority only', async () => {
    const { node } = await startNode();
    const low = connect(node, 'bob@localhost/low', 1);
    const high = connect(node, 'bob@localhost/high', 5);
    const zero = connect(node, 'bob@localhost/zero', 0);
    send(node, ALICE, 'bob@localhost', message({ type: 'chat', body: 'x' }));
    expect(deliveries(low, high, zero)).toEqual(["high: <message type='chat'><body>x</body></message>"]);
    expect(high.process.received[0].to).toBe('bob@localhost/high');
    expect(high.process.received[0].from).toBe(ALICE);
  });

  it('on a tie, every resource of the highest priority gets it', async () => {
    const { node } = await startNode();
    const a = connect(node, 'bob@localhost/a', 5);
    const b = connect(node, 'bob@localhost/b', 5);
    const c = connect(node, 'bob@localhost/c', 1);
    send(node, ALICE, 'bob@localhost', message({ body: 'tie' }));
    expect(deliveries(a, b, c)).toEqual([
      'a: <message><body>tie</body></message>',
      'b: <message><body>tie</body></message>',
    ]);
  });

  it('priority 0 counts as non-negative', async () => {
    const { node } = await startNode();
    const zero = connect(node, 'bob@localhost/zero', 0);
    const neg = connect(node, 'bob@localhost/neg', -1);
    send(node, ALICE, 'bob@localhost', message({ type: 'chat' }));
    expect(deliveries(zero, neg)).toEqual(["zero: <message type='chat'><body>hello</body></message>"]);
  });

  it('resources of negative priority never get it: with only those, it goes to the offline hook', async () => {
    const { node } = await startNode();
    const neg = connect(node, 'bob@localhost/neg', -1);
    const neg5 = connect(node, 'bob@localhost/neg5', -5);
    const offline: [unknown, string, string, XmlElement][] = [];
    node.ejabberd_hooks.add(
      'offline_message_hook',
      'localhost',
      (acc: unknown, from: Jid, to: Jid, packet: XmlElement) => {
        offline.push([acc, from.toString(), to.toString(), packet]);
        return 'stored';
      },
    );
    const packet = message({ type: 'chat' });
    send(node, ALICE, 'bob@localhost', packet);
    await settle();
    expect(neg.process.received).toHaveLength(0);
    expect(neg5.process.received).toHaveLength(0);
    expect(offline).toEqual([['bounce', ALICE, 'bob@localhost', packet]]);
  });

  it('with no resource online, offline_message_hook gets it; a hook that stores it means no bounce', async () => {
    const { node } = await startNode();
    const alice = connect(node, ALICE, 1);
    const stored: string[] = [];
    node.ejabberd_hooks.add('offline_message_hook', 'localhost', (_acc: unknown, _f: Jid, to: Jid) => {
      stored.push(to.toString());
      return 'stored';
    });
    send(node, ALICE, 'bob@localhost', message({ type: 'chat' }));
    send(node, ALICE, 'bob@localhost', message({ type: 'headline' }));
    await settle();
    expect(stored).toEqual(['bob@localhost', 'bob@localhost']);
    expect(alice.process.received).toHaveLength(0);
  });

  it('an async offline hook: the bounce decision waits for it', async () => {
    const { node } = await startNode();
    const alice = connect(node, ALICE, 1);
    const gate = deferred<string>();
    node.ejabberd_hooks.add('offline_message_hook', 'localhost', () => gate.promise);
    send(node, ALICE, 'bob@localhost', message({ type: 'chat', from: ALICE, to: 'bob@localhost' }));
    await settle();
    expect(alice.process.received).toHaveLength(0);
    gate.resolve('bounce');
    await settle();
    expect(alice.process.received.map((r) => condition(r.packet))).toEqual(['service-unavailable']);
  });

  it('with no resource online and no offline module: chat and normal bounce service-unavailable, headline is dropped', async () => {
    const { node } = await startNode();
    const alice = connect(node, ALICE, 1);
    send(
      node,
      ALICE,
      'bob@localhost',
      message({ id: 'c', type: 'chat', from: ALICE, to: 'bob@localhost', body: 'hi' }),
    );
    send(node, ALICE, 'bob@localhost', message({ id: 'n', from: ALICE, to: 'bob@localhost' }));
    send(
      node,
      ALICE,
      'bob@localhost',
      message({ id: 'h', type: 'headline', from: ALICE, to: 'bob@localhost' }),
    );
    await settle();
    expect(alice.process.received.map((r) => [r.from, attr(r.packet, 'id'), condition(r.packet)])).toEqual([
      ['bob@localhost', 'c', 'service-unavailable'],
      ['bob@localhost', 'n', 'service-unavailable'],
    ]);
    expect(alice.process.received[0].xml).toBe(
      "<message id='c' to='alice@localhost/phone' from='bob@localhost' type='error'><body>hi</body><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>",
    );
  });

  it('a headline goes to every resource of non-negative priority', async () => {
    const { node } = await startNode();
    const a = connect(node, 'bob@localhost/a', 5);
    const b = connect(node, 'bob@localhost/b', 0);
    const c = connect(node, 'bob@localhost/c', 2);
    const neg = connect(node, 'bob@localhost/neg', -1);
    const bound = connect(node, 'bob@localhost/bound');
    send(node, ALICE, 'bob@localhost', message({ type: 'headline', body: 'news' }));
    expect(deliveries(a, b, c, neg, bound).sort()).toEqual([
      "a: <message type='headline'><body>news</body></message>",
      "b: <message type='headline'><body>news</body></message>",
      "c: <message type='headline'><body>news</body></message>",
    ]);
  });

  it('a groupchat message to a bare JID gets service-unavailable, even with resources online', async () => {
    const { node } = await startNode();
    const alice = connect(node, ALICE, 1);
    const pc = connect(node, 'bob@localhost/pc', 5);
    send(node, ALICE, 'bob@localhost', message({ type: 'groupchat', from: ALICE, to: 'bob@localhost' }));
    await settle();
    expect(pc.process.received).toHaveLength(0);
    expect(alice.process.received.map((r) => [r.from, condition(r.packet)])).toEqual([
      ['bob@localhost', 'service-unavailable'],
    ]);
  });

  it('an error message to a bare JID is dropped', async () => {
    const { node } = await startNode();
    const alice = connect(node, ALICE, 1);
    const pc = connect(node, 'bob@localhost/pc', 5);
    send(node, ALICE, 'bob@localhost', message({ type: 'error' }));
    await settle();
    expect(pc.process.received).toHaveLength(0);
    expect(alice.process.received).toHaveLength(0);
  });

  it('sessions that are bound but not yet available (no presence) do not receive bare-JID messages', async () => {
    const { node } = await startNode();
    const alice = connect(node, ALICE, 1);
    const bound = connect(node, 'bob@localhost/bound');
    send(node, ALICE, 'bob@localhost', message({ type: 'chat', from: ALICE, to: 'bob@localhost' }));
    await settle();
    expect(bound.process.received).toHaveLength(0);
    expect(alice.process.received.map((r) => condition(r.packet))).toEqual(['service-unavailable']);
  });

  it('after unset_presence a resource no longer receives bare-JID messages', async () => {
    const { node } = await startNode();
    const pc = connect(node, 'bob@localhost/pc', 5);
    const phone = connect(node, 'bob@localhost/phone', 1);
    node.ejabberd_sm.unset_presence(pc.sid, pc.jid, 'gone');
    send(node, ALICE, 'bob@localhost', message({ type: 'chat' }));
    expect(deliveries(pc, phone)).toEqual(["phone: <message type='chat'><body>hello</body></message>"]);
  });

  it('a new presence changes the priority used for delivery', async () => {
    const { node } = await startNode();
    const pc = connect(node, 'bob@localhost/pc', 5);
    const phone = connect(node, 'bob@localhost/phone', 1);
    node.ejabberd_sm.set_presence(phone.sid, phone.jid, 9, presence({ priority: 9 }));
    send(node, ALICE, 'bob@localhost', message({ type: 'chat' }));
    expect(pc.process.received).toHaveLength(0);
    expect(phone.process.received).toHaveLength(1);
  });

  it('a message to an account that does not exist bounces service-unavailable and skips the offline hook', async () => {
    const { node } = await startNode({ userExists: (luser) => luser !== 'ghost' });
    const alice = connect(node, ALICE, 1);
    let offline = 0;
    node.ejabberd_hooks.add('offline_message_hook', 'localhost', () => {
      offline++;
      return 'stored';
    });
    send(node, ALICE, 'ghost@localhost', message({ type: 'chat', from: ALICE, to: 'ghost@localhost' }));
    await settle();
    expect(offline).toBe(0);
    expect(alice.process.received.map((r) => [r.from, condition(r.packet)])).toEqual([
      ['ghost@localhost', 'service-unavailable'],
    ]);
  });
});

describe('ejabberd_sm: presence to a bare JID', () => {
  it('goes to every available resource, whatever its priority, but not to sessions without presence', async () => {
    const { node } = await startNode();
    const a = connect(node, 'bob@localhost/a', 5);
    const b = connect(node, 'bob@localhost/b', 1);
    const neg = connect(node, 'bob@localhost/neg', -3);
    const bound = connect(node, 'bob@localhost/bound');
    send(node, ALICE, 'bob@localhost', presence());
    expect(deliveries(a, b, neg, bound)).toEqual(['a: <presence/>', 'b: <presence/>', 'neg: <presence/>']);
    expect(a.process.received[0].to).toBe('bob@localhost/a');
  });

  it('with no available resource it is dropped, without an error', async () => {
    const { node } = await startNode();
    const alice = connect(node, ALICE, 1);
    connect(node, 'bob@localhost/bound');
    send(node, ALICE, 'bob@localhost', presence());
    send(node, ALICE, 'carol@localhost', presence({ type: 'unavailable' }));
    await settle();
    expect(alice.process.received).toHaveLength(0);
  });

  it('a subscription request passes roster_in_subscription with (true, luser, lserver, from, type, packet)', async () => {
    const { node } = await startNode();
    const pc = connect(node, 'bob@localhost/pc', 1);
    const calls: unknown[][] = [];
    node.ejabberd_hooks.add('roster_in_subscription', 'localhost', (acc: unknown, ...args: unknown[]) => {
      calls.push([acc, ...args]);
      return acc;
    });
    const packet = presence({ type: 'subscribe' });
    send(node, ALICE, 'bob@localhost', packet);
    expect(calls).toHaveLength(1);
    const [acc, luser, lserver, from, type, p] = calls[0];
    expect([acc, luser, lserver, (from as Jid).toString(), type, p]).toEqual([
      true,
      'bob',
      'localhost',
      ALICE,
      'subscribe',
      packet,
    ]);
    expect(deliveries(pc)).toEqual(["pc: <presence type='subscribe'/>"]);
  });

  it('a roster_in_subscription hook returning false stops the delivery', async () => {
    const { node } = await startNode();
    const pc = connect(node, 'bob@localhost/pc', 1);
    node.ejabberd_hooks.add('roster_in_subscription', 'localhost', () => false);
    for (const type of ['subscribe', 'subscribed', 'unsubscribe', 'unsubscribed']) {
      send(node, ALICE, 'bob@localhost', presence({ type }));
    }
    await settle();
    expect(pc.process.received).toHaveLength(0);
    // Ordinary presence is not subject to the hook.
    send(node, ALICE, 'bob@localhost', presence());
    expect(pc.process.received).toHaveLength(1);
  });

  it('an async roster_in_subscription hook: delivered once it answers true', async () => {
    const { node } = await startNode();
    const pc = connect(node, 'bob@localhost/pc', 1);
    const gate = deferred<boolean>();
    node.ejabberd_hooks.add('roster_in_subscription', 'localhost', () => gate.promise);
    send(node, ALICE, 'bob@localhost', presence({ type: 'subscribed' }));
    await settle();
    expect(pc.process.received).toHaveLength(0);
    gate.resolve(true);
    await settle();
    expect(deliveries(pc)).toEqual(["pc: <presence type='subscribed'/>"]);
  });

  it('holds later packets for the same user while an async hook decides, then delivers them in order', async () => {
    const { node } = await startNode();
    const pc = connect(node, 'bob@localhost/pc', 1);
    const carol = connect(node, 'carol@localhost/pc', 1);
    const gate = deferred<boolean>();
    node.ejabberd_hooks.add('roster_in_subscription', 'localhost', () => gate.promise);
    send(node, ALICE, 'bob@localhost', presence({ type: 'subscribe' }));
    send(node, ALICE, 'bob@localhost/pc', message({ type: 'chat', body: 'after' }));
    send(node, ALICE, 'carol@localhost/pc', message({ type: 'chat', body: 'not held' }));
    await settle();
    // RFC 6120 10.1: the message waits behind the subscription; another user's traffic does not.
    expect(pc.process.received).toHaveLength(0);
    expect(carol.process.received).toHaveLength(1);
    gate.resolve(true);
    await settle();
    expect(deliveries(pc)).toEqual([
      "pc: <presence type='subscribe'/>",
      "pc: <message type='chat'><body>after</body></message>",
    ]);
  });

  it('holds at most 10,000 packets for a user whose hook hangs; the next ones bounce with resource-constraint', async () => {
    const { node } = await startNode();
    connect(node, 'bob@localhost/pc', 1);
    const alice = connect(node, ALICE, 1);
    node.ejabberd_hooks.add('roster_in_subscription', 'localhost', () => new Promise<boolean>(() => {}));
    send(node, ALICE, 'bob@localhost', presence({ type: 'subscribe' }));
    for (let i = 0; i < 10_001; i++)
      send(node, ALICE, 'bob@localhost/pc', message({ type: 'chat', body: `${i}` }));
    await settle();
    const bounced = alice.process.received.filter((r) => condition(r.packet) === 'resource-constraint');
    expect(bounced).toHaveLength(1);
  });

  it('a probe passes presence_probe_hook; a hook taking it stops the delivery', async () => {
    const { node } = await startNode();
    const pc = connect(node, 'bob@localhost/pc', 1);
    send(node, ALICE, 'bob@localhost', presence({ type: 'probe' }));
    expect(pc.process.received).toHaveLength(1);
    node.ejabberd_hooks.add('presence_probe_hook', 'localhost', () => 'answered');
    send(node, ALICE, 'bob@localhost', presence({ type: 'probe' }));
    expect(pc.process.received).toHaveLength(1);
  });
});

describe('ejabberd_sm: session replacement (RFC 6120 7.7.2.2)', () => {
  it('a new session with a resource in use replaces the old: replaced() is called and the old one no longer receives', async () => {
    const { node } = await startNode();
    const old = connect(node, 'bob@localhost/pc', 1);
    const removed: string[] = [];
    node.ejabberd_hooks.add('sm_remove_connection_hook', 'localhost', (sid: Sid, jid: Jid) => {
      removed.push(`${jid.toString()} ${sid === old.sid ? 'old' : 'other'}`);
    });
    const fresh = connect(node, 'bob@localhost/pc', 1);
    expect(old.process.replacedCalls).toBe(1);
    expect(fresh.process.replacedCalls).toBe(0);
    expect(removed).toEqual(['bob@localhost/pc old']);
    send(node, ALICE, 'bob@localhost/pc', message({ type: 'chat', body: 'full' }));
    send(node, ALICE, 'bob@localhost', message({ type: 'chat', body: 'bare' }));
    send(node, ALICE, 'bob@localhost', presence());
    expect(old.process.received).toHaveLength(0);
    expect(fresh.process.received.map((r) => r.xml)).toEqual([
      "<message type='chat'><body>full</body></message>",
      "<message type='chat'><body>bare</body></message>",
      '<presence/>',
    ]);
    expect(node.ejabberd_sm.connected_users_number()).toBe(1);
    expect(node.ejabberd_sm.get_user_resources('bob', 'localhost')).toEqual(['pc']);
    expect(node.ejabberd_sm.get_session('bob', 'localhost', 'pc')?.sid).toBe(fresh.sid);
  });

  it('other resources of the same account are not replaced', async () => {
    const { node } = await startNode();
    const phone = connect(node, 'bob@localhost/phone', 1);
    connect(node, 'bob@localhost/pc', 1);
    connect(node, 'bob@localhost/pc', 1);
    expect(phone.process.replacedCalls).toBe(0);
    expect(node.ejabberd_sm.get_user_resources('bob', 'localhost').sort()).toEqual(['pc', 'phone']);
  });

  it('the newest session wins even when the replacing sid sorts older (one full JID never has two sessions)', async () => {
    const { node } = await startNode();
    const sm = node.ejabberd_sm;
    const jid = parse('bob@localhost/pc');
    const current = new RecordingSession();
    const currentSid: Sid = { time: 2_000, seq: 0, node: node.name };
    sm.open_session(currentSid, jid, current);
    const late = new RecordingSession();
    const lateSid: Sid = { time: 1_000, seq: 0, node: 'other@cluster' };
    sm.open_session(lateSid, jid, late);
    expect(current.replacedCalls).toBe(1);
    expect(sm.get_session('bob', 'localhost', 'pc')?.sid).toBe(lateSid);
    expect(sm.get_session('bob', 'localhost', 'pc')?.node).toBe('other@cluster');
    send(node, ALICE, 'bob@localhost/pc', message({ type: 'chat' }));
    expect(current.received).toHaveLength(0);
    expect(late.received).toHaveLength(1);
  });

  it('make_sid gives ever younger ids', async () => {
    const { node } = await startNode({ node: 'n1@cluster' });
    const sids = Array.from({ length: 50 }, () => node.ejabberd_sm.make_sid());
    for (let i = 1; i < sids.length; i++) {
      const [a, b] = [sids[i - 1], sids[i]];
      expect(b.time > a.time || (b.time === a.time && b.seq > a.seq)).toBe(true);
    }
    expect(sids.every((s) => s.node === 'n1@cluster')).toBe(true);
  });

  it('a c2s that closes its own session when replaced leaves the table consistent', async () => {
    const { node } = await startNode();
    const sm = node.ejabberd_sm;
    const phone = connect(node, 'bob@localhost/phone', 1);
    const old = connect(node, 'bob@localhost/pc', 1);
    const laptop = connect(node, 'bob@localhost/laptop', 1);
    const removed: string[] = [];
    node.ejabberd_hooks.add('sm_remove_connection_hook', 'localhost', (_sid: Sid, jid: Jid) => {
      removed.push(jid.toString());
    });
    // What a c2s process does on replaced(): send <conflict/>, end the stream, close its session.
    old.process.onReplaced = () => sm.close_session(old.sid, old.jid);
    const fresh = connect(node, 'bob@localhost/pc', 1);
    expect(old.process.replacedCalls).toBe(1);
    expect(removed).toEqual(['bob@localhost/pc']);
    expect(sm.get_user_resources('bob', 'localhost').sort()).toEqual(['laptop', 'pc', 'phone']);
    expect(sm.connected_users_number()).toBe(3);
    send(node, ALICE, 'bob@localhost/laptop', message({ type: 'chat' }));
    expect(laptop.process.received).toHaveLength(1);
    expect(phone.process.replacedCalls + laptop.process.replacedCalls + fresh.process.replacedCalls).toBe(0);
  });
});

describe('ejabberd_sm: hooks, close_session and the session table', () => {
  it('runs sm_register_connection_hook, set_presence_hook, unset_presence_hook and sm_remove_connection_hook', async () => {
    const { node } = await startNode();
    const sm = node.ejabberd_sm;
    const events: unknown[][] = [];
    const hooks = node.ejabberd_hooks;
    hooks.add('sm_register_connection_hook', 'localhost', (sid: Sid, jid: Jid, info: unknown) =>
      events.push(['register', sid, jid.toString(), info]),
    );
    hooks.add('set_presence_hook', 'localhost', (jid: Jid, priority: number, p: XmlElement) =>
      events.push(['set', jid.toString(), priority, p]),
    );
    hooks.add('unset_presence_hook', 'localhost', (jid: Jid, status: string) =>
      events.push(['unset', jid.toString(), status]),
    );
    hooks.add('sm_remove_connection_hook', 'localhost', (sid: Sid, jid: Jid, info: unknown) =>
      events.push(['remove', sid, jid.toString(), info]),
    );
    const jid = parse('bob@localhost/pc');
    const sid = sm.make_sid();
    const info = { ip: '127.0.0.1' };
    sm.open_session(sid, jid, new RecordingSession(), info);
    const p = presence({ priority: 3 });
    sm.set_presence(sid, jid, 3, p);
    sm.unset_presence(sid, jid, 'bye');
    sm.close_session(sid, jid);
    expect(events).toEqual([
      ['register', sid, 'bob@localhost/pc', info],
      ['set', 'bob@localhost/pc', 3, p],
      ['unset', 'bob@localhost/pc', 'bye'],
      ['remove', sid, 'bob@localhost/pc', info],
    ]);
  });

  it('connection hooks run per host: a hook on another host is not called', async () => {
    const { node } = await startNode({ hosts: ['localhost', 'other.test'] });
    const seen: string[] = [];
    node.ejabberd_hooks.add('sm_register_connection_hook', 'other.test', (_sid: Sid, jid: Jid) =>
      seen.push(jid.toString()),
    );
    connect(node, 'bob@localhost/pc');
    connect(node, 'bob@other.test/pc');
    expect(seen).toEqual(['bob@other.test/pc']);
  });

  it('close_session removes the session: its full JID is offline again, and closing twice does nothing', async () => {
    const { node } = await startNode();
    const sm = node.ejabberd_sm;
    const alice = connect(node, ALICE, 1);
    const pc = connect(node, 'bob@localhost/pc', 1);
    let removes = 0;
    node.ejabberd_hooks.add('sm_remove_connection_hook', 'localhost', () => {
      removes++;
    });
    sm.close_session(pc.sid, pc.jid);
    sm.close_session(pc.sid, pc.jid);
    expect(removes).toBe(1);
    expect(sm.get_session('bob', 'localhost', 'pc')).toBeUndefined();
    expect(sm.get_user_sessions('bob', 'localhost')).toEqual([]);
    send(node, ALICE, 'bob@localhost/pc', iq({ id: 'after', from: ALICE, to: 'bob@localhost/pc' }));
    await settle();
    expect(pc.process.received).toHaveLength(0);
    expect(alice.process.received.map((r) => condition(r.packet))).toEqual(['service-unavailable']);
  });

  it('close_session with the sid of a replaced session does not remove the new one', async () => {
    const { node } = await startNode();
    const sm = node.ejabberd_sm;
    const old = connect(node, 'bob@localhost/pc', 1);
    const fresh = connect(node, 'bob@localhost/pc', 1);
    sm.close_session(old.sid, old.jid);
    expect(sm.get_session('bob', 'localhost', 'pc')?.sid).toBe(fresh.sid);
    expect(sm.connected_users_number()).toBe(1);
  });

  it('set_presence and unset_presence for an unknown sid change nothing and run no hook', async () => {
    const { node } = await startNode();
    const sm = node.ejabberd_sm;
    let calls = 0;
    node.ejabberd_hooks.add('set_presence_hook', 'localhost', () => {
      calls++;
    });
    const jid = parse('bob@localhost/pc');
    sm.set_presence(sm.make_sid(), jid, 1, presence());
    sm.unset_presence(sm.make_sid(), jid);
    expect(calls).toBe(0);
    expect(sm.get_user_present_resources('bob', 'localhost')).toEqual([]);
  });

  it('connected_users_number, get_user_resources, get_user_present_resources and dirty_get_sessions_list', async () => {
    const { node } = await startNode({ hosts: ['localhost', 'other.test'] });
    const sm = node.ejabberd_sm;
    expect(sm.connected_users_number()).toBe(0);
    expect(sm.dirty_get_sessions_list()).toEqual([]);
    const pc = connect(node, 'bob@localhost/pc', 5);
    connect(node, 'bob@localhost/phone', -1);
    connect(node, 'bob@localhost/bound');
    connect(node, 'carol@other.test/home', 0);
    expect(sm.connected_users_number()).toBe(4);
    expect(sm.get_user_resources('bob', 'localhost').sort()).toEqual(['bound', 'pc', 'phone']);
    expect(sm.get_user_resources('nobody', 'localhost')).toEqual([]);
    expect(
      sm.get_user_present_resources('bob', 'localhost').sort((x, y) => x[1].localeCompare(y[1])),
    ).toEqual([
      [5, 'pc'],
      [-1, 'phone'],
    ]);
    expect(sm.get_user_present_resources('carol', 'other.test')).toEqual([[0, 'home']]);
    expect(
      sm
        .dirty_get_sessions_list()
        .map((j) => j.toString())
        .sort(),
    ).toEqual(['bob@localhost/bound', 'bob@localhost/pc', 'bob@localhost/phone', 'carol@other.test/home']);
    sm.close_session(pc.sid, pc.jid);
    expect(sm.connected_users_number()).toBe(3);
    expect(sm.get_user_resources('bob', 'localhost').sort()).toEqual(['bound', 'phone']);
  });

  it('sessions are keyed by the prepared JID: BOB@LocalHost/pc is bob@localhost/pc', async () => {
    const { node } = await startNode();
    const pc = connect(node, 'BOB@LocalHost/pc', 1);
    send(node, ALICE, 'bob@localhost/pc', message({ type: 'chat' }));
    send(node, ALICE, 'Bob@LOCALHOST', message({ type: 'chat' }));
    expect(pc.process.received).toHaveLength(2);
    expect(node.ejabberd_sm.get_session('bob', 'localhost', 'pc')?.sid).toBe(pc.sid);
  });
});
