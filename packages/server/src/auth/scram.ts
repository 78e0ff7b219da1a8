import { createHash, createHmac, pbkdf2, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ScramCredential, StoredPassword } from '../storage/storage.js';

/**
 * SCRAM primitives (RFC 5802 section 3, RFC 7677 for SHA-256) and SASLprep (RFC 4013) for the
 * passwords they are derived from: ejabberd's `scram` module. What is stored for an account is the salt,
 * the iteration count, StoredKey and ServerKey, never the password nor SaltedPassword.
 */

export type ScramHash = 'sha1' | 'sha256';

/** The SCRAM hashes, strongest first (the order mechanisms are offered in). */
export const SCRAM_HASHES: readonly ScramHash[] = ['sha256', 'sha1'];

/** The iteration count of new credentials (ejabberd's default, and RFC 7677's minimum). */
export const DEFAULT_ITERATIONS = 4096;

/** The length of a generated salt in bytes (what ejabberd generates). */
export const SALT_BYTES = 16;

/** Output length of each hash in bytes. */
export const HASH_BYTES: Readonly<Record<ScramHash, number>> = { sha1: 20, sha256: 32 };

export function hmac(hash: ScramHash, key: Buffer, data: Buffer | string): Buffer {
  return createHmac(hash, key).update(data).digest();
}

export function digest(hash: ScramHash, data: Buffer): Buffer {
  return createHash(hash).update(data).digest();
}

/** Byte-wise XOR of two buffers of the same length. */
export function xor(a: Buffer, b: Buffer): Buffer {
  if (a.length !== b.length) throw new RangeError('xor of buffers of different lengths');
  const out = Buffer.allocUnsafe(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] ^ b[i];
  return out;
}

/** Constant-time equality; buffers of different lengths are unequal (and compared in no time at all). */
export function safeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

// --- SASLprep (RFC 4013, a profile of stringprep, RFC 3454) ---------------------------------------

/** RFC 3454 table B.1: commonly mapped to nothing. */
const MAPPED_TO_NOTHING = /[\u00ad\u1806\u200b-\u200d\u2060\ufeff]|\u034f|[\u180b-\u180d]|[\ufe00-\ufe0f]/g;

/** RFC 3454 table C.1.2: non-ASCII space characters, mapped to U+0020 (U+200B is removed by B.1 first). */
const NON_ASCII_SPACE = /[\u00a0\u1680\u2000-\u200b\u202f\u205f\u3000]/g;

/** RFC 3454 tables C.1.2 and C.2.1 to C.9: prohibited output (C.3 and C.4 include astral planes). */
const PROHIBITED = new RegExp(
  [
    '[\\u00a0\\u1680\\u2000-\\u200b\\u202f\\u205f\\u3000]', // C.1.2 non-ASCII space
    '[\\u0000-\\u001f\\u007f]', // C.2.1 ASCII control
    // C.2.2 non-ASCII control
    '[\\u0080-\\u009f\\u06dd\\u070f\\u180e\\u200c\\u200d\\u2028\\u2029\\u2060-\\u2063\\u206a-\\u206f\\ufeff\\ufff9-\\ufffc]',
    '[\\u{1d173}-\\u{1d17a}]',
    '[\\ue000-\\uf8ff\\u{f0000}-\\u{ffffd}\\u{100000}-\\u{10fffd}]', // C.3 private use
    '[\\ufdd0-\\ufdef]|[\\ufffe\\uffff]', // C.4 non-character code points (BMP)
    '[\\u{1fffe}\\u{1ffff}\\u{2fffe}\\u{2ffff}\\u{3fffe}\\u{3ffff}\\u{4fffe}\\u{4ffff}\\u{5fffe}\\u{5ffff}]',
    '[\\u{6fffe}\\u{6ffff}\\u{7fffe}\\u{7ffff}\\u{8fffe}\\u{8ffff}\\u{9fffe}\\u{9ffff}\\u{afffe}\\u{affff}]',
    '[\\u{bfffe}\\u{bffff}\\u{cfffe}\\u{cffff}\\u{dfffe}\\u{dffff}\\u{efffe}\\u{effff}\\u{ffffe}\\u{fffff}]',
    '[\\u{10fffe}\\u{10ffff}]',
    '\\p{Cs}', // C.5 surrogate codes (lone surrogates: a well-formed string has no others)
    '[\\ufff9-\\ufffd]', // C.6 inappropriate for plain text
    '[\\u2ff0-\\u2ffb]', // C.7 inappropriate for canonical representation
    '[\\u0340\\u0341\\u200e\\u200f\\u202a-\\u202e\\u206a-\\u206f]', // C.8 change display properties
    '[\\u{e0001}\\u{e0020}-\\u{e007f}]', // C.9 tagging characters
  ].join('|'),
  'u',
);

