import type { Jid } from '@tsjabberd/jid';
import type { XmlElement } from '@tsjabberd/xml-stanza';
import { describe, expect, it } from 'vitest';
import type { GenModule, ModuleContext } from '../src/gen_mod.js';
import { type Iq, iq_result } from '../src/iq.js';
import {
  attr,
  condition,
  connect,
  iq,
  linesWith,
  message,
  RecordingRoute,
  send,
  settle,
  startNode,
} from './helpers.js';

const NS_PING = 'urn:xmpp:ping';
const NS_TIME = 'urn:xmpp:time';

interface EchoOpts {
  host: string;
  greeting: string;
  max: number;
}

/** A service module: a route for its subdomain, an IQ handler, a hook, all through its context. */
function modEcho(log: string[] = []): GenModule<EchoOpts> {
  return {
    name: 'mod_echo',
    options: {
      host: { default: (host: string) => `echo.${host}` },
      greeting: { default: 'hello' },
      max: {
        default: 10,
        validate: (v: unknown) => {
          if (typeof v !== 'number' || !Number.isInteger(v) || v < 1)
            throw new Error(`expected a positive integer, got ${String(v)}`);
          return v;
        },
      },
    },
    async start(host, opts, ctx) {
      log.push(`start ${host} ${JSON.stringify(opts)}`);
      await ctx.register_route(opts.host, {
        route: (from: Jid, to: Jid, packet: XmlElement) => {
          ctx.route(to, from, ['xmlelement', packet[1], [['type', 'chat']], packet[3]]);
        },
      });
      ctx.add_iq_handler('ejabberd_local', NS_PING, (_f: Jid, _t: Jid, q: Iq) => iq_result(q));
      ctx.add_hook('local_send_to_resource_hook', () => 'stop', 40);
    },
    stop(host) {
      log.push(`stop ${host}`);
    },
  };
}

describe('gen_mod: options', () => {
  it('fills in defaults, one of them a function of the host, and returns the options used', async () => {
    const { node } = await startNode();
    const log: string[] = [];
    const opts = await node.gen_mod.start_module('localhost', modEcho(log));
    expect(opts).toEqual({ host: 'echo.localhost', greeting: 'hello', max: 10 });
    expect(log).toEqual([`start localhost ${JSON.stringify(opts)}`]);
    expect(node.gen_mod.get_module_opt('localhost', 'mod_echo', 'host')).toBe('echo.localhost');
    expect(node.gen_mod.get_module_opt('localhost', 'mod_echo', 'max')).toBe(10);
  });

  it('the per-host default differs per host', async () => {
    const { node } = await startNode({ hosts: ['localhost', 'other.test'] });
    await node.gen_mod.start_module('localhost', modEcho());
    await node.gen_mod.start_module('other.test', modEcho());
    expect(node.gen_mod.get_module_opt('localhost', 'mod_echo', 'host')).toBe('echo.localhost');
    expect(node.gen_mod.get_module_opt('other.test', 'mod_echo', 'host')).toBe('echo.other.test');
  });

  it('given options are validated and used', async () => {
    const { node } = await startNode();
    const opts = await node.gen_mod.start_module('localhost', modEcho(), { max: 3, greeting: 'hi' });
    expect(opts).toEqual({ host: 'echo.localhost', greeting: 'hi', max: 3 });
  });

  it('an unknown option is an error naming the module and the option; the module does not start', async () => {
    const { node } = await startNode();
    const log: string[] = [];
    await expect(
      node.gen_mod.start_module('localhost', modEcho(log), {
        colour: 'blue',
      } as unknown as Partial<EchoOpts>),
    ).rejects.toThrow("gen_mod: mod_echo has no option 'colour' (it knows: host, greeting, max)");
    expect(log).toEqual([]);
    expect(node.gen_mod.is_loaded('localhost', 'mod_echo')).toBe(false);
  });

  it('an unknown option for a module with no options at all', async () => {
    const { node } = await startNode();
    const bare: GenModule = { name: 'mod_bare', start() {} };
    await expect(node.gen_mod.start_module('localhost', bare, { x: 1 })).rejects.toThrow(
      "gen_mod: mod_bare has no option 'x'",
    );
  });

  it("a value the validator rejects is an error naming the module, the option and the validator's reason", async () => {
    const { node } = await startNode();
    await expect(node.gen_mod.start_module('localhost', modEcho(), { max: -2 })).rejects.toThrow(
      "gen_mod: mod_echo option 'max': expected a positive integer, got -2",
    );
    expect(node.gen_mod.is_loaded('localhost', 'mod_echo')).toBe(false);
    expect(node.ejabberd_router.is_my_route('echo.localhost')).toBe(false);
  });

  it('a validator may convert the value it is given', async () => {
    const { node } = await startNode();
    const mod: GenModule<{ size: number }> = {
      name: 'mod_conv',
      options: { size: { default: 1, validate: (v) => Number(v) } },
      start() {},
    };
    expect(await node.gen_mod.start_module('localhost', mod, { size: '42' as unknown as number })).toEqual({
      size: 42,
    });
  });

  it('a module is started per host, only on hosts this server serves, and once per host', async () => {
    const { node } = await startNode();
    await expect(node.gen_mod.start_module('elsewhere.test', modEcho())).rejects.toThrow(
      'gen_mod: elsewhere.test is not a host of this server',
    );
    await node.gen_mod.start_module('localhost', modEcho());
    await expect(node.gen_mod.start_module('localhost', modEcho())).rejects.toThrow(
      'gen_mod: mod_echo is already running on localhost',
    );
    expect(node.gen_mod.loaded_modules('localhost')).toEqual(['mod_echo']);
  });
});

