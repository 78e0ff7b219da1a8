import { describe, expect, it } from 'vitest';
import { Shaper } from '../src/c2s/shaper.js';

describe('Shaper (a token bucket on what a client sends)', () => {
  it('lets a burst through, then asks for a pause proportional to the excess', () => {
    let now = 0;
    const shaper = new Shaper({ rate: 1000, burst_size: 5000 }, () => now);
    expect(shaper.update(5000)).toBe(0);
    expect(shaper.update(500)).toBe(500); // 500 bytes over at 1000 B/s: half a second
    now += 500;
    expect(shaper.update(0)).toBe(0);
  });

  it('refills at the rate, never above the burst size', () => {
    let now = 0;
    const shaper = new Shaper({ rate: 1000, burst_size: 2000 }, () => now);
    expect(shaper.update(2000)).toBe(0);
    now += 60_000; // a minute idle refills only up to the burst
    expect(shaper.update(2000)).toBe(0);
    expect(shaper.update(1000)).toBe(1000);
  });

  it('slows a flood to the rate: a megabyte at 10 kB/s waits about 100 s in all', () => {
    let now = 0;
    const shaper = new Shaper({ rate: 10_000, burst_size: 10_000 }, () => now);
    let waited = 0;
    for (let i = 0; i < 256; i++) {
      const pause = shaper.update(4096);
      waited += pause;
      now += pause;
    }
    expect(waited).toBeGreaterThan(90_000);
    expect(waited).toBeLessThan(110_000);
  });
});
