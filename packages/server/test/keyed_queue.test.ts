import { describe, expect, it } from 'vitest';
import { KeyedQueue } from '../src/storage/keyed_queue.js';

/** A promise and the function that settles it. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = () => {};
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

describe('KeyedQueue', () => {
  it('runs the tasks of one key one at a time, in order', async () => {
    const q = new KeyedQueue();
    const log: string[] = [];
    const first = gate();
    const a = q.run('alice@localhost', async () => {
      log.push('a start');
      await first.promise;
      log.push('a end');
      return 'a';
    });
    const b = q.run('alice@localhost', async () => {
      log.push('b');
      return 'b';
    });
    await new Promise((r) => setTimeout(r, 10));
    expect(log).toEqual(['a start']);
    first.open();
    expect(await Promise.all([a, b])).toEqual(['a', 'b']);
    expect(log).toEqual(['a start', 'a end', 'b']);
  });

  it('runs different keys side by side', async () => {
    const q = new KeyedQueue();
    const held = gate();
    const log: string[] = [];
    const a = q.run('alice@localhost', async () => {
      await held.promise;
      log.push('alice');
    });
    await q.run('bob@localhost', async () => {
      log.push('bob');
    });
    expect(log).toEqual(['bob']);
    held.open();
    await a;
    expect(log).toEqual(['bob', 'alice']);
  });

  it('a failing task rejects its caller only; the next one runs; an idle queue holds nothing', async () => {
    const q = new KeyedQueue();
    const failed = q.run('alice@localhost', async () => {
      throw new Error('disk full');
    });
    const next = q.run('alice@localhost', async () => 'ran');
    await expect(failed).rejects.toThrow('disk full');
    expect(await next).toBe('ran');
    await new Promise((r) => setTimeout(r, 0));
    expect(q.size).toBe(0);
  });
});
