import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServerConfig } from '@tsjabberd/server';
import type { XmlElement } from '@tsjabberd/xml-stanza';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers.js';
import { RawClient } from './raw-client.js';

// auth_method: external (ejabberd's extauth), black box: the server runs real programs over pipes.

const examples = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../examples/extauth');
const dir = mkdtempSync(path.join(os.tmpdir(), 'tsjabberd-extauth-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * A test program: answers like the examples (alice/wonderland) and appends its pid to `pids` on each
 * `auth`, but misbehaves on `auth` for mallory according to its first argument.
 */
const MISBEHAVE = `import os, sys, time
from struct import pack, unpack
mode, pids = sys.argv[1], sys.argv[2]
def answer(raw):
    sys.stdout.buffer.write(raw)
    sys.stdout.buffer.flush()
while True:
    head = sys.stdin.buffer.read(2)
    if len(head) < 2:
        sys.exit(0)
    (size,) = unpack('>H', head)
    data = sys.stdin.buffer.read(size).decode('utf-8').split(':', 3)
    if data[0] == 'auth':
        with open(pids, 'a') as f:
            f.write('%d\\n' % os.getpid())
        if data[1] == 'mallory':
            if mode == 'crash':
                sys.exit(3)
            if mode == 'hang':
                time.sleep(3600)
            if mode == 'garbage':
                answer(b'garbage!')
                continue
            if mode == 'badvalue':
                answer(pack('>HH', 2, 7))
                continue
            if mode == 'extra':
                answer(pack('>HH', 2, 1) + b'xx')
                continue
            if mode == 'badlength':
                answer(pack('>HHH', 4, 0, 1))
                continue
        if mode == 'slow':
            time.sleep(0.3)
        answer(pack('>HH', 2, 1 if data[1:4] == ['alice', 'localhost', 'wonderland'] else 0))
    else:
        answer(pack('>HH', 2, 0))
`;
const misbehave = path.join(dir, 'misbehave.py');
writeFileSync(misbehave, MISBEHAVE);

function external(program: string, more: Partial<ServerConfig> = {}) {
  return (config: ServerConfig) => {
    config.auth_method = 'external';
    config.extauth_program = program;
    Object.assign(config, more);
  };
}

/** PLAIN after STARTTLS: 'success' or the SASL failure condition. */
async function plain(t: TestServer, user: string, password: string): Promise<string> {
  const c = await RawClient.connect(t.port);
  try {
    c.open();
    await c.next('stream:features');
    await c.starttls();
    c.open();
    await c.next('stream:features');
    return await c.plain(user, password);
  } finally {
    c.close();
  }
}

function mechanisms(features: XmlElement): string[] {
  const m = features[3].find((c) => c[0] === 'xmlelement' && c[1] === 'mechanisms') as XmlElement | undefined;
  if (m === undefined) return [];
  return m[3].map((c) => ((c as XmlElement)[3][0] as ['xmlcdata', string])[1]);
}

function pidsOf(file: string): string[] {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l !== '');
  } catch {
    return [];
  }
}

