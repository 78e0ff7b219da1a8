import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import { MemoryLogger } from '@tsjabberd/router';
import { generate } from 'selfsigned';
import { afterEach, describe, expect, it } from 'vitest';
import { CertificateError, ensureCertificate } from '../src/config/certs.js';
import { defaultConfig } from '../src/config/defaults.js';
import type { ServerConfig } from '../src/config/types.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tsjabberd-certs-'));
  dirs.push(dir);
  return dir;
}

function config(overrides: Partial<ServerConfig>): ServerConfig {
  return { ...defaultConfig(), ...overrides };
}

/** A throwaway self-signed certificate and key (EC, fast), as an operator's certfiles would hold. */
async function pemPair(cn: string): Promise<{ cert: string; key: string }> {
  const pems = await generate([{ name: 'commonName', value: cn }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: cn }] }],
  });
  const eol = (pem: string) => (pem.endsWith('\n') ? pem : `${pem}\n`);
  return { cert: eol(pems.cert), key: eol(pems.private) };
}

describe('ensureCertificate without certfiles: a generated self-signed certificate in data_dir', () => {
  it('is generated on first start for every host, usable by TLS, and its path is logged', async () => {
    const dir = join(await tempDir(), 'data');
    const log = new MemoryLogger();
    const got = await ensureCertificate(config({ hosts: ['localhost', 'example.org'], data_dir: dir }), log);
    expect(got.generated).toBe(true);
    expect(got.path).toBe(join(dir, 'cert.pem'));
    expect(await readFile(join(dir, 'cert.pem'), 'utf8')).toBe(got.cert);
    expect(await readFile(join(dir, 'key.pem'), 'utf8')).toBe(got.key);

    expect(() => createSecureContext({ cert: got.cert, key: got.key })).not.toThrow();
    const x509 = new X509Certificate(got.cert);
    expect(x509.subjectAltName).toBe('DNS:localhost, DNS:example.org');
    expect(x509.subject).toBe('CN=localhost');
    expect(x509.checkPrivateKey(createPrivateKey(got.key))).toBe(true);
    expect(x509.verify(x509.publicKey)).toBe(true);
    const years = (Date.parse(x509.validTo) - Date.parse(x509.validFrom)) / (365.25 * 24 * 3600 * 1000);
    expect(years).toBeGreaterThan(9.9);
    expect(years).toBeLessThan(10.1);
    expect(Date.parse(x509.validFrom)).toBeLessThanOrEqual(Date.now());

    expect(log.lines).toHaveLength(1);
    expect(log.lines[0]).toMatch(
      /^\[info\] TLS certificate: generated a self-signed certificate for localhost, example.org/,
    );
    expect(log.lines[0]).toContain(join(dir, 'cert.pem'));
    expect(log.lines[0]).toContain(join(dir, 'key.pem'));
  });

  it.skipIf(process.platform === 'win32')('writes the key with mode 0600', async () => {
    const dir = await tempDir();
    await ensureCertificate(config({ data_dir: dir }));
    expect((await stat(join(dir, 'key.pem'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'cert.pem'))).mode & 0o777).toBe(0o644);
  });

  it('is reused, not regenerated, on the next start', async () => {
    const dir = await tempDir();
    const first = await ensureCertificate(config({ data_dir: dir }));
    const log = new MemoryLogger();
    const again = await ensureCertificate(config({ data_dir: dir }), log);
    expect(again).toEqual({ ...first, generated: false });
    expect(log.lines).toEqual([
      `[info] TLS certificate: using the self-signed certificate at ${join(dir, 'cert.pem')}`,
    ]);
  });

  it('warns when a host was added since it was generated, but keeps it', async () => {
    const dir = await tempDir();
    const first = await ensureCertificate(config({ data_dir: dir }));
    const log = new MemoryLogger();
    const again = await ensureCertificate(
      config({ hosts: ['localhost', 'new.example'], data_dir: dir }),
      log,
    );
    expect(again.cert).toBe(first.cert);
    expect(log.lines[1]).toMatch(/^\[warning\] TLS certificate at .* does not cover new.example; delete/);
  });

  it('refuses to overwrite half a pair', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'cert.pem'), (await pemPair('localhost')).cert);
    await expect(ensureCertificate(config({ data_dir: dir }))).rejects.toThrow(
      `found ${join(dir, 'cert.pem')} but not ${join(dir, 'key.pem')}`,
    );
  });

  it('an IDN host becomes an A-label in the subjectAltName', async () => {
    const dir = await tempDir();
    const got = await ensureCertificate(config({ hosts: ['bücher.example'], data_dir: dir }));
    expect(new X509Certificate(got.cert).subjectAltName).toBe('DNS:xn--bcher-kva.example');
  });
});

