import { parse } from '@tsjabberd/jid';
import { EjabberdNode, error_condition, MemoryLogger, type SessionProcess } from '@tsjabberd/router';
import { cdata, element, type XmlElement } from '@tsjabberd/xml-stanza';
import { afterEach, describe, expect, it } from 'vitest';
import { mod_echo } from './mod_echo.js';

interface Received {
  from: string;
  packet: XmlElement;
}

function client(node: EjabberdNode, jid: string): Received[] {
  const received: Received[] = [];
  const process: SessionProcess = {
    route: (from, _to, packet) => received.push({ from: from.toString(), packet }),
    replaced() {},
  };
  node.ejabberd_sm.open_session(node.ejabberd_sm.make_sid(), parse(jid), process);
  return received;
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));
const hello = () => element('message', [['type', 'chat']], [element('body', [], [cdata('hello')])]);

describe('mod_echo, end to end through the router', () => {
  let node: EjabberdNode;
  afterEach(() => node.stop());

  async function started(opts = {}): Promise<Received[]> {
    node = new EjabberdNode({ hosts: ['localhost'], log: new MemoryLogger() });
    await node.start();
    await node.gen_mod.start_module('localhost', mod_echo, opts);
    return client(node, 'alice@localhost/phone');
  }

  it('sends a message back to its sender, from the echo service', async () => {
    const inbox = await started();
    const message = hello();
    node.route(parse('alice@localhost/phone'), parse('echo.localhost'), message);
    await tick();
    expect(inbox).toEqual([{ from: 'echo.localhost', packet: message }]);
  });

  it('echoes IQs and presence too, and serves any JID of its domain', async () => {
    const inbox = await started();
    node.route(parse('alice@localhost/phone'), parse('bot@echo.localhost/x'), element('presence'));
    node.route(
      parse('alice@localhost/phone'),
      parse('echo.localhost'),
      element(
        'iq',
        [
          ['type', 'get'],
          ['id', '1'],
        ],
        [element('ping', [['xmlns', 'urn:xmpp:ping']])],
      ),
    );
    await tick();
    expect(inbox.map((r) => [r.from, r.packet[1]])).toEqual([
      ['bot@echo.localhost/x', 'presence'],
      ['echo.localhost', 'iq'],
    ]);
  });

  it('takes its domain from the host option', async () => {
    const inbox = await started({ host: 'Parrot.localhost' });
    node.route(parse('alice@localhost/phone'), parse('parrot.localhost'), hello());
    await tick();
    expect(inbox[0].from).toBe('parrot.localhost');
  });

  it('does not echo errors', async () => {
    const inbox = await started();
    node.route(
      parse('alice@localhost/phone'),
      parse('echo.localhost'),
      element('message', [['type', 'error']]),
    );
    await tick();
    expect(inbox).toEqual([]);
  });

  it('unregisters its route when stopped: the domain is gone', async () => {
    const inbox = await started();
    await node.gen_mod.stop_module('localhost', 'mod_echo');
    expect(node.ejabberd_router.dirty_get_all_routes()).not.toContain('echo.localhost');
    node.route(parse('alice@localhost/phone'), parse('echo.localhost'), hello());
    await tick();
    // No route any more: the router hands it to s2s, which bounces it as a local service not running.
    expect(inbox).toHaveLength(1);
    expect(error_condition(inbox[0].packet)).toBe('service-unavailable');
  });
});
