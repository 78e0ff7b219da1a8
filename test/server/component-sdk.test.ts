import { Component } from '@tsjabberd/component';
import { mod_cputime } from '@tsjabberd/mod_cputime';
import { type IqDiscipline, MemoryLogger } from '@tsjabberd/router';
import { get_attr_s, get_subtag, type XmlElement } from '@tsjabberd/xml-stanza';
import { afterEach, describe, expect, it } from 'vitest';
import { mod_echo } from '../../examples/mod_echo/mod_echo.js';
import { serviceListenerDefaults } from '../../packages/server/src/config/defaults.js';
import type { ServiceListenerConfig } from '../../packages/server/src/config/types.js';
import { startTestServer, type TestServer } from './helpers.js';
import { RawClient } from './raw-client.js';

/**
 * The SDK against tsjabberd's own ejabberd_service listener: the guide's mod_echo and mod_cputime,
 * unchanged, run as external components and serve a client of tsjabberd (the Prosody interop tests
 * are in packages/component/test).
 */
const open: { stop(): unknown }[] = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.stop();
});

async function server(): Promise<{ t: TestServer; componentPort: number }> {
  const t = await startTestServer((c) => {
    const listener: ServiceListenerConfig = {
      port: 0,
      ...serviceListenerDefaults(),
      ip: '127.0.0.1',
      hosts: { 'echo.localhost': 'echo-secret', 'cputime.localhost': 'cpu-secret' },
    };
    c.listen.push(listener);
  });
  open.push(t);
  const bound = t.server.listeners.find((l) => l.config.module === 'ejabberd_service');
  return { t, componentPort: bound?.port ?? 0 };
}

async function component(port: number, domain: string, secret: string): Promise<Component> {
  const c = new Component({
    host: '127.0.0.1',
    port,
    domain,
    secret,
    log: new MemoryLogger(),
    reconnect: false,
  });
  open.push(c);
  return c;
}

describe('@tsjabberd/component against tsjabberd', () => {
  it('mod_echo, unchanged, echoes a client message as an external component', async () => {
    const { t, componentPort } = await server();
    const echo = await component(componentPort, 'echo.localhost', 'echo-secret');
    await echo.start_module(mod_echo, { host: 'echo.localhost' });
    await echo.start();
    const alice = await RawClient.connect(t.port);
    open.push({ stop: () => alice.close() });
    await alice.login('alice', 'wonderland', 'phone');
    alice.write(`<message to='echo.localhost' id='e1' type='chat'><body>hello component</body></message>`);
    const back = await alice.until(
      () => alice.elements.find((e) => e[1] === 'message' && get_attr_s('from', e[2]) === 'echo.localhost'),
      'the echo',
    );
    expect(get_attr_s('type', back[2])).toBe('chat');
    expect((get_subtag(back, 'body') as XmlElement)[3]).toEqual([['xmlcdata', 'hello component']]);
  });

  it('mod_cputime, unchanged, answers an IQ as an external component; when it leaves, the IQ bounces', async () => {
    const { t, componentPort } = await server();
    const cpu = await component(componentPort, 'cputime.localhost', 'cpu-secret');
    await cpu.start_module(mod_cputime, {});
    await cpu.start();
    const alice = await RawClient.connect(t.port);
    open.push({ stop: () => alice.close() });
    await alice.login('alice', 'wonderland', 'phone');
    const ask = async (id: string) => {
      alice.write(`<iq to='cputime.localhost' id='${id}' type='get'><query xmlns='ejabberd:cputime'/></iq>`);
      return alice.until(
        () => alice.elements.find((e) => e[1] === 'iq' && get_attr_s('id', e[2]) === id),
        `the answer to ${id}`,
      );
    };
    const result = await ask('c1');
    expect(get_attr_s('type', result[2])).toBe('result');
    await cpu.stop();
    await alice.until(
      () => !t.server.node.ejabberd_router.dirty_get_all_routes().includes('cputime.localhost') || undefined,
      'the route to go',
    );
    const bounced = await ask('c2');
    expect(get_attr_s('type', bounced[2])).toBe('error');
    expect(((get_subtag(bounced, 'error') as XmlElement)[3][0] as XmlElement)[1]).toBe('service-unavailable');
  });

  it('an IQ to the component is handled under each gen_iq_handler discipline', async () => {
    const { t, componentPort } = await server();
    const alice = await RawClient.connect(t.port);
    open.push({ stop: () => alice.close() });
    await alice.login('alice', 'wonderland', 'phone');
    const disciplines: IqDiscipline[] = ['no_queue', 'one_queue', 'parallel', ['queues', 3]];
    for (const [i, iqdisc] of disciplines.entries()) {
      const cpu = await component(componentPort, 'cputime.localhost', 'cpu-secret');
      await cpu.start_module(mod_cputime, { iqdisc });
      await cpu.start();
      const ids = [0, 1, 2].map((n) => `d${i}-${n}`);
      for (const id of ids)
        alice.write(
          `<iq to='cputime.localhost' id='${id}' type='get'><query xmlns='ejabberd:cputime'/></iq>`,
        );
      for (const id of ids) {
        const answer = await alice.until(
          () => alice.elements.find((e) => e[1] === 'iq' && get_attr_s('id', e[2]) === id),
          `the answer to ${id} (${JSON.stringify(iqdisc)})`,
        );
        expect(get_attr_s('type', answer[2])).toBe('result');
      }
      await cpu.stop();
      await alice.until(
        () =>
          !t.server.node.ejabberd_router.dirty_get_all_routes().includes('cputime.localhost') || undefined,
        'the route to go',
      );
    }
  });
});
