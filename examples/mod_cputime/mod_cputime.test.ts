import { parse } from '@tsjabberd/jid';
import { EjabberdNode, error_condition, MemoryLogger, type SessionProcess } from '@tsjabberd/router';
import { element, get_path_s, type XmlElement } from '@tsjabberd/xml-stanza';
import { afterEach, describe, expect, it } from 'vitest';
import { mod_cputime, NS_CPUTIME } from './mod_cputime.js';

/** A client session that keeps what the server sends it. */
function client(node: EjabberdNode, jid: string): XmlElement[] {
  const received: XmlElement[] = [];
  const process: SessionProcess = { route: (_from, _to, packet) => received.push(packet), replaced() {} };
  node.ejabberd_sm.open_session(node.ejabberd_sm.make_sid(), parse(jid), process);
  return received;
}

/** Routes `<iq type=... id=...><query xmlns='ejabberd:cputime'/></iq>` from alice to the server and waits a turn. */
async function ask(node: EjabberdNode, type: 'get' | 'set', id: string): Promise<void> {
  const iq = element(
    'iq',
    [
      ['type', type],
      ['id', id],
    ],
    [element('query', [['xmlns', NS_CPUTIME]])],
  );
  node.route(parse('alice@localhost/phone'), parse('localhost'), iq);
  await new Promise((resolve) => setTimeout(resolve, 10));
}

describe('mod_cputime, end to end through the router', () => {
  let node: EjabberdNode;
  afterEach(() => node.stop());

  it('answers a get with the CPU time in seconds, three decimals', async () => {
    node = new EjabberdNode({ hosts: ['localhost'], log: new MemoryLogger() });
    await node.start();
    await node.gen_mod.start_module('localhost', mod_cputime);
    const inbox = client(node, 'alice@localhost/phone');
    await ask(node, 'get', 'c1');
    expect(inbox).toHaveLength(1);
    const reply = inbox[0];
    expect(reply[2]).toEqual([
      ['id', 'c1'],
      ['type', 'result'],
    ]);
    const seconds = get_path_s(reply, [['elem', 'query'], ['elem', 'cputime'], 'cdata']) as string;
    expect(seconds).toMatch(/^\d+\.\d{3}$/);
    const { user, system } = process.cpuUsage();
    expect(Number(seconds)).toBeLessThanOrEqual((user + system) / 1e6 + 0.001);
    expect(Number(seconds)).toBeGreaterThan(0);
  });

  it('answers a set with not-allowed', async () => {
    node = new EjabberdNode({ hosts: ['localhost'], log: new MemoryLogger() });
    await node.start();
    await node.gen_mod.start_module('localhost', mod_cputime, { iqdisc: 'no_queue' });
    const inbox = client(node, 'alice@localhost/phone');
    await ask(node, 'set', 'c2');
    expect(inbox).toHaveLength(1);
    expect(error_condition(inbox[0])).toBe('not-allowed');
  });

  it('is gone once stopped: the namespace gets service-unavailable', async () => {
    node = new EjabberdNode({ hosts: ['localhost'], log: new MemoryLogger() });
    await node.start();
    await node.gen_mod.start_module('localhost', mod_cputime);
    await node.gen_mod.stop_module('localhost', 'mod_cputime');
    const inbox = client(node, 'alice@localhost/phone');
    await ask(node, 'get', 'c3');
    expect(error_condition(inbox[0])).toBe('service-unavailable');
  });

  it('refuses an iqdisc it does not know, naming the option', async () => {
    node = new EjabberdNode({ hosts: ['localhost'], log: new MemoryLogger() });
    await node.start();
    await expect(
      node.gen_mod.start_module('localhost', mod_cputime, { iqdisc: 'fast' as never }),
    ).rejects.toThrow(/mod_cputime option 'iqdisc'/);
  });
});
