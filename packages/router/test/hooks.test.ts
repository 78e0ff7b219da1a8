import type { XmlElement } from '@tsjabberd/xml-stanza';
import { describe, expect, it } from 'vitest';
import { EjabberdHooks, GLOBAL } from '../src/ejabberd_hooks.js';
import type { FilterAcc } from '../src/ejabberd_router.js';
import { MemoryLogger } from '../src/logger.js';
import { connect, deferred, message, send, settle, startNode } from './helpers.js';

function hooks(): { h: EjabberdHooks; log: MemoryLogger } {
  const log = new MemoryLogger();
  return { h: new EjabberdHooks(log), log };
}

describe('ejabberd_hooks: run', () => {
  it('calls every function with the arguments, ordered by seq; ties in the order they were added', () => {
    const { h } = hooks();
    const calls: string[] = [];
    h.add('user_available_hook', 'localhost', (x: string) => calls.push(`80:${x}`), 80);
    h.add('user_available_hook', 'localhost', (x: string) => calls.push(`10:${x}`), 10);
    h.add('user_available_hook', 'localhost', (x: string) => calls.push(`50a:${x}`));
    h.add('user_available_hook', 'localhost', (x: string) => calls.push(`50b:${x}`), 50);
    h.add('user_available_hook', 'localhost', (x: string) => calls.push(`20:${x}`), 20);
    expect(h.run('user_available_hook', 'localhost', ['bob'])).toBeUndefined();
    expect(calls).toEqual(['10:bob', '20:bob', '50a:bob', '50b:bob', '80:bob']);
    expect(h.count('user_available_hook', 'localhost')).toBe(5);
  });

  it("a function returning 'stop' ends the chain", () => {
    const { h } = hooks();
    const calls: number[] = [];
    h.add(
      'h',
      'localhost',
      () => {
        calls.push(1);
      },
      1,
    );
    h.add(
      'h',
      'localhost',
      () => {
        calls.push(2);
        return 'stop';
      },
      2,
    );
    h.add(
      'h',
      'localhost',
      () => {
        calls.push(3);
      },
      3,
    );
    h.run('h', 'localhost', []);
    expect(calls).toEqual([1, 2]);
  });

  it('a hook nobody added runs nothing', () => {
    const { h } = hooks();
    expect(h.run('nothing', 'localhost', [1, 2])).toBeUndefined();
    expect(h.count('nothing', 'localhost')).toBe(0);
  });

  it('a function that throws is logged with the hook, host, function and seq, and skipped', () => {
    const { h, log } = hooks();
    const calls: string[] = [];
    h.add(
      'h',
      'localhost',
      function brokenModule() {
        throw new Error('database gone');
      },
      10,
    );
    h.add(
      'h',
      'localhost',
      () => {
        calls.push('after');
      },
      20,
    );
    expect(() => h.run('h', 'localhost', [])).not.toThrow();
    expect(calls).toEqual(['after']);
    expect(log.lines).toHaveLength(1);
    expect(log.lines[0]).toMatch(
      /^\[error\] hook h on localhost: brokenModule \(seq 10\) failed and was skipped: .*database gone/,
    );
  });

  it('an anonymous function that throws a non-Error is logged as such', () => {
    const { h, log } = hooks();
    h.add(
      'h',
      'localhost',
      (() => () => {
        throw 'plain string';
      })(),
    );
    h.run('h', 'localhost', []);
    expect(log.lines[0]).toContain('an anonymous function (seq 50) failed and was skipped: plain string');
  });

  it('delete removes the function added with that seq only', () => {
    const { h } = hooks();
    const calls: string[] = [];
    const f = () => {
      calls.push('f');
    };
    const g = () => {
      calls.push('g');
    };
    h.add('h', 'localhost', f, 10);
    h.add('h', 'localhost', f, 90);
    h.add('h', 'localhost', g, 50);
    h.delete('h', 'localhost', f, 10);
    h.run('h', 'localhost', []);
    expect(calls).toEqual(['g', 'f']);
    h.delete('h', 'localhost', f, 90);
    h.delete('h', 'localhost', g);
    expect(h.count('h', 'localhost')).toBe(0);
    // Deleting what is not there is harmless.
    h.delete('h', 'localhost', g);
    h.delete('other', 'localhost', g);
    calls.length = 0;
    h.run('h', 'localhost', []);
    expect(calls).toEqual([]);
  });

  it('adding the same function with the same seq twice registers it once, as ejabberd_hooks:add does', () => {
    const { h } = hooks();
    let calls = 0;
    const f = () => {
      calls++;
    };
    h.add('h', 'localhost', f, 50);
    h.add('h', 'localhost', f, 50);
    h.run('h', 'localhost', []);
    expect(calls).toBe(1);
    expect(h.count('h', 'localhost')).toBe(1);
  });

  it('functions are per host: running on one host never calls another host’s, nor global ones', () => {
    const { h } = hooks();
    const calls: string[] = [];
    h.add('h', 'a.test', () => calls.push('a'));
    h.add('h', 'b.test', () => calls.push('b'));
    h.add('h', GLOBAL, () => calls.push('global'));
    h.run('h', 'a.test', []);
    h.run('h', GLOBAL, []);
    expect(calls).toEqual(['a', 'global']);
    h.delete('h', 'a.test', () => {});
    expect(h.count('h', 'a.test')).toBe(1);
    expect(h.count('h', 'b.test')).toBe(1);
  });

  it('a function added while the chain runs does not join the running chain', () => {
    const { h } = hooks();
    const calls: string[] = [];
    h.add(
      'h',
      'localhost',
      () => {
        calls.push('first');
        h.add('h', 'localhost', () => calls.push('late'), 90);
      },
      10,
    );
    h.run('h', 'localhost', []);
    expect(calls).toEqual(['first']);
    h.run('h', 'localhost', []);
    expect(calls).toEqual(['first', 'first', 'late']);
  });

  it('an async function: the rest of the chain waits for it, run returns a promise', async () => {
    const { h } = hooks();
    const calls: string[] = [];
    const gate = deferred();
    h.add(
      'h',
      'localhost',
      async () => {
        calls.push('async start');
        await gate.promise;
        calls.push('async end');
      },
      10,
    );
    h.add(
      'h',
      'localhost',
      () => {
        calls.push('next');
      },
      20,
    );
    const done = h.run('h', 'localhost', []);
    expect(done).toBeInstanceOf(Promise);
    await settle();
    expect(calls).toEqual(['async start']);
    gate.resolve();
    await done;
    expect(calls).toEqual(['async start', 'async end', 'next']);
  });

  it("an async function resolving to 'stop' ends the chain; a rejecting one is logged and skipped", async () => {
    const { h, log } = hooks();
    const calls: string[] = [];
    h.add('stopping', 'localhost', async () => 'stop', 10);
    h.add('stopping', 'localhost', () => calls.push('not reached'), 20);
    await h.run('stopping', 'localhost', []);
    h.add(
      'rejecting',
      'localhost',
      async function flaky() {
        throw new Error('timeout');
      },
      10,
    );
    h.add('rejecting', 'localhost', () => calls.push('reached'), 20);
    await h.run('rejecting', 'localhost', []);
    expect(calls).toEqual(['reached']);
    expect(
      log.lines.some(
        (l) => l.includes('hook rejecting on localhost: flaky (seq 10) failed') && l.includes('timeout'),
      ),
    ).toBe(true);
  });
});

