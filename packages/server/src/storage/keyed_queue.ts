/**
 * Runs tasks one at a time per key, in the order they arrive, while different keys run side by side.
 * A read-modify-write of one user's roster (a client's roster set, a subscription, an admin command)
 * then never interleaves with another change to the same roster.
 */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  /** Runs `fn` after every task queued earlier under `key` has settled; its result or error. */
  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const next = previous.then(fn, fn);
    const tail = next.catch(() => {});
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }

  /** How many keys have work queued (for tests: an idle queue holds nothing). */
  get size(): number {
    return this.tails.size;
  }
}