describe('ensureCertificate with certfiles', () => {
  it('reads a file holding both certificate and key', async () => {
    const dir = await tempDir();
    const { cert, key } = await pemPair('example.org');
    const file = join(dir, 'server.pem');
    await writeFile(file, `${key}${cert}`);
    const log = new MemoryLogger();
    const got = await ensureCertificate(config({ certfiles: [file], data_dir: join(dir, 'data') }), log);
    expect(got).toEqual({ cert, key, path: file, generated: false });
    expect(() => createSecureContext({ cert: got.cert, key: got.key })).not.toThrow();
    expect(log.lines).toEqual([`[info] TLS certificate: ${file}`]);
    await expect(stat(join(dir, 'data'))).rejects.toThrow(/ENOENT/);
  });

  it('reads separate certificate and key files, in either order', async () => {
    const dir = await tempDir();
    const { cert, key } = await pemPair('example.org');
    await writeFile(join(dir, 'fullchain.pem'), cert);
    await writeFile(join(dir, 'privkey.pem'), key);
    for (const files of [
      ['fullchain.pem', 'privkey.pem'],
      ['privkey.pem', 'fullchain.pem'],
    ]) {
      const got = await ensureCertificate(config({ certfiles: files.map((f) => join(dir, f)) }));
      expect(got).toEqual({ cert, key, path: join(dir, 'fullchain.pem'), generated: false });
    }
  });

  it('puts the certificate matching the key first and keeps the others as the chain', async () => {
    const dir = await tempDir();
    const other = await pemPair('intermediate.example');
    const server = await pemPair('example.org');
    await writeFile(join(dir, 'chain.pem'), `${other.cert}${server.cert}`);
    await writeFile(join(dir, 'key.pem'), server.key);
    const got = await ensureCertificate(
      config({ certfiles: [join(dir, 'chain.pem'), join(dir, 'key.pem')] }),
    );
    expect(got.cert).toBe(`${server.cert}${other.cert}`);
    expect(new X509Certificate(got.cert).subject).toBe('CN=example.org');
    expect(() => createSecureContext({ cert: got.cert, key: got.key })).not.toThrow();
  });

  it('a missing file is an error naming it', async () => {
    const dir = await tempDir();
    const missing = join(dir, 'nope.pem');
    const err = await ensureCertificate(config({ certfiles: [missing] })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CertificateError);
    expect((err as Error).message).toMatch(`certfiles: cannot read ${missing}: ENOENT`);
  });

  it('no key, a key matching no certificate, or no PEM at all are errors naming the files', async () => {
    const dir = await tempDir();
    const a = await pemPair('a.example');
    const b = await pemPair('b.example');
    const certA = join(dir, 'a.crt');
    const keyB = join(dir, 'b.key');
    const junk = join(dir, 'junk.pem');
    await writeFile(certA, a.cert);
    await writeFile(keyB, b.key);
    await writeFile(junk, 'not a certificate\n');
    await expect(ensureCertificate(config({ certfiles: [certA] }))).rejects.toThrow(
      `certfiles: no private key found in ${certA}`,
    );
    await expect(ensureCertificate(config({ certfiles: [keyB] }))).rejects.toThrow(
      `certfiles: no certificate found in ${keyB}`,
    );
    await expect(ensureCertificate(config({ certfiles: [certA, keyB] }))).rejects.toThrow(
      `certfiles: the private key in ${keyB} matches no certificate in ${certA}, ${keyB}`,
    );
    await expect(ensureCertificate(config({ certfiles: [junk] }))).rejects.toThrow(
      `certfiles: ${junk} holds no PEM certificate or key`,
    );
    await expect(ensureCertificate(config({ certfiles: [join(dir, '*.pem')] }))).rejects.toThrow(/wildcards/);
  });

  it('a corrupt certificate block is an error naming its file', async () => {
    const dir = await tempDir();
    const bad = join(dir, 'bad.pem');
    await mkdir(dir, { recursive: true });
    await writeFile(bad, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    await expect(ensureCertificate(config({ certfiles: [bad] }))).rejects.toThrow(
      new RegExp(`^certfiles: ${bad}: unreadable certificate`),
    );
  });
});
