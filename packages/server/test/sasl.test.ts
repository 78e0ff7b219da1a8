import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  type SaslCredentials,
  type SaslOptions,
  type SaslResult,
  type SaslServer,
  saslMechanisms,
  startSasl,
} from '../src/auth/sasl.js';
import { type ScramHash, scramCredential, verifyPassword } from '../src/auth/scram.js';
import type { ScramCredential } from '../src/storage/storage.js';

const HOST = 'example.com';
const ITERATIONS = 64;

/** Credentials over a table of users → password (and, for the RFC vectors, a fixed salt). */
function credentials(
  users: Record<string, { password: string; salt?: Record<ScramHash, string>; iterations?: number }>,
  iterations = ITERATIONS,
): SaslCredentials & { asked: string[] } {
  const cache = new Map<string, ScramCredential>();
  const asked: string[] = [];
  const credential = (user: string, hash: ScramHash): ScramCredential | undefined => {
    const entry = users[user];
    if (entry === undefined) return undefined;
    const key = `${hash}:${user}`;
    let cred = cache.get(key);
    if (cred === undefined) {
      const salt = entry.salt
        ? Buffer.from(entry.salt[hash], 'base64')
        : createHash('sha256').update(`salt of ${user} for ${hash}`).digest().subarray(0, 16);
      cred = scramCredential(hash, entry.password, salt, entry.iterations ?? iterations);
      cache.set(key, cred);
    }
    return cred;
  };
  return {
    asked,
    iterations,
    async scram(user, hash) {
      asked.push(user);
      return credential(user, hash);
    },
    async checkPlain(user, password) {
      asked.push(user);
      const cred = credential(user, 'sha256');
      return cred !== undefined && verifyPassword('sha256', cred, password);
    },
  };
}

const USERS = { user: { password: 'pencil' }, 'a,b=c': { password: 'commas' } };

function start(mechanism: string, creds: SaslCredentials = credentials(USERS), opts?: SaslOptions) {
  const server = startSasl(mechanism, creds, HOST, opts);
  if (server === undefined) throw new Error(`no ${mechanism}`);
  return server;
}

const step = (server: SaslServer, message: string | Buffer) =>
  server.step(typeof message === 'string' ? Buffer.from(message, 'utf8') : message);

function challenge(result: SaslResult): string {
  if (result.kind !== 'challenge') throw new Error(`expected a challenge, got ${JSON.stringify(result)}`);
  return result.data.toString('utf8');
}

const HASH_OF: Record<string, ScramHash> = { 'SCRAM-SHA-1': 'sha1', 'SCRAM-SHA-256': 'sha256' };
const LENGTH: Record<ScramHash, number> = { sha1: 20, sha256: 32 };

/** The client side of SCRAM, computed here from RFC 5802 section 3 with node:crypto alone. */
class ScramClient {
  readonly bare: string;
  serverSignature = '';

  constructor(
    readonly hash: ScramHash,
    readonly username: string,
    readonly password: string,
    readonly clientNonce = 'clientnonce0123456789',
    readonly gs2Header = 'n,,',
  ) {
    this.bare = `n=${username.replace(/=/g, '=3D').replace(/,/g, '=2C')},r=${clientNonce}`;
  }

  first(): string {
    return this.gs2Header + this.bare;
  }

  /** The client-final-message for `serverFirst`; `override` replaces the c= or r= attribute sent. */
  final(serverFirst: string, override: { c?: string; r?: string } = {}): string {
    const attrs = new Map(serverFirst.split(',').map((a) => [a[0], a.slice(2)] as const));
    const nonce = override.r ?? attrs.get('r')!;
    const c = override.c ?? Buffer.from(this.gs2Header).toString('base64');
    const salted = pbkdf2Sync(
      this.password,
      Buffer.from(attrs.get('s')!, 'base64'),
      Number(attrs.get('i')),
      LENGTH[this.hash],
      this.hash,
    );
    const clientKey = createHmac(this.hash, salted).update('Client Key').digest();
    const storedKey = createHash(this.hash).update(clientKey).digest();
    const withoutProof = `c=${c},r=${nonce}`;
    const authMessage = `${this.bare},${serverFirst},${withoutProof}`;
    const signature = createHmac(this.hash, storedKey).update(authMessage).digest();
    const proof = Buffer.from(clientKey.map((b, i) => b ^ signature[i]));
    const serverKey = createHmac(this.hash, salted).update('Server Key').digest();
    this.serverSignature = createHmac(this.hash, serverKey).update(authMessage).digest('base64');
    return `${withoutProof},p=${proof.toString('base64')}`;
  }
}