describe('gen_mod: what a module registers works, and is gone after stop', () => {
  it('its route, IQ handler and hook work while it runs', async () => {
    const { node } = await startNode();
    const alice = connect(node, 'alice@localhost/phone', 1);
    await node.gen_mod.start_module('localhost', modEcho());
    send(node, 'alice@localhost/phone', 'echo.localhost', message({ body: 'echo me' }));
    send(node, 'alice@localhost/phone', 'localhost', iq({ id: 'p1', ns: NS_PING }));
    send(node, 'alice@localhost/phone', 'localhost', message({ type: 'chat', body: 'taken by the hook' }));
    await settle();
    expect(alice.process.received.map((r) => [r.from, r.xml])).toEqual([
      ['echo.localhost', "<message type='chat'><body>echo me</body></message>"],
      ['localhost', "<iq id='p1' type='result'/>"],
    ]);
  });

  it('after stop_module every route, IQ handler and hook it registered is gone, and its stop was called', async () => {
    const { node } = await startNode();
    const alice = connect(node, 'alice@localhost/phone', 1);
    const log: string[] = [];
    const hooksBefore = node.ejabberd_hooks.count('local_send_to_resource_hook', 'localhost');
    await node.gen_mod.start_module('localhost', modEcho(log));
    expect(node.ejabberd_hooks.count('local_send_to_resource_hook', 'localhost')).toBe(hooksBefore + 1);
    await node.gen_mod.stop_module('localhost', 'mod_echo');
    expect(log).toEqual([expect.stringMatching(/^start localhost/), 'stop localhost']);
    expect(node.gen_mod.is_loaded('localhost', 'mod_echo')).toBe(false);
    expect(node.ejabberd_router.is_my_route('echo.localhost')).toBe(false);
    expect(node.gen_iq_handler.namespaces('ejabberd_local', 'localhost')).toEqual([]);
    expect(node.ejabberd_hooks.count('local_send_to_resource_hook', 'localhost')).toBe(hooksBefore);
    send(node, 'alice@localhost/phone', 'echo.localhost', message({ body: 'echo me' }));
    send(node, 'alice@localhost/phone', 'localhost', iq({ id: 'p1', ns: NS_PING }));
    send(node, 'alice@localhost/phone', 'localhost', message({ type: 'chat' }));
    await settle();
    expect(alice.process.received.map((r) => [r.from, condition(r.packet)])).toEqual([
      ['localhost', 'service-unavailable'],
      ['localhost', 'item-not-found'],
      ['echo.localhost', 'service-unavailable'],
    ]);
  });

  it('a start may simply return its hooks and IQ handlers; gen_mod registers them and removes them on stop', async () => {
    const { node } = await startNode();
    const alice = connect(node, 'alice@localhost/phone', 1);
    const registered: string[] = [];
    const mod: GenModule = {
      name: 'mod_time',
      start: () => ({
        hooks: [
          [
            'sm_register_connection_hook',
            (_sid: unknown, jid: Jid) => {
              registered.push(jid.toString());
            },
            50,
          ],
        ],
        iq_handlers: [['ejabberd_local', NS_TIME, (_f: Jid, _t: Jid, q: Iq) => iq_result(q), 'no_queue']],
      }),
    };
    await node.gen_mod.start_module('localhost', mod);
    connect(node, 'bob@localhost/pc');
    send(node, 'alice@localhost/phone', 'localhost', iq({ id: 't1', ns: NS_TIME }));
    await settle();
    expect(registered).toEqual(['bob@localhost/pc']);
    expect(alice.process.received.map((r) => attr(r.packet, 'type'))).toEqual(['result']);
    expect(node.gen_iq_handler.namespaces('ejabberd_local', 'localhost')).toEqual([NS_TIME]);
    await node.gen_mod.stop_module('localhost', 'mod_time');
    connect(node, 'carol@localhost/pc');
    send(node, 'alice@localhost/phone', 'localhost', iq({ id: 't2', ns: NS_TIME }));
    await settle();
    expect(registered).toEqual(['bob@localhost/pc']);
    expect(node.ejabberd_hooks.count('sm_register_connection_hook', 'localhost')).toBe(0);
    expect(alice.process.received.map((r) => [attr(r.packet, 'id'), attr(r.packet, 'type')])).toEqual([
      ['t1', 'result'],
      ['t2', 'error'],
    ]);
  });

  it('a hook registered on another host through the context is removed on stop too', async () => {
    const { node } = await startNode();
    const mod: GenModule = {
      name: 'mod_global',
      start(_host, _opts, ctx) {
        ctx.add_hook('filter_packet', (acc: unknown) => acc, 50, 'global');
      },
    };
    await node.gen_mod.start_module('localhost', mod);
    expect(node.ejabberd_hooks.count('filter_packet', 'global')).toBe(1);
    await node.gen_mod.stop_module('localhost', 'mod_global');
    expect(node.ejabberd_hooks.count('filter_packet', 'global')).toBe(0);
  });

  it('a local route registered through the context is removed on stop', async () => {
    const { node } = await startNode();
    const mod: GenModule = {
      name: 'mod_local',
      start(_host, _opts, ctx) {
        ctx.register_local_route('private.localhost', new RecordingRoute());
      },
    };
    await node.gen_mod.start_module('localhost', mod);
    expect(node.ejabberd_router.is_my_route('private.localhost')).toBe(true);
    await node.gen_mod.stop_module('localhost', 'mod_local');
    expect(node.ejabberd_router.is_my_route('private.localhost')).toBe(false);
  });

  it('a stop that throws is logged, and the registrations are removed anyway', async () => {
    const { node, log } = await startNode();
    const mod: GenModule = {
      name: 'mod_sloppy',
      start(_host, _opts, ctx) {
        ctx.add_hook('user_available_hook', () => {});
      },
      stop() {
        throw new Error('forgot something');
      },
    };
    await node.gen_mod.start_module('localhost', mod);
    await node.gen_mod.stop_module('localhost', 'mod_sloppy');
    expect(linesWith(log, 'mod_sloppy failed to stop cleanly on localhost: forgot something')).toHaveLength(
      1,
    );
    expect(node.ejabberd_hooks.count('user_available_hook', 'localhost')).toBe(0);
    expect(node.gen_mod.is_loaded('localhost', 'mod_sloppy')).toBe(false);
  });

  it('stopping a module that is not running does nothing', async () => {
    const { node } = await startNode();
    await expect(node.gen_mod.stop_module('localhost', 'mod_nothing')).resolves.toBeUndefined();
  });

  it('a module started on two hosts is stopped on one only', async () => {
    const { node } = await startNode({ hosts: ['localhost', 'other.test'] });
    await node.gen_mod.start_module('localhost', modEcho());
    await node.gen_mod.start_module('other.test', modEcho());
    await node.gen_mod.stop_module('localhost', 'mod_echo');
    expect(node.ejabberd_router.is_my_route('echo.localhost')).toBe(false);
    expect(node.ejabberd_router.is_my_route('echo.other.test')).toBe(true);
    expect(node.gen_iq_handler.namespaces('ejabberd_local', 'other.test')).toEqual([NS_PING]);
    expect(node.gen_mod.loaded_modules('other.test')).toEqual(['mod_echo']);
  });

  it('node.stop() stops every module, dependents first', async () => {
    const { node } = await startNode();
    const order: string[] = [];
    const base: GenModule = { name: 'mod_base', start() {}, stop: () => void order.push('mod_base') };
    const user: GenModule = {
      name: 'mod_user',
      depends: () => [['mod_base', 'hard']],
      start() {},
      stop: () => void order.push('mod_user'),
    };
    await node.gen_mod.start_module('localhost', base);
    await node.gen_mod.start_module('localhost', user);
    await node.stop();
    expect(order).toEqual(['mod_user', 'mod_base']);
    expect(node.gen_mod.loaded_modules('localhost')).toEqual([]);
  });
});