/** RFC 3454 table D.1: characters with bidirectional property R or AL (exact, from Unicode 3.2). */
const RAND_AL_CAT =
  /[\u05be\u05c0\u05c3\u05d0-\u05ea\u05f0-\u05f4\u061b\u061f\u0621-\u063a\u0640-\u064a\u066d-\u066f\u0671-\u06d5\u06dd\u06e5\u06e6\u06fa-\u06fe\u0700-\u070d\u0710\u0712-\u072c\u0780-\u07a5\u07b1\u200f\ufb1d\ufb1f-\ufb28\ufb2a-\ufb36\ufb38-\ufb3c\ufb3e\ufb40\ufb41\ufb43\ufb44\ufb46-\ufbb1\ufbd3-\ufd3d\ufd50-\ufd8f\ufd92-\ufdc7\ufdf0-\ufdfc\ufe70-\ufe74\ufe76-\ufefc]/u;

/**
 * RFC 3454 table D.2 (bidirectional property L), approximated: JavaScript has no Bidi_Class property,
 * so letters, spacing marks and letter numbers outside D.1 stand for it. It misses the digits and
 * symbols of left-to-right scripts (Devanagari digits, Tibetan marks, ...), which only matters for a
 * string that also holds a right-to-left character.
 */
const L_CAT = /[\p{L}\p{Mc}\p{Nl}]/u;

/** Unassigned code points (RFC 3454 table A.1), by the engine's Unicode version rather than 3.2. */
const UNASSIGNED = /\p{Cn}/u;

/** Printable ASCII: the common case, which SASLprep leaves untouched. */
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/**
 * SASLprep (RFC 4013) with the rules for stored strings (unassigned code points refused), or for
 * queries when `allowUnassigned`; `'error'` when the string is prohibited.
 *
 * Covered: mapping (B.1 to nothing, C.1.2 to SPACE), NFKC, every prohibition table (C.1.2, C.2.1 to
 * C.9, exact), the bidirectional rules with D.1 exact and D.2 approximated (see `L_CAT`). Not exact: NFKC
 * and "unassigned" follow the engine's Unicode version, not Unicode 3.2, so a code point assigned after
 * 3.2 is accepted where RFC 4013 would refuse it in a stored string.
 */
export function saslprep(s: string, opts: { allowUnassigned?: boolean } = {}): string | 'error' {
  if (PRINTABLE_ASCII.test(s)) return s;
  const mapped = s.replace(MAPPED_TO_NOTHING, '').replace(NON_ASCII_SPACE, ' ');
  // A lone surrogate survives normalize() unchanged and is refused as C.5 below.
  const out = mapped.normalize('NFKC');
  if (PROHIBITED.test(out)) return 'error';
  if (!opts.allowUnassigned && UNASSIGNED.test(out)) return 'error';
  if (RAND_AL_CAT.test(out)) {
    // RFC 3454 section 6: no LCat at all, and a RandALCat character first and last.
    if (L_CAT.test(out.replace(new RegExp(RAND_AL_CAT.source, 'gu'), ''))) return 'error';
    const chars = Array.from(out);
    if (!RAND_AL_CAT.test(chars[0]) || !RAND_AL_CAT.test(chars[chars.length - 1])) return 'error';
  }
  return out;
}