describe('saslMechanisms', () => {
  it('offers PLAIN only over TLS unless allowed', () => {
    expect(saslMechanisms({ tls: true, allowPlainWithoutTls: false })).toEqual([
      'SCRAM-SHA-256',
      'SCRAM-SHA-1',
      'PLAIN',
    ]);
    expect(saslMechanisms({ tls: false, allowPlainWithoutTls: false })).toEqual([
      'SCRAM-SHA-256',
      'SCRAM-SHA-1',
    ]);
    expect(saslMechanisms({ tls: false, allowPlainWithoutTls: true })).toContain('PLAIN');
  });

  it('startSasl knows the three mechanisms, by their exact names', () => {
    const creds = credentials(USERS);
    for (const m of ['SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN']) {
      expect(startSasl(m, creds, HOST)?.mechanism).toBe(m);
    }
    for (const m of [
      'scram-sha-1',
      'SCRAM-SHA-1-PLUS',
      'SCRAM-SHA-512',
      'DIGEST-MD5',
      'X-OAUTH2',
      'toString',
      '',
    ]) {
      expect(startSasl(m, creds, HOST)).toBeUndefined();
    }
  });
});

describe('SCRAM test vectors', () => {
  it('RFC 5802 section 5 (SCRAM-SHA-1), message for message', async () => {
    const salt = { sha1: 'QSXCR+Q6sek8bf92', sha256: '' };
    const creds = credentials({ user: { password: 'pencil', salt, iterations: 4096 } });
    const server = start('SCRAM-SHA-1', creds, { nonce: () => '3rfcNHYJY1ZVvWVs7j' });
    expect(challenge(await step(server, 'n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL'))).toBe(
      'r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096',
    );
    const result = await step(
      server,
      'c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=',
    );
    expect(result).toEqual({
      kind: 'success',
      user: 'user',
      data: Buffer.from('v=rmF9pqV8S7suAoZWja4dJRkFsKQ='),
    });
  });

  it('RFC 7677 section 3 (SCRAM-SHA-256), message for message', async () => {
    const salt = { sha1: '', sha256: 'W22ZaJ0SNY7soEsUEjb6gQ==' };
    const creds = credentials({ user: { password: 'pencil', salt, iterations: 4096 } });
    const server = start('SCRAM-SHA-256', creds, { nonce: () => '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0' });
    expect(challenge(await step(server, 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO'))).toBe(
      'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
    );
    const result = await step(
      server,
      'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
    );
    expect(result).toEqual({
      kind: 'success',
      user: 'user',
      data: Buffer.from('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4='),
    });
  });
});

/** A whole exchange: the server's final result and the client that ran it. */
async function exchange(
  mechanism: string,
  username: string,
  password: string,
  opts: { creds?: SaslCredentials; gs2Header?: string; override?: { c?: string; r?: string } } = {},
) {
  const client = new ScramClient(HASH_OF[mechanism], username, password, undefined, opts.gs2Header);
  const server = start(mechanism, opts.creds);
  const serverFirst = challenge(await step(server, client.first()));
  const result = await step(server, client.final(serverFirst, opts.override));
  return { result, client, serverFirst, server };
}

describe.each(['SCRAM-SHA-256', 'SCRAM-SHA-1'])('%s', (mechanism) => {
  it('a full exchange succeeds, with a server signature the client verifies', async () => {
    const { result, client, serverFirst } = await exchange(mechanism, 'user', 'pencil');
    expect(serverFirst).toMatch(/^r=clientnonce0123456789[A-Za-z0-9+/]{32},s=[A-Za-z0-9+/]+=*,i=64$/);
    expect(result).toEqual({
      kind: 'success',
      user: 'user',
      data: Buffer.from(`v=${client.serverSignature}`),
    });
  });

  it('each exchange has a fresh server nonce', async () => {
    const a = await exchange(mechanism, 'user', 'pencil');
    const b = await exchange(mechanism, 'user', 'pencil');
    expect(a.serverFirst).not.toBe(b.serverFirst);
  });

  it('the username is decoded (=2C, =3D) and nodeprepped', async () => {
    expect((await exchange(mechanism, 'a,b=c', 'commas')).result).toMatchObject({
      kind: 'success',
      user: 'a,b=c',
    });
    expect((await exchange(mechanism, 'USER', 'pencil')).result).toMatchObject({
      kind: 'success',
      user: 'user',
    });
  });

  it('a wrong password is not-authorized', async () => {
    const { result } = await exchange(mechanism, 'user', 'pencil!');
    expect(result).toEqual({ kind: 'failure', condition: 'not-authorized' });
  });

  it('an unknown user fails the same way, after the same kind of server-first message', async () => {
    const known = await exchange(mechanism, 'user', 'pencil!');
    const unknown = await exchange(mechanism, 'nobody', 'pencil');
    expect(unknown.result).toEqual(known.result);
    const shape = (m: string) =>
      m.replace(/^r=[^,]+,s=([^,]+),i=(\d+)$/, (_, s: string, i: string) => {
        return `r=…,s=${Buffer.from(s, 'base64').length} bytes,i=${i}`;
      });
    expect(shape(unknown.serverFirst)).toBe(shape(known.serverFirst));
    expect(shape(unknown.serverFirst)).toBe('r=…,s=16 bytes,i=64');
    // The fake salt is stable for a name (asking twice tells nothing) and differs between names.
    const salt = (m: string) => /,s=([^,]+),/.exec(m)![1];
    const again = await exchange(mechanism, 'nobody', 'other');
    expect(salt(again.serverFirst)).toBe(salt(unknown.serverFirst));
    expect(salt((await exchange(mechanism, 'somebody', 'x')).serverFirst)).not.toBe(
      salt(unknown.serverFirst),
    );
  });

  it('an unknown user is answered with the configured iteration count', async () => {
    const { serverFirst } = await exchange(mechanism, 'nobody', 'x', { creds: credentials(USERS, 4096) });
    expect(serverFirst).toMatch(/,i=4096$/);
  });

  it('a name nodeprep refuses is not-authorized at once', async () => {
    const server = start(mechanism);
    expect(await step(server, 'n,,n=a b,r=abc')).toEqual({ kind: 'failure', condition: 'not-authorized' });
  });

  it('a nonce that is not the combined one is not-authorized', async () => {
    const { result } = await exchange(mechanism, 'user', 'pencil', {
      override: { r: 'clientnonce0123456789x' },
    });
    expect(result).toMatchObject({
      kind: 'failure',
      condition: 'not-authorized',
      text: 'nonce does not match',
    });
  });

  it('channel binding: p= fails, y is accepted with c=eSws, and c= must echo the gs2 header', async () => {
    const server = start(mechanism);
    expect(await step(server, 'p=tls-unique,,n=user,r=abc')).toMatchObject({
      kind: 'failure',
      condition: 'malformed-request',
      text: 'channel binding is not supported',
    });
    const y = await exchange(mechanism, 'user', 'pencil', { gs2Header: 'y,,' });
    expect(y.result.kind).toBe('success');
    expect(y.client.final(y.serverFirst)).toMatch(/^c=eSws,/);
    const mismatch = await exchange(mechanism, 'user', 'pencil', {
      gs2Header: 'y,,',
      override: { c: 'biws' },
    });
    expect(mismatch.result).toMatchObject({ kind: 'failure', condition: 'not-authorized' });
    const cbData = await exchange(mechanism, 'user', 'pencil', {
      override: { c: Buffer.from('n,,channel-binding-data').toString('base64') },
    });
    expect(cbData.result).toMatchObject({ kind: 'failure', condition: 'not-authorized' });
  });

  it('an authzid must be empty or the bare JID of the user', async () => {
    for (const authzid of ['user@example.com', 'USER@Example.COM', 'user@example.com.']) {
      const { result, client } = await exchange(mechanism, 'user', 'pencil', {
        gs2Header: `n,a=${authzid},`,
      });
      expect(result).toEqual({
        kind: 'success',
        user: 'user',
        data: Buffer.from(`v=${client.serverSignature}`),
      });
    }
    for (const authzid of [
      'other@example.com',
      'user@example.org',
      'user@example.com/res',
      'example.com',
      'x@',
    ]) {
      const server = start(mechanism);
      expect(await step(server, `n,a=${authzid},n=user,r=abc`)).toEqual({
        kind: 'failure',
        condition: 'invalid-authzid',
      });
    }
    // The authzid is a saslname too: "a,b=c@example.com" arrives encoded.
    const { result } = await exchange(mechanism, 'a,b=c', 'commas', {
      gs2Header: 'n,a=a=2Cb=3Dc@example.com,',
    });
    expect(result).toMatchObject({ kind: 'success', user: 'a,b=c' });
  });

  it('an empty initial response gets an empty challenge, then the exchange goes on', async () => {
    const server = start(mechanism);
    expect(await step(server, '')).toEqual({ kind: 'challenge', data: Buffer.alloc(0) });
    const client = new ScramClient(HASH_OF[mechanism], 'user', 'pencil');
    const serverFirst = challenge(await step(server, client.first()));
    expect(await step(server, client.final(serverFirst))).toMatchObject({ kind: 'success', user: 'user' });
    // Over now.
    expect(await step(server, client.final(serverFirst))).toMatchObject({
      kind: 'failure',
      condition: 'malformed-request',
    });
  });

  it('after a failure the exchange is over', async () => {
    const { server, client, serverFirst } = await exchange(mechanism, 'user', 'wrong');
    expect(await step(server, client.final(serverFirst))).toMatchObject({ condition: 'malformed-request' });
  });

  it('a storage error is temporary-auth-failure', async () => {
    const creds = credentials(USERS);
    creds.scram = async () => {
      throw new Error('database is locked');
    };
    expect(await step(start(mechanism, creds), 'n,,n=user,r=abc')).toEqual({
      kind: 'failure',
      condition: 'temporary-auth-failure',
    });
  });

  it.each([
    ['empty after the empty challenge', ''],
    ['no gs2 header', 'n=user,r=abc'],
    ['incomplete', 'n,,n=user'],
    ['unknown cbind flag', 'x,,n=user,r=abc'],
    ['lower-case flag with value', 'n=x,,n=user,r=abc'],
    ['authzid not a=', 'n,b=user@example.com,n=user,r=abc'],
    ['empty authzid attribute', 'n,a=,n=user,r=abc'],
    ['attributes swapped', 'n,,r=abc,n=user'],
    ['empty username', 'n,,n=,r=abc'],
    ['bad = escape', 'n,,n=us=2Xer,r=abc'],
    ['lone =', 'n,,n=user=,r=abc'],
    ['empty nonce', 'n,,n=user,r='],
    ['nonce with a control character', 'n,,n=user,r=ab\u0001c'],
    ['nonce with a non-ASCII character', 'n,,n=user,r=ab\u00e9c'],
    ['mandatory extension', 'n,,m=ext,n=user,r=abc'],
    ['garbage extension', 'n,,n=user,r=abc,!!'],
    ['invalid UTF-8', Buffer.from([0x6e, 0x2c, 0x2c, 0x6e, 0x3d, 0xff, 0x2c, 0x72, 0x3d, 0x61])],
  ])('client-first %s → malformed-request', async (_, message) => {
    const server = start(mechanism);
    if (message === '') await step(server, '');
    const result = await step(server, message);
    expect(result).toMatchObject({ kind: 'failure', condition: 'malformed-request' });
  });

  it('an extension after the nonce is ignored', async () => {
    const server = start(mechanism);
    expect(challenge(await step(server, 'n,,n=user,r=abc,x=whatever'))).toMatch(/^r=abc/);
  });

  describe('malformed client-final messages', () => {
    const cases: [string, (nonce: string, proof: string) => string | Buffer][] = [
      ['empty', () => ''],
      ['channel binding only', () => 'c=biws'],
      ['no proof', (r) => `c=biws,r=${r}`],
      ['proof not last', (r, p) => `c=biws,r=${r},p=${p},x=1`],
      ['attributes swapped', (r, p) => `r=${r},c=biws,p=${p}`],
      ['c= not base64', (r, p) => `c=bi!s,r=${r},p=${p}`],
      ['c= not padded', (r, p) => `c=bixz=,r=${r},p=${p}`],
      ['proof not base64', (r) => `c=biws,r=${r},p=****`],
      ['proof too short', (r) => `c=biws,r=${r},p=AAAA`],
      ['empty nonce', (_, p) => `c=biws,r=,p=${p}`],
      ['mandatory extension', (r, p) => `c=biws,r=${r},m=1,p=${p}`],
      ['garbage extension', (r, p) => `c=biws,r=${r},??,p=${p}`],
      ['invalid UTF-8', () => Buffer.from([0x63, 0x3d, 0xc3, 0x28])],
    ];
    it.each(cases)('%s → malformed-request', async (_, make) => {
      const client = new ScramClient(HASH_OF[mechanism], 'user', 'pencil');
      const server = start(mechanism);
      const serverFirst = challenge(await step(server, client.first()));
      const valid = client.final(serverFirst);
      const nonce = /r=([^,]+)/.exec(valid)![1];
      const proof = /p=(.+)$/.exec(valid)![1];
      expect(await step(server, make(nonce, proof))).toMatchObject({
        kind: 'failure',
        condition: 'malformed-request',
      });
    });
  });
});

describe('PLAIN', () => {
  const plain = (message: string | Buffer, creds?: SaslCredentials) => step(start('PLAIN', creds), message);

  it('authenticates authcid and password', async () => {
    expect(await plain('\0user\0pencil')).toEqual({ kind: 'success', user: 'user' });
    expect(await plain('\0USER\0pencil')).toEqual({ kind: 'success', user: 'user' });
    expect(await plain('\0a,b=c\0commas')).toEqual({ kind: 'success', user: 'a,b=c' });
    // As ejabberd does, an authcid may be the bare JID on this host.
    expect(await plain('\0user@example.com\0pencil')).toEqual({ kind: 'success', user: 'user' });
  });

  it('a wrong password, an unknown user and a foreign host all answer not-authorized', async () => {
    const notAuthorized = { kind: 'failure', condition: 'not-authorized' };
    expect(await plain('\0user\0Pencil')).toEqual(notAuthorized);
    expect(await plain('\0nobody\0pencil')).toEqual(notAuthorized);
    expect(await plain('\0user@example.org\0pencil')).toEqual(notAuthorized);
    expect(await plain('\0a b\0pencil')).toEqual(notAuthorized);
  });

  it('an authzid must be empty or the bare JID of the user', async () => {
    expect(await plain('user@example.com\0user\0pencil')).toEqual({ kind: 'success', user: 'user' });
    for (const authzid of ['other@example.com', 'user@example.org', 'user@example.com/r', 'user']) {
      expect(await plain(`${authzid}\0user\0pencil`)).toEqual({
        kind: 'failure',
        condition: 'invalid-authzid',
      });
    }
  });

  it.each([
    ['no NUL', 'userpencil'],
    ['one NUL', 'user\0pencil'],
    ['three NULs', '\0user\0pencil\0'],
    ['empty authcid', '\0\0pencil'],
    ['empty password', '\0user\0'],
    ['invalid UTF-8', Buffer.from([0, 0x75, 0, 0xff])],
  ])('%s → malformed-request', async (_, message) => {
    expect(await plain(message)).toMatchObject({ kind: 'failure', condition: 'malformed-request' });
  });

  it('an empty initial response gets an empty challenge; the exchange ends with the answer', async () => {
    const server = start('PLAIN');
    expect(await step(server, '')).toEqual({ kind: 'challenge', data: Buffer.alloc(0) });
    expect(await step(server, '\0user\0pencil')).toEqual({ kind: 'success', user: 'user' });
    expect(await step(server, '\0user\0pencil')).toMatchObject({ condition: 'malformed-request' });
  });

  it('a storage error is temporary-auth-failure', async () => {
    const creds = credentials(USERS);
    creds.checkPlain = async () => {
      throw new Error('database is locked');
    };
    expect(await plain('\0user\0pencil', creds)).toEqual({
      kind: 'failure',
      condition: 'temporary-auth-failure',
    });
  });
});