describe('gen_mod: dependencies', () => {
  const base: GenModule = { name: 'mod_roster', start() {} };
  const dependent = (kind: 'hard' | 'soft'): GenModule => ({
    name: 'mod_shared_roster',
    depends: () => [['mod_roster', kind]],
    start() {},
  });

  it('a missing hard dependency is an error naming both modules; the module does not start', async () => {
    const { node } = await startNode();
    await expect(node.gen_mod.start_module('localhost', dependent('hard'))).rejects.toThrow(
      'gen_mod: mod_shared_roster needs mod_roster running on localhost; start mod_roster first',
    );
    expect(node.gen_mod.is_loaded('localhost', 'mod_shared_roster')).toBe(false);
  });

  it('with the hard dependency running it starts', async () => {
    const { node } = await startNode();
    await node.gen_mod.start_module('localhost', base);
    await node.gen_mod.start_module('localhost', dependent('hard'));
    expect(node.gen_mod.loaded_modules('localhost')).toEqual(['mod_roster', 'mod_shared_roster']);
  });

  it('a missing soft dependency is a warning only', async () => {
    const { node, log } = await startNode();
    await node.gen_mod.start_module('localhost', dependent('soft'));
    expect(node.gen_mod.is_loaded('localhost', 'mod_shared_roster')).toBe(true);
    expect(linesWith(log, '[warning] gen_mod: mod_shared_roster works better with mod_roster')).toHaveLength(
      1,
    );
  });

  it('depends gets the host and the resolved options', async () => {
    const { node } = await startNode();
    const seen: unknown[] = [];
    const mod: GenModule<{ store: string }> = {
      name: 'mod_offline',
      options: { store: { default: 'memory' } },
      depends: (host, opts) => {
        seen.push([host, opts]);
        return [];
      },
      start() {},
    };
    await node.gen_mod.start_module('localhost', mod, { store: 'redis' });
    expect(seen[0]).toEqual(['localhost', { store: 'redis' }]);
  });

  it('a dependency on another host does not count', async () => {
    const { node } = await startNode({ hosts: ['localhost', 'other.test'] });
    await node.gen_mod.start_module('other.test', base);
    await expect(node.gen_mod.start_module('localhost', dependent('hard'))).rejects.toThrow(
      /needs mod_roster/,
    );
  });

  it('stopping a module another running module hard-depends on is an error; it keeps running', async () => {
    const { node } = await startNode();
    await node.gen_mod.start_module('localhost', base);
    await node.gen_mod.start_module('localhost', dependent('hard'));
    await expect(node.gen_mod.stop_module('localhost', 'mod_roster')).rejects.toThrow(
      'gen_mod: cannot stop mod_roster on localhost: mod_shared_roster depend on it',
    );
    expect(node.gen_mod.is_loaded('localhost', 'mod_roster')).toBe(true);
    await node.gen_mod.stop_module('localhost', 'mod_shared_roster');
    await node.gen_mod.stop_module('localhost', 'mod_roster');
    expect(node.gen_mod.loaded_modules('localhost')).toEqual([]);
  });

  it('a soft dependent does not prevent stopping', async () => {
    const { node } = await startNode();
    await node.gen_mod.start_module('localhost', base);
    await node.gen_mod.start_module('localhost', dependent('soft'));
    await node.gen_mod.stop_module('localhost', 'mod_roster');
    expect(node.gen_mod.loaded_modules('localhost')).toEqual(['mod_shared_roster']);
  });
});

