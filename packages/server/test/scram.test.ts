import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  hashPassword,
  hashPasswordAsync,
  SALT_BYTES,
  safeEqual,
  saslprep,
  scramCredential,
  scramCredentialAsync,
  verifyPassword,
} from '../src/auth/scram.js';

describe('scramCredential: RFC 5802 and RFC 7677 test vectors', () => {
  it('SCRAM-SHA-1: user "user", password "pencil", salt QSXCR+Q6sek8bf92, 4096 iterations', () => {
    const salt = Buffer.from('QSXCR+Q6sek8bf92', 'base64');
    const cred = scramCredential('sha1', 'pencil', salt, 4096);
    // SaltedPassword, ClientKey and ServerKey computed independently here.
    const salted = pbkdf2Sync('pencil', salt, 4096, 20, 'sha1');
    const clientKey = createHmac('sha1', salted).update('Client Key').digest();
    expect(cred).toEqual({
      salt: 'QSXCR+Q6sek8bf92',
      iterations: 4096,
      storedKey: createHash('sha1').update(clientKey).digest('base64'),
      serverKey: createHmac('sha1', salted).update('Server Key').digest('base64'),
    });
    // RFC 5802 section 5: the server signature of the exchange follows from ServerKey.
    const authMessage =
      'n=user,r=fyko+d2lbbFgONRv9qkxdawL,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096,c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j';
    const serverSignature = createHmac('sha1', Buffer.from(cred.serverKey, 'base64'))
      .update(authMessage)
      .digest('base64');
    expect(serverSignature).toBe('rmF9pqV8S7suAoZWja4dJRkFsKQ=');
  });

  it('SCRAM-SHA-256: RFC 7677 section 3', async () => {
    const salt = Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64');
    const cred = await scramCredentialAsync('sha256', 'pencil', salt, 4096);
    expect(cred).toEqual(scramCredential('sha256', 'pencil', salt, 4096));
    const authMessage =
      'n=user,r=rOprNGfwEbeRWgbNEkqO,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0';
    const serverSignature = createHmac('sha256', Buffer.from(cred.serverKey, 'base64'))
      .update(authMessage)
      .digest('base64');
    expect(serverSignature).toBe('6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=');
  });

  it('refuses a nonsensical iteration count', () => {
    expect(() => scramCredential('sha1', 'x', Buffer.alloc(16), 0)).toThrow(RangeError);
    expect(() => scramCredential('sha1', 'x', Buffer.alloc(16), 1.5)).toThrow(RangeError);
  });
});

describe('hashPassword', () => {
  it('stores both credentials with their own random salt, never the password', () => {
    const password = 'correct horse battery staple';
    const stored = hashPassword(password, 64);
    expect(stored.sha1.iterations).toBe(64);
    expect(stored.sha256.iterations).toBe(64);
    expect(Buffer.from(stored.sha1.salt, 'base64')).toHaveLength(SALT_BYTES);
    expect(stored.sha1.salt).not.toBe(stored.sha256.salt);
    expect(Buffer.from(stored.sha1.storedKey, 'base64')).toHaveLength(20);
    expect(Buffer.from(stored.sha256.storedKey, 'base64')).toHaveLength(32);
    const text = JSON.stringify(stored);
    expect(text).not.toContain(password);
    expect(text).not.toContain(Buffer.from(password).toString('base64'));
    expect(text).not.toContain(Buffer.from(password).toString('hex'));
    // The same password again: other salts, other keys.
    expect(hashPassword(password, 64).sha256.storedKey).not.toBe(stored.sha256.storedKey);
  });

  it('defaults to 4096 iterations and matches scramCredential with the stored salt', async () => {
    const stored = await hashPasswordAsync('pencil');
    expect(stored.sha256.iterations).toBe(4096);
    expect(scramCredential('sha256', 'pencil', Buffer.from(stored.sha256.salt, 'base64'), 4096)).toEqual(
      stored.sha256,
    );
  });

  it('refuses empty and SASLprep-prohibited passwords', () => {
    expect(() => hashPassword('')).toThrow(RangeError);
    expect(() => hashPassword('\u00ad')).toThrow(RangeError); // maps to nothing: empty
    expect(() => hashPassword('a\u0007b')).toThrow(RangeError);
  });

  it('hashes the SASLprepped password', () => {
    const stored = hashPassword('I\u00adX', 16);
    const salt = Buffer.from(stored.sha1.salt, 'base64');
    expect(scramCredential('sha1', 'IX', salt, 16)).toEqual(stored.sha1);
  });
});

