import { MemoryLogger } from '@tsjabberd/router';
import { describe, expect, it } from 'vitest';
import { EjabberdAuth } from '../src/auth/ejabberd_auth.js';
import { startSasl } from '../src/auth/sasl.js';
import { AuthThrottle, throttleKey } from '../src/auth/throttle.js';
import { memoryStorage } from '../src/storage/memory.js';
import type { Storage } from '../src/storage/storage.js';

function setup(iterations = 64) {
  const storage: Storage = memoryStorage();
  const log = new MemoryLogger();
  const auth = new EjabberdAuth(storage, { iterations, log });
  return { storage, log, auth };
}

describe('EjabberdAuth', () => {
  it('try_register creates an account once, keyed by the prepared user and host', async () => {
    const { auth, storage } = setup();
    expect(await auth.try_register('Alice', 'Example.COM', 'secret')).toBe('ok');
    expect(await auth.try_register('alice', 'example.com', 'other')).toBe('exists');
    expect(await auth.try_register('ALICE', 'example.com.', 'other')).toBe('exists');
    const account = await storage.accounts.get('alice', 'example.com');
    expect(account).toMatchObject({ user: 'alice', host: 'example.com' });
    expect(account!.created).toBeGreaterThan(0);
    expect(account!.password.sha256.iterations).toBe(64);
    // The same user on another host is another account.
    expect(await auth.try_register('alice', 'example.org', 'secret')).toBe('ok');
  });

  it('never stores nor logs the password', async () => {
    const { auth, storage, log } = setup();
    const password = 'hunter2-is-my-password';
    await auth.try_register('alice', 'example.com', password);
    await auth.set_password('alice', 'example.com', `${password}!`);
    await auth.check_password('alice', 'example.com', password);
    const stored = JSON.stringify(await storage.accounts.get('alice', 'example.com'));
    expect(stored).not.toContain('hunter2');
    expect(stored).not.toContain(Buffer.from(password).toString('base64').slice(0, 12));
    expect(log.lines.length).toBeGreaterThan(0);
    expect(log.lines.join('\n')).not.toContain('hunter2');
    expect(log.lines).toContain('[info] registered account alice@example.com');
  });

  it.each([
    ['an empty user', '', 'example.com', 'secret'],
    ['a space in the user', 'a b', 'example.com', 'secret'],
    ['an @ in the user', 'a@b', 'example.com', 'secret'],
    ['a / in the user', 'a/b', 'example.com', 'secret'],
    ['a : in the user', 'a:b', 'example.com', 'secret'],
    ['a control character in the user', 'a\u0007', 'example.com', 'secret'],
    ['a user longer than 1023 bytes', 'a'.repeat(1024), 'example.com', 'secret'],
    ['an empty host', 'alice', '', 'secret'],
    ['an invalid host', 'alice', 'exa mple.com', 'secret'],
    ['an empty password', 'alice', 'example.com', ''],
    ['a password of ignorable characters', 'alice', 'example.com', '\u00ad\u200b'],
    ['a control character in the password', 'alice', 'example.com', 'sec\u0000ret'],
  ])('try_register refuses %s as invalid', async (_, user, host, password) => {
    const { auth, storage } = setup();
    expect(await auth.try_register(user, host, password)).toBe('invalid');
    expect(await storage.accounts.count('example.com')).toBe(0);
  });

  it('user_exists follows register and remove_user', async () => {
    const { auth } = setup();
    expect(await auth.user_exists('alice', 'example.com')).toBe(false);
    await auth.try_register('alice', 'example.com', 'secret');
    expect(await auth.user_exists('ALICE', 'EXAMPLE.com')).toBe(true);
    expect(await auth.user_exists('alice', 'example.org')).toBe(false);
    expect(await auth.user_exists('a b', 'example.com')).toBe(false);
    expect(await auth.remove_user('Alice', 'example.com')).toBe(true);
    expect(await auth.remove_user('alice', 'example.com')).toBe(false);
    expect(await auth.remove_user('a b', 'example.com')).toBe(false);
    expect(await auth.user_exists('alice', 'example.com')).toBe(false);
    expect(await auth.check_password('alice', 'example.com', 'secret')).toBe(false);
  });

  it('check_password accepts the password (and its SASLprep equivalents) only', async () => {
    const { auth } = setup();
    await auth.try_register('alice', 'example.com', 'caf\u00e9 au lait');
    expect(await auth.check_password('alice', 'example.com', 'caf\u00e9 au lait')).toBe(true);
    expect(await auth.check_password('Alice', 'example.com', 'cafe\u0301\u00a0au lait')).toBe(true);
    expect(await auth.check_password('alice', 'example.com', 'cafe au lait')).toBe(false);
    expect(await auth.check_password('alice', 'example.com', '')).toBe(false);
    expect(await auth.check_password('nobody', 'example.com', 'caf\u00e9 au lait')).toBe(false);
    expect(await auth.check_password('a b', 'example.com', 'x')).toBe(false);
    expect(await auth.check_password('alice', 'example.org', 'caf\u00e9 au lait')).toBe(false);
  });

  it('set_password replaces the credentials of existing accounts only', async () => {
    const { auth, storage } = setup();
    await auth.try_register('alice', 'example.com', 'old');
    const before = await storage.accounts.get('alice', 'example.com');
    expect(await auth.set_password('alice', 'example.com', 'new')).toBe(true);
    expect(await auth.check_password('alice', 'example.com', 'new')).toBe(true);
    expect(await auth.check_password('alice', 'example.com', 'old')).toBe(false);
    const after = await storage.accounts.get('alice', 'example.com');
    expect(after!.password.sha1.salt).not.toBe(before!.password.sha1.salt);
    expect(after!.created).toBe(before!.created);
    expect(await auth.set_password('nobody', 'example.com', 'new')).toBe(false);
    expect(await auth.user_exists('nobody', 'example.com')).toBe(false);
    expect(await auth.set_password('alice', 'example.com', '')).toBe(false);
    expect(await auth.set_password('alice', 'example.com', 'a\u0007')).toBe(false);
    expect(await auth.set_password('a b', 'example.com', 'new')).toBe(false);
    expect(await auth.check_password('alice', 'example.com', 'new')).toBe(true);
  });

  it('get_users and count_users', async () => {
    const { auth } = setup();
    for (const user of ['carol', 'alice', 'bob']) await auth.try_register(user, 'example.com', 'x');
    expect(await auth.get_users('Example.com')).toEqual(['alice', 'bob', 'carol']);
    expect(await auth.count_users('example.com')).toBe(3);
    expect(await auth.count_users('example.org')).toBe(0);
    expect(await auth.get_users('')).toEqual([]);
  });

  it('refuses a nonsensical iteration count', () => {
    expect(() => new EjabberdAuth(memoryStorage(), { iterations: 0 })).toThrow(RangeError);
  });

  it('uses 4096 iterations by default', async () => {
    const storage = memoryStorage();
    const auth = new EjabberdAuth(storage);
    await auth.try_register('alice', 'example.com', 'secret');
    const account = await storage.accounts.get('alice', 'example.com');
    expect(account!.password.sha1.iterations).toBe(4096);
    expect(account!.password.sha256.iterations).toBe(4096);
    expect(auth.credentials('example.com').iterations).toBe(4096);
  });

  describe('credentials(host): what SASL authenticates against', () => {
    it('hands out the stored SCRAM credentials of the host', async () => {
      const { auth, storage } = setup();
      await auth.try_register('alice', 'example.com', 'secret');
      const account = await storage.accounts.get('alice', 'example.com');
      const creds = auth.credentials('EXAMPLE.com');
      expect(creds.iterations).toBe(64);
      expect(await creds.scram('alice', 'sha1')).toEqual(account!.password.sha1);
      expect(await creds.scram('alice', 'sha256')).toEqual(account!.password.sha256);
      expect(await creds.scram('nobody', 'sha256')).toBeUndefined();
      expect(await auth.credentials('example.org').scram('alice', 'sha256')).toBeUndefined();
      expect(await auth.credentials('').scram('alice', 'sha256')).toBeUndefined();
      expect(await creds.checkPlain('alice', 'secret')).toBe(true);
      expect(await creds.checkPlain('alice', 'Secret')).toBe(false);
      expect(await creds.checkPlain('nobody', 'secret')).toBe(false);
    });

    it('PLAIN over EjabberdAuth', async () => {
      const { auth } = setup();
      await auth.try_register('alice', 'example.com', 'secret');
      const run = (message: string) =>
        startSasl('PLAIN', auth.credentials('example.com'), 'example.com')!.step(Buffer.from(message));
      expect(await run('\0alice\0secret')).toEqual({ kind: 'success', user: 'alice' });
      expect(await run('\0alice\0wrong')).toEqual({ kind: 'failure', condition: 'not-authorized' });
      expect(await run('\0nobody\0secret')).toEqual({ kind: 'failure', condition: 'not-authorized' });
    });

    it('SCRAM-SHA-256 over EjabberdAuth: an unknown user gets a salt of the same size as a real one', async () => {
      const { auth } = setup();
      await auth.try_register('alice', 'example.com', 'secret');
      const first = async (user: string) => {
        const server = startSasl('SCRAM-SHA-256', auth.credentials('example.com'), 'example.com')!;
        const result = await server.step(Buffer.from(`n,,n=${user},r=abcdef`));
        if (result.kind !== 'challenge') throw new Error(JSON.stringify(result));
        return result.data.toString();
      };
      const shape = (m: string) => m.replace(/^r=abcdef[^,]+,s=[A-Za-z0-9+/]{22}==,i=64$/, 'ok');
      expect(shape(await first('alice'))).toBe('ok');
      expect(shape(await first('nobody'))).toBe('ok');
    });
  });
});