describe('ejabberd_hooks: run_fold', () => {
  it('threads the accumulator through the chain in seq order', () => {
    const { h } = hooks();
    h.add('f', 'localhost', (acc: string[], x: string) => [...acc, `30${x}`], 30);
    h.add('f', 'localhost', (acc: string[], x: string) => [...acc, `10${x}`], 10);
    expect(h.run_fold('f', 'localhost', ['start'], ['!'])).toEqual(['start', '10!', '30!']);
  });

  it('with no function the initial accumulator comes back', () => {
    const { h } = hooks();
    const acc = { a: 1 };
    expect(h.run_fold('f', 'localhost', acc, [])).toBe(acc);
  });

  it("'stop' ends the chain with 'stopped'; ['stop', acc] ends it with acc", () => {
    const { h } = hooks();
    const calls: string[] = [];
    h.add('plain', 'localhost', () => 'stop', 10);
    h.add(
      'plain',
      'localhost',
      (acc: number) => {
        calls.push('plain 20');
        return acc + 1;
      },
      20,
    );
    expect(h.run_fold('plain', 'localhost', 1, [])).toBe('stopped');
    h.add('with', 'localhost', (acc: number) => acc + 1, 10);
    h.add('with', 'localhost', (acc: number) => ['stop', acc * 10], 20);
    h.add(
      'with',
      'localhost',
      (acc: number) => {
        calls.push('with 30');
        return acc + 1;
      },
      30,
    );
    expect(h.run_fold('with', 'localhost', 1, [])).toBe(20);
    expect(calls).toEqual([]);
  });

  it('a function that throws is skipped and the accumulator it got goes on to the next', () => {
    const { h, log } = hooks();
    h.add('f', 'localhost', (acc: number) => acc + 1, 10);
    h.add(
      'f',
      'localhost',
      () => {
        throw new Error('bad');
      },
      20,
    );
    h.add('f', 'localhost', (acc: number) => acc * 10, 30);
    expect(h.run_fold('f', 'localhost', 1, [])).toBe(20);
    expect(log.lines.filter((l) => l.startsWith('[error] hook f on localhost'))).toHaveLength(1);
  });

  it('async functions: the fold resolves with the final accumulator; rejections are skipped', async () => {
    const { h } = hooks();
    h.add('f', 'localhost', async (acc: number) => acc + 1, 10);
    h.add(
      'f',
      'localhost',
      async () => {
        throw new Error('no');
      },
      20,
    );
    h.add('f', 'localhost', (acc: number) => acc * 10, 30);
    const result = h.run_fold('f', 'localhost', 1, []);
    expect(result).toBeInstanceOf(Promise);
    expect(await result).toBe(20);
    h.add('g', 'localhost', async (acc: number) => ['stop', acc + 100], 10);
    h.add('g', 'localhost', (acc: number) => acc * 0, 20);
    expect(await h.run_fold('g', 'localhost', 1, [])).toBe(101);
    h.add('s', 'localhost', async () => 'stop', 10);
    expect(await h.run_fold('s', 'localhost', 1, [])).toBe('stopped');
  });

  it('per host: a fold on one host does not see another host’s functions', () => {
    const { h } = hooks();
    h.add('f', 'a.test', (acc: number) => acc + 1);
    h.add('f', 'b.test', (acc: number) => acc + 100);
    expect(h.run_fold('f', 'a.test', 0, [])).toBe(1);
    expect(h.run_fold('f', 'b.test', 0, [])).toBe(100);
    expect(h.run_fold('f', 'c.test', 0, [])).toBe(0);
  });
});