describe.each([
  ['the Python example', `python3 ${path.join(examples, 'extauth.py')}`],
  ['the Node example', `${process.execPath} ${path.join(examples, 'extauth.mjs')}`],
])('auth_method: external with %s', (_name, program) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(external(program));
  });
  afterAll(() => t.stop());

  it('accepts a user the program accepts, with PLAIN over STARTTLS, and binds', async () => {
    const c = await RawClient.connect(t.port);
    expect(await c.login('alice', 'wonderland', 'desk', 'PLAIN')).toBe('alice@localhost/desk');
    c.close();
  });

  it('refuses a wrong password and an unknown user with not-authorized', async () => {
    expect(await plain(t, 'alice', 'wrong')).toBe('not-authorized');
    expect(await plain(t, 'nobody', 'wonderland')).toBe('not-authorized');
  });

  it('passes a password containing ":" whole', async () => {
    expect(await plain(t, 'carol', 'pa:ss:word')).toBe('success');
    expect(await plain(t, 'carol', 'pa:ss')).toBe('not-authorized');
  });

  it('offers only PLAIN, and only after TLS', async () => {
    const c = await RawClient.connect(t.port);
    c.open();
    const before = await c.next('stream:features');
    expect(mechanisms(before)).toEqual([]);
    await c.starttls();
    const mark = c.elements.length;
    c.open();
    const after = await c.next('stream:features', mark);
    expect(mechanisms(after)).toEqual(['PLAIN']);
    expect(await c.scram('sha256', 'alice', 'wonderland')).toBe('invalid-mechanism');
    c.close();
  });

  it('asks the program (isuser, setpass, tryregister, removeuser) for the account operations', async () => {
    const auth = t.server.auth;
    expect(await auth.user_exists('bob', 'localhost')).toBe(true);
    expect(await auth.user_exists('nobody', 'localhost')).toBe(false);
    expect(await auth.try_register('dave', 'localhost', 'x:y')).toBe('ok');
    expect(await auth.try_register('dave', 'localhost', 'other')).toBe('exists');
    expect(await auth.check_password('dave', 'localhost', 'x:y')).toBe(true);
    expect(await auth.set_password('dave', 'localhost', 'new')).toBe(true);
    expect(await auth.check_password('dave', 'localhost', 'x:y')).toBe(false);
    expect(await auth.check_password('dave', 'localhost', 'new')).toBe(true);
    expect(await auth.remove_user('dave', 'localhost')).toBe(true);
    expect(await auth.user_exists('dave', 'localhost')).toBe(false);
  });

  it('bounces a message to a user the program does not know (isuser), stores one for a known user', async () => {
    const c = await RawClient.connect(t.port);
    await c.login('alice', 'wonderland', 'msg', 'PLAIN');
    const mark = c.elements.length;
    c.write("<message to='nobody@localhost' id='m1' type='chat'><body>hi</body></message>");
    const bounced = await c.until(
      () =>
        c.elements
          .slice(mark)
          .find((e) => e[1] === 'message' && e[2].some(([k, v]) => k === 'id' && v === 'm1')),
      'bounce',
    );
    expect(bounced[2]).toContainEqual(['type', 'error']);
    c.close();
  });
});

describe('a pool of two instances', () => {
  const pids = path.join(dir, 'pool-pids');
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(external(`python3 ${misbehave} slow ${pids}`, { extauth_pool_size: 2 }));
  });
  afterAll(() => t.stop());

  it('spreads concurrent requests over both instances', async () => {
    const results = await Promise.all(
      Array.from({ length: 4 }, () => t.server.auth.check_password('alice', 'localhost', 'wonderland')),
    );
    expect(results).toEqual([true, true, true, true]);
    expect(new Set(pidsOf(pids)).size).toBe(2);
    expect(await plain(t, 'alice', 'wonderland')).toBe('success');
  });
});

describe('a misbehaving program is refused, logged and replaced', () => {
  for (const mode of ['crash', 'hang', 'garbage', 'badvalue', 'extra', 'badlength']) {
    it(`${mode}: mallory is refused, the server keeps running, alice logs in afterwards`, async () => {
      const pids = path.join(dir, `${mode}-pids`);
      const t = await startTestServer(
        external(`python3 ${misbehave} ${mode} ${pids}`, { extauth_timeout: 1 }),
      );
      try {
        const secret = `secret-${mode}`;
        expect(await plain(t, 'mallory', secret)).toBe('not-authorized');
        const line = t.log.lines.find((l) => l.includes('extauth') && l.includes('mallory@localhost'));
        expect(line).toBeDefined();
        expect(line).toContain('[error]');
        expect(line).toContain('misbehave.py');
        expect(line).toContain('auth for user');
        expect(t.log.lines.some((l) => l.includes(secret))).toBe(false);
        expect(await plain(t, 'alice', 'wonderland')).toBe('success');
        const seen = pidsOf(pids);
        // The instance that misbehaved was replaced by a new process.
        expect(seen.length).toBe(2);
        expect(seen[1]).not.toBe(seen[0]);
        expect(await plain(t, 'alice', 'wrong')).toBe('not-authorized');
      } finally {
        await t.stop();
      }
    }, 15_000);
  }

  it('a program that exits at once is refused without restarting in a loop', async () => {
    const t = await startTestServer(external('false'));
    try {
      expect(await plain(t, 'alice', 'wonderland')).toBe('not-authorized');
      await new Promise((r) => setTimeout(r, 1000));
      const restarts = t.log.lines.filter((l) => l.includes('extauth')).length;
      expect(restarts).toBeLessThan(10);
      expect(t.log.lines.some((l) => l.includes('"false"'))).toBe(true);
    } finally {
      await t.stop();
    }
  }, 15_000);

  it('a program that cannot be found is refused', async () => {
    const t = await startTestServer(external(path.join(dir, 'no-such-program')));
    try {
      expect(await plain(t, 'alice', 'wonderland')).toBe('not-authorized');
      expect(t.log.lines.some((l) => l.includes('no-such-program') && l.includes('ENOENT'))).toBe(true);
    } finally {
      await t.stop();
    }
  }, 15_000);
});