describe('verifyPassword', () => {
  it('accepts the password, its SASLprep equivalents, and nothing else', async () => {
    const stored = hashPassword('p\u00e4ss word', 16);
    expect(await verifyPassword('sha256', stored.sha256, 'p\u00e4ss word')).toBe(true);
    expect(await verifyPassword('sha1', stored.sha1, 'p\u00e4ss word')).toBe(true);
    // Decomposed ä, and a no-break space: the same after SASLprep.
    expect(await verifyPassword('sha256', stored.sha256, 'pa\u0308ss\u00a0word')).toBe(true);
    expect(await verifyPassword('sha256', stored.sha256, 'pass word')).toBe(false);
    expect(await verifyPassword('sha256', stored.sha256, '')).toBe(false);
    expect(await verifyPassword('sha256', stored.sha256, 'p\u00e4ss\u0000word')).toBe(false);
  });
});

describe('safeEqual', () => {
  it('compares contents and lengths', () => {
    expect(safeEqual(Buffer.from('abc'), Buffer.from('abc'))).toBe(true);
    expect(safeEqual(Buffer.from('abc'), Buffer.from('abd'))).toBe(false);
    expect(safeEqual(Buffer.from('abc'), Buffer.from('abcd'))).toBe(false);
  });
});

describe('saslprep (RFC 4013 section 3 examples and more)', () => {
  it.each([
    ['I\u00adX', 'IX'], // SOFT HYPHEN mapped to nothing
    ['user', 'user'], // no transformation
    ['USER', 'USER'], // case preserved
    ['\u00aa', 'a'], // NFKC
    ['\u2168', 'IX'], // NFKC
    ['a\u00a0b', 'a b'], // non-ASCII space to SPACE
    ['a\u3000b', 'a b'],
    ['a\u200bb', 'ab'], // ZERO WIDTH SPACE: B.1, mapped to nothing
    ['a\ufeffb', 'ab'],
    ['a\u034fb\u180bc\ufe0f', 'abc'], // combining grapheme joiner, variation selectors: B.1
    ['\u05d0\u05d1', '\u05d0\u05d1'], // right-to-left only
    ['\u05d01\u05d1', '\u05d01\u05d1'], // digits are neither L nor RandAL
    ['caf\u00e9', 'caf\u00e9'],
    ['\ud83d\ude00', '\ud83d\ude00'], // astral symbol, assigned
  ])('%j → %j', (input, output) => {
    expect(saslprep(input)).toBe(output);
  });

  it.each([
    ['\u0007', 'ASCII control (C.2.1)'],
    ['a\u0085', 'non-ASCII control (C.2.2)'],
    ['a\u2028b', 'line separator (C.2.2)'],
    ['\ue000', 'private use (C.3)'],
    ['\u{f0000}', 'plane 15 private use (C.3)'],
    ['a\ufdd0', 'noncharacter (C.4)'],
    ['a\u{1fffe}', 'astral noncharacter (C.4)'],
    ['a\ud800b', 'lone surrogate (C.5)'],
    ['a\ufffd', 'replacement character (C.6)'],
    ['\u2ff0', 'ideographic description (C.7)'],
    ['a\u200eb', 'left-to-right mark (C.8)'],
    ['a\u202eb', 'right-to-left override (C.8)'],
    ['a\u{e0041}', 'tag (C.9)'],
    ['\u0627\u0031', 'RandALCat not last (RFC 4013 example)'],
    ['\u05d0a\u05d1', 'RandALCat and LCat mixed'],
  ])('%j is prohibited: %s', (input) => {
    expect(saslprep(input)).toBe('error');
  });

  it('refuses unassigned code points in stored strings only', () => {
    expect(saslprep('a\u0378')).toBe('error');
    expect(saslprep('a\u0378', { allowUnassigned: true })).toBe('a\u0378');
  });
});
