import type { Logger } from './logger.js';

/** The host of hooks that are not per virtual host (ejabberd's `global`). */
export const GLOBAL = 'global';

// Each hook has its own arguments, as in ejabberd; `any` lets a typed function be added to any of them.
/** A hook function for `run`: returning `'stop'` ends the chain. It may be async. */
// biome-ignore lint/suspicious/noExplicitAny: arguments differ per hook
export type RunHook = (...args: any[]) => unknown;
/**
 * A hook function for `run_fold`: gets the accumulator first and returns the new one, or `'stop'`
 * (end the chain, result `'stopped'`), or `['stop', Acc]` (end the chain with `Acc`). It may be async.
 */
// biome-ignore lint/suspicious/noExplicitAny: the accumulator and arguments differ per hook
export type FoldHook = (acc: any, ...args: any[]) => unknown;

interface Entry {
  seq: number;
  // biome-ignore lint/suspicious/noExplicitAny: either kind of hook function
  fn: (...args: any[]) => unknown;
}

function isThenable(x: unknown): x is PromiseLike<unknown> {
  return typeof x === 'object' && x !== null && typeof (x as PromiseLike<unknown>).then === 'function';
}

/**
 * ejabberd_hooks: named hooks per host, each a chain of functions ordered by `seq` (lower first, ties
 * in the order they were added). A function that throws (or rejects) is logged and skipped: one bad
 * module must not break the chain for the others.
 *
 * A chain of synchronous functions runs synchronously. When a function returns a promise the rest of
 * the chain waits for it, but the caller (the router) does not: `run` and `run_fold` then return a
 * promise, and the event loop, so every other session, goes on. A hook that reads a slow database
 * therefore delays only the packet it is about.
 */
export class EjabberdHooks {
  private readonly table = new Map<string, Map<string, Entry[]>>();

  constructor(private readonly log: Logger) {}

  /** `ejabberd_hooks:add(Hook, Host, Function, Seq)`. */
  add(hook: string, host: string, fn: RunHook | FoldHook, seq = 50): void {
    let hosts = this.table.get(hook);
    if (hosts === undefined) {
      hosts = new Map();
      this.table.set(hook, hosts);
    }
    // A new array each time: a chain being run keeps the list it started with.
    const entries = [...(hosts.get(host) ?? [])];
    // As in ejabberd, adding the same function with the same seq again changes nothing.
    if (entries.some((e) => e.fn === fn && e.seq === seq)) return;
    const at = entries.findIndex((e) => e.seq > seq);
    const entry = { seq, fn };
    if (at === -1) entries.push(entry);
    else entries.splice(at, 0, entry);
    hosts.set(host, entries);
  }

  /** `ejabberd_hooks:delete(Hook, Host, Function, Seq)`. */
  delete(hook: string, host: string, fn: RunHook | FoldHook, seq = 50): void {
    const hosts = this.table.get(hook);
    const entries = hosts?.get(host);
    if (hosts === undefined || entries === undefined) return;
    const rest = entries.filter((e) => !(e.fn === fn && e.seq === seq));
    if (rest.length === 0) hosts.delete(host);
    else hosts.set(host, rest);
  }

  /** How many functions are attached to `hook` on `host`. */
  count(hook: string, host: string): number {
    return this.table.get(hook)?.get(host)?.length ?? 0;
  }

  /** `ejabberd_hooks:run(Hook, Host, Args)`: each function in order until one returns `'stop'`. */
  run(hook: string, host: string, args: unknown[]): void | Promise<void> {
    const entries = this.table.get(hook)?.get(host);
    if (entries === undefined) return;
    return this.runFrom(hook, host, entries, 0, args);
  }

  private runFrom(
    hook: string,
    host: string,
    entries: Entry[],
    from: number,
    args: unknown[],
  ): void | Promise<void> {
    for (let i = from; i < entries.length; i++) {
      let result: unknown;
      try {
        result = entries[i].fn(...args);
      } catch (e) {
        this.failed(hook, host, entries[i], e);
        continue;
      }
      if (isThenable(result)) {
        return Promise.resolve(result).then(
          (r) => (r === 'stop' ? undefined : this.runFrom(hook, host, entries, i + 1, args)),
          (e) => {
            this.failed(hook, host, entries[i], e);
            return this.runFrom(hook, host, entries, i + 1, args);
          },
        );
      }
      if (result === 'stop') return;
    }
  }

  /**
   * `ejabberd_hooks:run_fold(Hook, Host, Acc, Args)`: threads `acc` through the chain. Returns the last
   * accumulator, or `'stopped'` when a function returned `'stop'`.
   */
  run_fold<A>(hook: string, host: string, acc: A, args: unknown[]): A | 'stopped' | Promise<A | 'stopped'> {
    const entries = this.table.get(hook)?.get(host);
    if (entries === undefined) return acc;
    return this.foldFrom(hook, host, entries, 0, acc, args);
  }

  private foldFrom<A>(
    hook: string,
    host: string,
    entries: Entry[],
    from: number,
    acc: A,
    args: unknown[],
  ): A | 'stopped' | Promise<A | 'stopped'> {
    for (let i = from; i < entries.length; i++) {
      let result: unknown;
      try {
        result = entries[i].fn(acc, ...args);
      } catch (e) {
        this.failed(hook, host, entries[i], e);
        continue;
      }
      if (isThenable(result)) {
        return Promise.resolve(result).then(
          (r) => {
            const next = this.step<A>(r);
            return next.stop ? next.acc : this.foldFrom(hook, host, entries, i + 1, next.acc, args);
          },
          (e) => {
            this.failed(hook, host, entries[i], e);
            return this.foldFrom(hook, host, entries, i + 1, acc, args);
          },
        );
      }
      const next = this.step<A>(result);
      if (next.stop) return next.acc;
      acc = next.acc as A;
    }
    return acc;
  }

  private step<A>(result: unknown): { stop: true; acc: A | 'stopped' } | { stop: false; acc: A } {
    if (result === 'stop') return { stop: true, acc: 'stopped' };
    if (Array.isArray(result) && result.length === 2 && result[0] === 'stop')
      return { stop: true, acc: result[1] as A };
    return { stop: false, acc: result as A };
  }

  private failed(hook: string, host: string, entry: Entry, e: unknown): void {
    const name = entry.fn.name === '' ? 'an anonymous function' : entry.fn.name;
    const reason = e instanceof Error ? (e.stack ?? e.message) : String(e);
    this.log.error(`hook ${hook} on ${host}: ${name} (seq ${entry.seq}) failed and was skipped: ${reason}`);
  }
}