describe('ejabberd_hooks in the router: a slow async hook delays only its own packet', () => {
  it('other packets are delivered while a filter_packet hook awaits for one', async () => {
    const { node } = await startNode();
    const bob = connect(node, 'bob@localhost/pc', 1);
    const gate = deferred();
    const body = (p: XmlElement) => {
      const b = p[3].find((c) => c[0] === 'xmlelement' && c[1] === 'body');
      return b !== undefined && b[0] === 'xmlelement' && b[3][0]?.[0] === 'xmlcdata' ? b[3][0][1] : '';
    };
    node.ejabberd_hooks.add('filter_packet', GLOBAL, (acc: FilterAcc) => {
      if (acc !== 'drop' && body(acc[2]) === 'slow') return gate.promise.then(() => acc);
      return acc;
    });
    send(node, 'alice@localhost/phone', 'bob@localhost/pc', message({ type: 'chat', body: 'slow' }));
    send(node, 'dave@localhost/tablet', 'bob@localhost/pc', message({ type: 'chat', body: 'fast 1' }));
    send(node, 'carol@localhost/pc', 'bob@localhost/pc', message({ type: 'chat', body: 'fast 2' }));
    await settle();
    expect(bob.process.received.map((r) => body(r.packet))).toEqual(['fast 1', 'fast 2']);
    gate.resolve();
    await settle();
    expect(bob.process.received.map((r) => body(r.packet))).toEqual(['fast 1', 'fast 2', 'slow']);
  });

  it('other users are served while a slow async offline hook works on one message', async () => {
    const { node } = await startNode();
    const alice = connect(node, 'alice@localhost/phone', 1);
    const bob = connect(node, 'bob@localhost/pc', 1);
    const gate = deferred();
    const stored: string[] = [];
    node.ejabberd_hooks.add(
      'offline_message_hook',
      'localhost',
      async (_acc: unknown, _from: unknown, to: { luser: string }) => {
        await gate.promise;
        stored.push(to.luser);
        return 'stored';
      },
    );
    send(node, 'alice@localhost/phone', 'carol@localhost', message({ type: 'chat' }));
    send(node, 'alice@localhost/phone', 'bob@localhost', message({ type: 'chat', body: 'meanwhile' }));
    send(node, 'bob@localhost/pc', 'alice@localhost', message({ type: 'chat', body: 'reply' }));
    await settle();
    expect(bob.process.received).toHaveLength(1);
    expect(alice.process.received).toHaveLength(1);
    expect(stored).toEqual([]);
    gate.resolve();
    await settle();
    expect(stored).toEqual(['carol']);
    expect(alice.process.received).toHaveLength(1);
  });
});