describe('AuthThrottle', () => {
  function clock() {
    let t = 1_000_000;
    return { now: () => t, advance: (ms: number) => (t += ms) };
  }

  it('lets a few failures through, then doubles the delay up to a ceiling', () => {
    const throttle = new AuthThrottle({ freeFailures: 3, baseDelay: 1000, maxDelay: 8000 });
    const delays: number[] = [];
    for (let i = 0; i < 9; i++) {
      delays.push(throttle.delayFor('192.0.2.1'));
      throttle.failure('192.0.2.1');
    }
    expect(delays).toEqual([0, 0, 0, 0, 1000, 2000, 4000, 8000, 8000]);
    // Other addresses are not affected.
    expect(throttle.delayFor('192.0.2.2')).toBe(0);
  });

  it('uses sensible defaults and never overflows', () => {
    const throttle = new AuthThrottle();
    for (let i = 0; i < 3; i++) throttle.failure('192.0.2.1');
    expect(throttle.delayFor('192.0.2.1')).toBe(0);
    throttle.failure('192.0.2.1');
    expect(throttle.delayFor('192.0.2.1')).toBe(1000);
    for (let i = 0; i < 2000; i++) throttle.failure('192.0.2.1');
    expect(throttle.delayFor('192.0.2.1')).toBe(30_000);
  });

  it('a success resets the address', () => {
    const throttle = new AuthThrottle({ freeFailures: 1 });
    for (let i = 0; i < 5; i++) throttle.failure('192.0.2.1');
    expect(throttle.delayFor('192.0.2.1')).toBeGreaterThan(0);
    throttle.success('192.0.2.1');
    expect(throttle.delayFor('192.0.2.1')).toBe(0);
    expect(throttle.size).toBe(0);
    throttle.failure('192.0.2.1');
    expect(throttle.delayFor('192.0.2.1')).toBe(0);
  });

  it('forgets an address some time after its last failure', () => {
    const c = clock();
    const throttle = new AuthThrottle({ freeFailures: 0, ttl: 60_000, now: c.now });
    throttle.failure('192.0.2.1');
    c.advance(59_000);
    throttle.failure('192.0.2.1');
    expect(throttle.delayFor('192.0.2.1')).toBe(2000);
    c.advance(59_000);
    expect(throttle.delayFor('192.0.2.1')).toBe(2000);
    c.advance(1000);
    expect(throttle.delayFor('192.0.2.1')).toBe(0);
    expect(throttle.size).toBe(0);
    // Expired entries of other addresses go as new failures arrive.
    throttle.failure('192.0.2.2');
    c.advance(60_000);
    throttle.failure('192.0.2.3');
    expect(throttle.size).toBe(1);
  });

  it('tracks a bounded number of addresses, forgetting the least recently failing', () => {
    const throttle = new AuthThrottle({ freeFailures: 0, maxAddresses: 100 });
    throttle.failure('keep');
    for (let i = 0; i < 10_000; i++) {
      throttle.failure(`10.0.${i >> 8}.${i & 255}`);
      if (i % 50 === 0) throttle.failure('keep');
    }
    expect(throttle.size).toBeLessThanOrEqual(100);
    expect(throttle.delayFor('keep')).toBeGreaterThan(0);
    expect(throttle.delayFor('10.0.0.0')).toBe(0);
    expect(throttle.delayFor('10.0.39.15')).toBeGreaterThan(0);
  });

  it('groups IPv6 addresses by /64 and IPv4-mapped ones with their IPv4 address', () => {
    expect(throttleKey('192.0.2.1')).toBe('192.0.2.1');
    expect(throttleKey('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(throttleKey('::FFFF:192.0.2.1')).toBe('192.0.2.1');
    expect(throttleKey('2001:db8:0:1::1')).toBe('2001:db8:0:1::/64');
    expect(throttleKey('2001:0db8:0000:0001:ffff:0:0:2')).toBe('2001:db8:0:1::/64');
    expect(throttleKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(throttleKey('::1')).toBe('0:0:0:0::/64');
    expect(throttleKey('64:ff9b::192.0.2.1')).toBe('64:ff9b:0:0::/64');
    expect(throttleKey('not an address')).toBe('not an address');
    const throttle = new AuthThrottle({ freeFailures: 0 });
    throttle.failure('2001:db8:0:1::1');
    throttle.failure('2001:db8:0:1::2');
    expect(throttle.delayFor('2001:db8:0:1:abcd::9')).toBe(2000);
    expect(throttle.delayFor('2001:db8:0:2::1')).toBe(0);
  });
});
