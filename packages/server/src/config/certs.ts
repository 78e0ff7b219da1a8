import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { chmod, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { isIPv6 } from 'node:net';
import { join, resolve } from 'node:path';
import { domainToASCII } from 'node:url';
import type { Logger } from '@tsjabberd/router';
import { generate } from 'selfsigned';
import type { ServerConfig } from './types.js';

export interface Certificate {
  /** PEM: the server certificate first, then any chain certificates. */
  cert: string;
  /** PEM private key. */
  key: string;
  /** The file holding the server certificate. */
  path: string;
  /** True when this call generated it (first start without `certfiles`). */
  generated: boolean;
}

/** A certificate problem: unreadable or missing file, no key, key not matching the certificate. */
export class CertificateError extends Error {
  override name = 'CertificateError';
}

/** Years the generated self-signed certificate is valid for. */
const VALID_YEARS = 10;

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n[\s\S]*?-----END \1-----/g;

interface PemBlock {
  label: string;
  pem: string;
  file: string;
}

function pemBlocks(text: string, file: string): PemBlock[] {
  return [...text.matchAll(PEM_BLOCK)].map((m) => ({ label: m[1], pem: `${m[0]}\n`, file }));
}

async function readPem(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new CertificateError(`certfiles: cannot read ${file}: ${(err as Error).message}`);
  }
}

/**
 * The certificate and key from `certfiles` (ejabberd's option): PEM files, each holding certificates,
 * a key, or both. The certificate matching the key comes first; the other certificates follow as the
 * chain, in file order.
 */
async function fromCertfiles(files: string[]): Promise<Certificate> {
  const certs: (PemBlock & { x509: X509Certificate })[] = [];
  const keys: (PemBlock & { key: KeyObject })[] = [];
  for (const file of files) {
    if (/[*?[]/.test(file)) {
      throw new CertificateError(`certfiles: ${file}: wildcards are not supported; list each file`);
    }
    const blocks = pemBlocks(await readPem(file), file);
    if (blocks.length === 0) throw new CertificateError(`certfiles: ${file} holds no PEM certificate or key`);
    for (const block of blocks) {
      if (block.label === 'CERTIFICATE') {
        try {
          certs.push({ ...block, x509: new X509Certificate(block.pem) });
        } catch (err) {
          throw new CertificateError(`certfiles: ${file}: unreadable certificate: ${(err as Error).message}`);
        }
      } else if (block.label === 'ENCRYPTED PRIVATE KEY') {
        throw new CertificateError(`certfiles: ${file}: encrypted private keys are not supported`);
      } else if (block.label.endsWith('PRIVATE KEY')) {
        try {
          keys.push({ ...block, key: createPrivateKey(block.pem) });
        } catch (err) {
          throw new CertificateError(`certfiles: ${file}: unreadable private key: ${(err as Error).message}`);
        }
      }
    }
  }
  const names = files.join(', ');
  if (certs.length === 0) throw new CertificateError(`certfiles: no certificate found in ${names}`);
  if (keys.length === 0) throw new CertificateError(`certfiles: no private key found in ${names}`);
  for (const key of keys) {
    const leaf = certs.find((c) => c.x509.checkPrivateKey(key.key));
    if (leaf === undefined) continue;
    const chain = certs.filter((c) => c !== leaf);
    return {
      cert: [leaf, ...chain].map((c) => c.pem).join(''),
      key: key.pem,
      path: leaf.file,
      generated: false,
    };
  }
  throw new CertificateError(
    `certfiles: the private key in ${keys[0].file} matches no certificate in ${names}`,
  );
}

/** The subjectAltName of the generated certificate: a DNS name (A-labels) per host, or an IP for `[v6]`. */
function altNames(hosts: string[]): { type: 2 | 7; value?: string; ip?: string }[] {
  return hosts.map((host) => {
    const inner = host.startsWith('[') ? host.slice(1, -1) : '';
    if (isIPv6(inner)) return { type: 7, ip: inner };
    return { type: 2, value: domainToASCII(host) || host };
  });
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new CertificateError(`cannot read ${file}: ${(err as Error).message}`);
  }
}

/** Write `data` to `file` through a temporary file, so a crash never leaves half a PEM behind. */
async function writeAtomically(file: string, data: string, mode: number): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, data, { mode });
  await chmod(tmp, mode);
  await rename(tmp, file);
}

/**
 * The certificate and key the listeners use for TLS. With `certfiles`, those files (errors name the
 * file). Without, `<data_dir>/cert.pem` and `<data_dir>/key.pem`: a self-signed certificate for every
 * host (subjectAltName DNS names, EC P-256, valid 10 years) generated on first start, with the path
 * logged, and reused afterwards. The key file is created with mode 0600.
 */
export async function ensureCertificate(config: ServerConfig, log?: Logger): Promise<Certificate> {
  if (config.certfiles.length > 0) {
    const found = await fromCertfiles(config.certfiles);
    log?.info(`TLS certificate: ${found.path}`);
    return found;
  }
  const dir = resolve(config.data_dir);
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  const [haveCert, haveKey] = await Promise.all([exists(certPath), exists(keyPath)]);
  if (haveCert && haveKey) {
    const found = await fromCertfiles([certPath, keyPath]);
    const x509 = new X509Certificate(found.cert);
    const missing = config.hosts.filter((h) =>
      h.startsWith('[')
        ? x509.checkIP(h.slice(1, -1)) === undefined
        : x509.checkHost(domainToASCII(h) || h) === undefined,
    );
    const self = x509.verify(x509.publicKey) ? 'self-signed ' : '';
    log?.info(`TLS certificate: using the ${self}certificate at ${certPath}`);
    if (missing.length > 0) {
      log?.warning(
        `TLS certificate at ${certPath} does not cover ${missing.join(', ')}; delete ${certPath} and ${keyPath} ` +
          'to generate a new one, or set certfiles',
      );
    }
    return { ...found, path: certPath };
  }
  if (haveCert !== haveKey) {
    const [have, lack] = haveCert ? [certPath, keyPath] : [keyPath, certPath];
    throw new CertificateError(
      `found ${have} but not ${lack}; delete ${have} to generate a new pair, or set certfiles`,
    );
  }

  const notBefore = new Date(Date.now() - 60 * 60 * 1000); // an hour of leeway for clients' clock skew
  const notAfter = new Date(notBefore);
  notAfter.setFullYear(notAfter.getFullYear() + VALID_YEARS);
  const pems = await generate([{ name: 'commonName', value: config.hosts[0] }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: notBefore,
    notAfterDate: notAfter,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: altNames(config.hosts) },
    ],
  });
  const cert = pems.cert.endsWith('\n') ? pems.cert : `${pems.cert}\n`;
  const key = pems.private.endsWith('\n') ? pems.private : `${pems.private}\n`;
  try {
    await mkdir(dir, { recursive: true });
    await writeAtomically(keyPath, key, 0o600);
    await writeAtomically(certPath, cert, 0o644);
  } catch (err) {
    throw new CertificateError(`cannot write the generated certificate to ${dir}: ${(err as Error).message}`);
  }
  log?.info(
    `TLS certificate: generated a self-signed certificate for ${config.hosts.join(', ')} at ${certPath} ` +
      `(key: ${keyPath}); clients will warn about it until certfiles names a real one`,
  );
  return { cert, key, path: certPath, generated: true };
}