describe('gen_mod: a start that fails', () => {
  it('unregisters what it registered before failing, and reports the module and the reason', async () => {
    const { node } = await startNode();
    const alice = connect(node, 'alice@localhost/phone', 1);
    const mod: GenModule = {
      name: 'mod_broken',
      async start(_host, _opts, ctx: ModuleContext) {
        await ctx.register_route('broken.localhost', new RecordingRoute());
        ctx.register_local_route('local.broken.localhost', new RecordingRoute());
        ctx.add_hook('user_available_hook', () => {});
        ctx.add_iq_handler('ejabberd_sm', NS_PING, (_f: Jid, _t: Jid, q: Iq) => iq_result(q));
        throw new Error('cannot open the database');
      },
    };
    await expect(node.gen_mod.start_module('localhost', mod)).rejects.toThrow(
      'gen_mod: mod_broken failed to start on localhost: cannot open the database',
    );
    expect(node.gen_mod.is_loaded('localhost', 'mod_broken')).toBe(false);
    expect(node.ejabberd_router.is_my_route('broken.localhost')).toBe(false);
    expect(node.ejabberd_router.is_my_route('local.broken.localhost')).toBe(false);
    expect(node.ejabberd_hooks.count('user_available_hook', 'localhost')).toBe(0);
    expect(node.gen_iq_handler.namespaces('ejabberd_sm', 'localhost')).toEqual([]);
    send(node, 'alice@localhost/phone', 'bob@localhost', iq({ ns: NS_PING }));
    await settle();
    expect(alice.process.received.map((r) => condition(r.packet))).toEqual(['service-unavailable']);
  });

  it('a start returning an invalid IQ discipline fails and leaves none of the returned registrations behind', async () => {
    const { node } = await startNode();
    const mod: GenModule = {
      name: 'mod_badreg',
      start: () => ({
        hooks: [['user_available_hook', () => {}, 50]],
        iq_handlers: [
          ['ejabberd_local', NS_TIME, (_f: Jid, _t: Jid, q: Iq) => iq_result(q)],
          ['ejabberd_local', NS_PING, (_f: Jid, _t: Jid, q: Iq) => iq_result(q), ['queues', 0]],
        ],
      }),
    };
    await expect(node.gen_mod.start_module('localhost', mod)).rejects.toThrow(
      /mod_badreg failed to start on localhost/,
    );
    expect(node.ejabberd_hooks.count('user_available_hook', 'localhost')).toBe(0);
    expect(node.gen_iq_handler.namespaces('ejabberd_local', 'localhost')).toEqual([]);
  });

  it('a module whose route is taken fails to start, and the route stays with its owner', async () => {
    const { node } = await startNode();
    const alice = connect(node, 'alice@localhost/phone', 1);
    await node.gen_mod.start_module('localhost', modEcho());
    const rival: GenModule = {
      name: 'mod_rival',
      async start(_host, _opts, ctx) {
        await ctx.register_route('echo.localhost', new RecordingRoute());
      },
    };
    await expect(node.gen_mod.start_module('localhost', rival)).rejects.toThrow(
      /mod_rival failed to start on localhost: .*echo\.localhost is already routed/,
    );
    expect(node.ejabberd_router.is_my_route('echo.localhost')).toBe(true);
    send(node, 'alice@localhost/phone', 'echo.localhost', message({ body: 'still there?' }));
    await settle();
    expect(alice.process.received.map((r) => r.xml)).toEqual([
      "<message type='chat'><body>still there?</body></message>",
    ]);
  });

  it('a module whose local route is taken fails to start, and the route stays with its owner', async () => {
    const { node } = await startNode();
    const owner = new RecordingRoute();
    node.ejabberd_router.register_local_route('taken.localhost', owner);
    const rival: GenModule = {
      name: 'mod_rival',
      start(_host, _opts, ctx) {
        ctx.register_local_route('taken.localhost', new RecordingRoute());
      },
    };
    await expect(node.gen_mod.start_module('localhost', rival)).rejects.toThrow(/already routed/);
    send(node, 'alice@localhost/phone', 'taken.localhost', message());
    expect(owner.received).toHaveLength(1);
  });
});
