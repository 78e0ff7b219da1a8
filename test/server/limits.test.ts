import { afterEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers.js';
import { RawClient } from './raw-client.js';

const servers: TestServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.stop();
});

async function server(change: Parameters<typeof startTestServer>[0]): Promise<TestServer> {
  const s = await startTestServer(change);
  servers.push(s);
  return s;
}

describe('the server protects itself', () => {
  it('ends a negotiation that stalls with connection-timeout', async () => {
    const t = await server((c) => {
      for (const l of c.listen) l.negotiation_timeout = 0.3;
    });
    const c = await RawClient.connect(t.port);
    c.open();
    await c.next('stream:features');
    expect(await c.streamError()).toBe('connection-timeout');
  });

  it('closes with policy-violation a session whose client stops reading (max_fsm_queue)', async () => {
    const t = await server((c) => {
      for (const l of c.listen) l.max_fsm_queue = 50;
    });
    const sleepy = await RawClient.connect(t.port);
    await sleepy.login('alice', 'wonderland', 'sleepy');
    sleepy.socket.pause(); // reads nothing more: the server's buffers for it fill up
    const flooder = await RawClient.connect(t.port);
    await flooder.login('bob', 'builder', 'flood');
    const body = 'x'.repeat(4000);
    for (
      let i = 0;
      i < 2000 && t.server.node.ejabberd_sm.get_session('alice', 'localhost', 'sleepy') !== undefined;
      i++
    ) {
      flooder.write(`<message to='alice@localhost/sleepy' type='chat'><body>${body}</body></message>`);
      if (i % 50 === 0) await new Promise((r) => setTimeout(r, 10));
    }
    await flooder.until(
      () => t.server.node.ejabberd_sm.get_session('alice', 'localhost', 'sleepy') === undefined,
      'the sleepy session to be closed',
      10_000,
    );
    expect(
      t.log.lines.some(
        (l) => l.includes('alice@localhost/sleepy') && l.includes('stream error policy-violation'),
      ),
    ).toBe(true);
    flooder.close();
    sleepy.close();
  });

  it('pings an idle client (mod_ping) and disconnects it when it does not answer', async () => {
    const t = await server((c) => {
      c.modules.mod_ping = { send_pings: true, ping_interval: 0.2, ping_ack_timeout: 0.3 };
    });
    const c = await RawClient.connect(t.port);
    await c.login('alice', 'wonderland', 'idle');
    const ping = await c.until(
      () => c.elements.find((e) => e[1] === 'iq' && (e[3][0] as [string, string])?.[1] === 'ping'),
      'a ping',
      5000,
    );
    expect(ping[2]).toEqual(
      expect.arrayContaining([
        ['type', 'get'],
        ['from', 'localhost'],
      ]),
    );
    expect(await c.streamError()).toBe('connection-timeout');
  });

  it('keeps a client that answers pings', async () => {
    const t = await server((c) => {
      c.modules.mod_ping = { send_pings: true, ping_interval: 0.2, ping_ack_timeout: 0.3 };
    });
    const c = await RawClient.connect(t.port);
    await c.login('alice', 'wonderland', 'awake');
    let answered = 0;
    const deadline = Date.now() + 1500;
    while (Date.now() < deadline) {
      const pings = c.elements.filter((e) => e[1] === 'iq' && (e[3][0] as [string, string])?.[1] === 'ping');
      while (answered < pings.length) {
        const id = pings[answered][2].find(([k]) => k === 'id')?.[1];
        c.write(`<iq type='result' to='localhost' id='${id}'/>`);
        answered++;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(answered).toBeGreaterThan(0);
    expect(c.elements.some((e) => e[1] === 'stream:error')).toBe(false);
    expect(t.server.node.ejabberd_sm.get_session('alice', 'localhost', 'awake')).toBeDefined();
  });

  it('closes every stream with system-shutdown when it stops', async () => {
    const t = await startTestServer();
    const c = await RawClient.connect(t.port);
    await c.login('bob', 'builder', 'shutdown');
    await t.stop();
    expect(await c.streamError()).toBe('system-shutdown');
  });

  it('listens on IPv6 and IPv4 alike on ::', async () => {
    const t = await server((c) => {
      for (const l of c.listen) l.ip = '::';
    });
    const c = await RawClient.connect(t.port, { host: '::1' });
    expect(await c.login('alice', 'wonderland', 'v6')).toBe('alice@localhost/v6');
    const d = await RawClient.connect(t.port);
    expect(await d.login('alice', 'wonderland', 'v4')).toBe('alice@localhost/v4');
    c.close();
    d.close();
  });
});
