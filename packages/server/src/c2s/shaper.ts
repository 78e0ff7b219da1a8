import type { ShaperConfig } from '../config/types.js';

/**
 * ejabberd's shaper: a token bucket on what a client sends. Each chunk read costs its size in bytes;
 * when the bucket is empty the connection is paused for as long as the rate needs to refill it, so a
 * flooding client is slowed down instead of starving the others.
 */
export class Shaper {
  private tokens: number;
  private last: number;

  constructor(
    private readonly config: ShaperConfig,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = config.burst_size;
    this.last = this.now();
  }

  /** Takes `bytes` from the bucket; returns how many ms to pause reading (0: go on). */
  update(bytes: number): number {
    const t = this.now();
    const { rate, burst_size } = this.config;
    this.tokens = Math.min(burst_size, this.tokens + ((t - this.last) * rate) / 1000);
    this.last = t;
    this.tokens -= bytes;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens * 1000) / rate);
  }
}