/** SASLprep for a password that is about to be stored: the prepared password, or a thrown `RangeError`. */
function preparePassword(password: string): string {
  const prepared = saslprep(password);
  if (prepared === 'error') throw new RangeError('password prohibited by SASLprep (RFC 4013)');
  if (prepared === '') throw new RangeError('empty password');
  return prepared;
}

// --- Credentials ------------------------------------------------------------------------------------

/** StoredKey and ServerKey from SaltedPassword (RFC 5802 section 3). */
function credentialFrom(hash: ScramHash, salted: Buffer, salt: Buffer, iterations: number): ScramCredential {
  const clientKey = hmac(hash, salted, 'Client Key');
  return {
    salt: salt.toString('base64'),
    iterations,
    storedKey: digest(hash, clientKey).toString('base64'),
    serverKey: hmac(hash, salted, 'Server Key').toString('base64'),
  };
}

function checkIterations(iterations: number): void {
  if (!Number.isSafeInteger(iterations) || iterations < 1) {
    throw new RangeError(`invalid SCRAM iteration count ${iterations}`);
  }
}

/**
 * `scram:password_to_scram/4`: the credential for an already SASLprepped password. Synchronous (it
 * blocks for the PBKDF2 iterations); the server uses `scramCredentialAsync`.
 */
export function scramCredential(
  hash: ScramHash,
  password: string,
  salt: Buffer,
  iterations: number = DEFAULT_ITERATIONS,
): ScramCredential {
  checkIterations(iterations);
  const salted = pbkdf2Sync(password, salt, iterations, HASH_BYTES[hash], hash);
  return credentialFrom(hash, salted, salt, iterations);
}

/** `scramCredential` off the event loop (PBKDF2 runs in libuv's thread pool). */
export function scramCredentialAsync(
  hash: ScramHash,
  password: string,
  salt: Buffer,
  iterations: number = DEFAULT_ITERATIONS,
): Promise<ScramCredential> {
  checkIterations(iterations);
  return new Promise((resolve, reject) => {
    pbkdf2(password, salt, iterations, HASH_BYTES[hash], hash, (err, salted) => {
      if (err) reject(err);
      else resolve(credentialFrom(hash, salted, salt, iterations));
    });
  });
}

/**
 * The stored form of a password: a SCRAM-SHA-1 and a SCRAM-SHA-256 credential, each with its own random
 * salt. The password is SASLprepped first; a prohibited or empty one throws a `RangeError`.
 */
export function hashPassword(password: string, iterations: number = DEFAULT_ITERATIONS): StoredPassword {
  const prepared = preparePassword(password);
  return {
    sha1: scramCredential('sha1', prepared, randomBytes(SALT_BYTES), iterations),
    sha256: scramCredential('sha256', prepared, randomBytes(SALT_BYTES), iterations),
  };
}

/** `hashPassword` off the event loop. */
export async function hashPasswordAsync(
  password: string,
  iterations: number = DEFAULT_ITERATIONS,
): Promise<StoredPassword> {
  const prepared = preparePassword(password);
  const [sha1, sha256] = await Promise.all([
    scramCredentialAsync('sha1', prepared, randomBytes(SALT_BYTES), iterations),
    scramCredentialAsync('sha256', prepared, randomBytes(SALT_BYTES), iterations),
  ]);
  return { sha1, sha256 };
}

/**
 * Whether `password` (as a client typed it: SASLprepped here, with the query rules) derives `cred`:
 * what SASL PLAIN and `check_password` do. StoredKey is compared in constant time.
 */
export async function verifyPassword(
  hash: ScramHash,
  cred: ScramCredential,
  password: string,
): Promise<boolean> {
  const prepared = saslprep(password, { allowUnassigned: true });
  if (prepared === 'error' || prepared === '') return false;
  const salt = Buffer.from(cred.salt, 'base64');
  const derived = await scramCredentialAsync(hash, prepared, salt, cred.iterations);
  return safeEqual(Buffer.from(derived.storedKey, 'base64'), Buffer.from(cred.storedKey, 'base64'));
}
