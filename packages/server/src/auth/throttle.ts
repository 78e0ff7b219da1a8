import { isIP } from 'node:net';

/**
 * Slowing down password guessing (what ejabberd leaves to mod_fail2ban, which bans instead): after a few
 * failed authentications from one remote address, each further answer is delayed, twice as long each
 * time, up to a ceiling. A success from the address forgets it. Memory is bounded: at most
 * `maxAddresses` addresses are tracked (the least recently failing ones are forgotten first) and an
 * address is forgotten `ttl` milliseconds after its last failure.
 *
 * Addresses are grouped the way an attacker gets them: an IPv4-mapped IPv6 address counts as its IPv4
 * address, and an IPv6 address as its /64 network (one subscriber's allocation). Anything that is not
 * an IP address is used as it is.
 */

export interface AuthThrottleOptions {
  /** Failures answered without delay (default 3). */
  freeFailures?: number;
  /** Delay after the first failure beyond the free ones, in ms; doubled with each further one (default 1000). */
  baseDelay?: number;
  /** Ceiling of the delay in ms (default 30000). */
  maxDelay?: number;
  /** An address is forgotten this many ms after its last failure (default 600000: ten minutes). */
  ttl?: number;
  /** At most this many addresses are tracked (default 10000). */
  maxAddresses?: number;
  /** The clock, in ms (default `Date.now`). For tests. */
  now?: () => number;
}

interface Entry {
  failures: number;
  /** When the last failure was counted. */
  last: number;
}

export class AuthThrottle {
  private readonly freeFailures: number;
  private readonly baseDelay: number;
  private readonly maxDelay: number;
  private readonly ttl: number;
  private readonly maxAddresses: number;
  private readonly now: () => number;
  /** In order of last failure, oldest first (an entry is moved to the end when it fails again). */
  private readonly entries = new Map<string, Entry>();

  constructor(opts: AuthThrottleOptions = {}) {
    this.freeFailures = opts.freeFailures ?? 3;
    this.baseDelay = opts.baseDelay ?? 1000;
    this.maxDelay = opts.maxDelay ?? 30_000;
    this.ttl = opts.ttl ?? 600_000;
    this.maxAddresses = Math.max(1, opts.maxAddresses ?? 10_000);
    this.now = opts.now ?? Date.now;
  }

  /** The number of addresses tracked. */
  get size(): number {
    return this.entries.size;
  }

  /** Milliseconds to wait before answering an authentication attempt from `address`. */
  delayFor(address: string): number {
    const entry = this.live(throttleKey(address));
    if (entry === undefined || entry.failures <= this.freeFailures) return 0;
    const doublings = Math.min(entry.failures - this.freeFailures - 1, 30);
    return Math.min(this.maxDelay, this.baseDelay * 2 ** doublings);
  }

  /** Count a failed authentication from `address`. */
  failure(address: string): void {
    const key = throttleKey(address);
    const now = this.now();
    const entry = this.live(key);
    this.entries.delete(key);
    this.entries.set(key, { failures: (entry?.failures ?? 0) + 1, last: now });
    this.prune(now);
  }

  /** A successful authentication from `address`: it starts afresh. */
  success(address: string): void {
    this.entries.delete(throttleKey(address));
  }

  /** The entry of `key` unless it has expired (then it is dropped). */
  private live(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (this.now() - entry.last < this.ttl) return entry;
    this.entries.delete(key);
    return undefined;
  }

  /** Drop expired entries and the oldest beyond the limit; both sit at the front of the map. */
  private prune(now: number): void {
    for (const [key, entry] of this.entries) {
      if (this.entries.size <= this.maxAddresses && now - entry.last < this.ttl) break;
      this.entries.delete(key);
    }
  }
}

/** The key an address is counted under: IPv4, an IPv6 /64 prefix, or the string as it is. */
export function throttleKey(address: string): string {
  if (isIP(address) !== 6) return address;
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped) return mapped[1];
  return ipv6Prefix64(address) ?? address;
}

/** `2001:db8:1:2::/64` for any address in that network; undefined if `address` does not parse. */
function ipv6Prefix64(address: string): string | undefined {
  let a = address.split('%')[0].toLowerCase();
  const v4 = /^(.*:)(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(a);
  if (v4) {
    const [b0, b1, b2, b3] = v4.slice(2).map(Number);
    a = `${v4[1]}${((b0 << 8) | b1).toString(16)}:${((b2 << 8) | b3).toString(16)}`;
  }
  const halves = a.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] === '' ? [] : halves[0].split(':');
  const tail = halves.length === 2 && halves[1] !== '' ? halves[1].split(':') : [];
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  if (fill < 0) return undefined;
  const groups = [...head, ...new Array<string>(fill).fill('0'), ...tail];
  if (groups.length !== 8) return undefined;
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}
