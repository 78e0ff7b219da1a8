/**
 * The component SDK against a real XMPP server: Debian's Prosody 0.12, started here as a child process.
 * Unmodified tsjabberd modules (mod_echo, mod_cputime) run as external components; a client logged in
 * to Prosody talks to them.
 */
import { type FilterAcc, type GenModule, GLOBAL, type IqDiscipline, iq_result } from '@tsjabberd/router';
import { cdata, element, get_attr_s, type XmlElement } from '@tsjabberd/xml-stanza';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mod_cputime, NS_CPUTIME } from '../../../examples/mod_cputime/mod_cputime.js';
import { mod_echo } from '../../../examples/mod_echo/mod_echo.js';
import { RawClient } from '../../../test/server/raw-client.js';
import { Component } from '../src/index.js';
import { PROSODY, Prosody, requireProsody } from './prosody.js';

const SECRET = 's3cret';
const CPU_SECRET = 'cpu-secret';

function text(el: XmlElement | undefined, child: string): string | undefined {
  const c = el?.[3].find((n): n is XmlElement => n[0] === 'xmlelement' && n[1] === child);
  return c?.[3].map((n) => (n[0] === 'xmlcdata' ? n[1] : '')).join('');
}

describe(`external components on Prosody (${PROSODY})`, () => {
  let prosody: Prosody;
  let client: RawClient;
  const components: Component[] = [];

  beforeAll(async () => {
    requireProsody();
    prosody = await Prosody.start({
      components: { 'echo.localhost': SECRET, 'cputime.localhost': CPU_SECRET },
      users: [['alice', 'wonderland']],
    });
  });
  afterAll(async () => {
    await prosody?.stop();
  });
  afterEach(async () => {
    client?.close();
    for (const c of components.splice(0)) await c.stop();
  });

  function component(
    domain: string,
    secret: string,
    extra: Partial<ConstructorParameters<typeof Component>[0]> = {},
  ) {
    const c = new Component({
      host: '127.0.0.1',
      port: prosody.componentPort,
      domain,
      secret,
      backoffMin: 50,
      backoffMax: 400,
      ...extra,
    });
    components.push(c);
    return c;
  }

  async function alice(): Promise<RawClient> {
    client = await RawClient.connect(prosody.c2sPort);
    const jid = await client.login('alice', 'wonderland', 'phone', 'PLAIN', false);
    expect(jid).toBe('alice@localhost/phone');
    return client;
  }

  async function echoes(c: RawClient, body: string): Promise<XmlElement> {
    const mark = c.elements.length;
    c.write(`<message to='echo.localhost' type='chat' id='m-${body}'><body>${body}</body></message>`);
    return c.until(
      () => c.elements.slice(mark).find((e) => e[1] === 'message' && text(e, 'body') === body),
      `the echo of ${body}`,
    );
  }

  it('runs mod_echo unchanged: a message to the component comes back from it', async () => {
    const echo = component('echo.localhost', SECRET);
    await echo.start_module(mod_echo, { host: 'echo.localhost' });
    await echo.start();
    expect(echo.online).toBe(true);
    const c = await alice();
    const reply = await echoes(c, 'hello');
    expect(get_attr_s('from', reply[2])).toBe('echo.localhost');
    expect(get_attr_s('to', reply[2])).toBe('alice@localhost/phone');
    // Any JID of the component's domain: the echo comes from the address it was sent to.
    const mark = c.elements.length;
    c.write(`<message to='bot@echo.localhost/x' id='m2'><body>to bot</body></message>`);
    const bot = await c.until(
      () => c.elements.slice(mark).find((e) => e[1] === 'message'),
      'the echo from bot@echo.localhost/x',
    );
    expect(get_attr_s('from', bot[2])).toBe('bot@echo.localhost/x');
  });

  it('runs mod_cputime unchanged: its IQ handler answers through Prosody', async () => {
    const cpu = component('cputime.localhost', CPU_SECRET);
    await cpu.start_module(mod_cputime, { iqdisc: 'parallel' });
    await cpu.start();
    const c = await alice();
    let mark = c.elements.length;
    c.write(`<iq type='get' id='cpu1' to='cputime.localhost'><query xmlns='${NS_CPUTIME}'/></iq>`);
    const result = await c.until(
      () => c.elements.slice(mark).find((e) => e[1] === 'iq' && get_attr_s('id', e[2]) === 'cpu1'),
      'the cputime result',
    );
    expect(get_attr_s('type', result[2])).toBe('result');
    expect(get_attr_s('from', result[2])).toBe('cputime.localhost');
    const query = result[3].find((n): n is XmlElement => n[0] === 'xmlelement');
    expect(text(query, 'cputime')).toMatch(/^\d+\.\d{3}$/);

    // A set is refused by the module (a stanza error built by iq_error).
    mark = c.elements.length;
    c.write(`<iq type='set' id='cpu2' to='cputime.localhost'><query xmlns='${NS_CPUTIME}'/></iq>`);
    const refused = await c.until(
      () => c.elements.slice(mark).find((e) => get_attr_s('id', e[2]) === 'cpu2'),
      'the refused set',
    );
    expect(get_attr_s('type', refused[2])).toBe('error');
    expect(JSON.stringify(refused)).toContain('not-allowed');

    // A namespace nobody handles: gen_iq_handler / ejabberd_local answer service-unavailable.
    mark = c.elements.length;
    c.write(`<iq type='get' id='cpu3' to='cputime.localhost'><query xmlns='urn:example:nothing'/></iq>`);
    const unknown = await c.until(
      () => c.elements.slice(mark).find((e) => get_attr_s('id', e[2]) === 'cpu3'),
      'the error for an unknown namespace',
    );
    expect(get_attr_s('type', unknown[2])).toBe('error');
    expect(JSON.stringify(unknown)).toContain('service-unavailable');
  });

  it('runs IQ handlers of every discipline and a filter_packet hook, as in the server', async () => {
    const disciplines: IqDiscipline[] = ['no_queue', 'one_queue', 'parallel', ['queues', 2]];
    const filtered: string[] = [];
    const mod_test: GenModule = {
      name: 'mod_test',
      start(_host, _opts, ctx) {
        disciplines.forEach((disc, i) => {
          ctx.add_iq_handler(
            'ejabberd_local',
            `urn:test:${i}`,
            async (_from, _to, iq) => {
              await new Promise((r) => setTimeout(r, 5));
              return iq_result(iq, [
                element('query', [['xmlns', `urn:test:${i}`]], [cdata(JSON.stringify(disc))]),
              ]);
            },
            disc,
          );
        });
        // Every packet through the component's router, in and out: a global filter_packet hook.
        ctx.add_hook(
          'filter_packet',
          (acc: FilterAcc) => {
            if (acc !== 'drop') filtered.push(`${acc[0].toString()}>${acc[1].toString()}`);
            return acc;
          },
          50,
          GLOBAL,
        );
      },
    };
    const cpu = component('cputime.localhost', CPU_SECRET);
    await cpu.start_module(mod_test);
    await cpu.start();
    const c = await alice();
    const mark = c.elements.length;
    for (let i = 0; i < disciplines.length; i++) {
      c.write(`<iq type='get' id='d${i}' to='cputime.localhost'><query xmlns='urn:test:${i}'/></iq>`);
    }
    for (let i = 0; i < disciplines.length; i++) {
      const r = await c.until(
        () => c.elements.slice(mark).find((e) => get_attr_s('id', e[2]) === `d${i}`),
        `the answer of discipline ${i}`,
      );
      expect(get_attr_s('type', r[2])).toBe('result');
      expect(text(r, 'query')).toBe(JSON.stringify(disciplines[i]));
    }
    expect(filtered).toContain('alice@localhost/phone>cputime.localhost');
    expect(filtered).toContain('cputime.localhost>alice@localhost/phone');
  });

  it('reconnects with backoff when the server goes away, and serves again', async () => {
    const echo = component('echo.localhost', SECRET);
    const delays: number[] = [];
    let offline = 0;
    let online = 0;
    echo.on('reconnecting', (delay) => delays.push(delay));
    echo.on('offline', () => offline++);
    echo.on('online', () => online++);
    echo.on('error', () => {});
    await echo.start_module(mod_echo, { host: 'echo.localhost' });
    await echo.start();
    expect(online).toBe(1);

    // The server is stopped (every connection dies), stays down for a while, then comes back.
    await prosody.restart(1200);
    const deadline = Date.now() + 10_000;
    while (online < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(online).toBe(2);
    expect(offline).toBe(1);
    // Several refused attempts while it was down, each waiting longer, up to backoffMax (jitter <= 30%).
    expect(delays.length).toBeGreaterThanOrEqual(3);
    for (const d of delays) expect(d).toBeLessThanOrEqual(400);
    expect(delays[0]).toBeLessThanOrEqual(50);
    expect(Math.max(...delays)).toBeGreaterThan(200);

    const c = await alice();
    expect(get_attr_s('from', (await echoes(c, 'again'))[2])).toBe('echo.localhost');

    // A dropped TCP connection (the component side) is recovered the same way.
    echo.drop();
    while (online < 3 && Date.now() < deadline + 5000) await new Promise((r) => setTimeout(r, 50));
    expect(online).toBe(3);
    await echoes(c, 'and again');
  });

  it('reports a wrong secret as a not-authorized error and does not retry by default', async () => {
    const echo = component('echo.localhost', 'wrong');
    const errors: string[] = [];
    const reconnects: number[] = [];
    echo.on('error', (e) => errors.push(e.condition ?? e.message));
    echo.on('reconnecting', (d) => reconnects.push(d));
    await expect(echo.start()).rejects.toMatchObject({ condition: 'not-authorized' });
    await new Promise((r) => setTimeout(r, 300));
    expect(errors).toEqual(['not-authorized']);
    expect(reconnects).toEqual([]);
    expect(echo.online).toBe(false);
  });

  it('retries after an auth error only when told to (retryOnAuthError), and stop() ends it', async () => {
    const echo = component('echo.localhost', 'wrong', { retryOnAuthError: true });
    const errors: string[] = [];
    echo.on('error', (e) => errors.push(e.condition ?? e.message));
    const started = echo.start();
    started.catch(() => {});
    const deadline = Date.now() + 5000;
    while (errors.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(errors.slice(0, 3)).toEqual(['not-authorized', 'not-authorized', 'not-authorized']);
    await echo.stop();
    const count = errors.length;
    await new Promise((r) => setTimeout(r, 600));
    expect(errors.length).toBe(count);
  });

  it('bounces packets the module sends while offline with remote-server-not-found', async () => {
    const echo = component('echo.localhost', SECRET);
    await echo.start_module(mod_echo, { host: 'echo.localhost' });
    const { parse } = await import('@tsjabberd/jid');
    const { element } = await import('@tsjabberd/xml-stanza');
    const bounced: XmlElement[] = [];
    await echo.node.ejabberd_router.register_route('local.test', {
      route: (_from, _to, packet) => bounced.push(packet),
    });
    // From local.test to a Prosody user: no connection, so the node's router bounces it.
    echo.node.route(parse('x@local.test'), parse('alice@localhost'), element('message', [], []));
    await new Promise((r) => setTimeout(r, 20));
    expect(bounced).toHaveLength(1);
    expect(JSON.stringify(bounced[0])).toContain('remote-server-not-found');
  });
});
