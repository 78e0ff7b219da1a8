import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const pbkdf2Async = promisify(pbkdf2);

/**
 * The client side of SASL SCRAM-SHA-1 (RFC 5802) without channel binding (`n,,`). PBKDF2 runs on
 * libuv's thread pool, so logins in flight overlap with the event loop.
 */
export class ScramSha1 {
  private readonly clientFirstBare: string;
  private serverSignature: Buffer | undefined;

  constructor(
    user: string,
    private readonly password: string,
  ) {
    const name = user.replace(/=/g, '=3D').replace(/,/g, '=2C');
    this.clientFirstBare = `n=${name},r=${randomBytes(18).toString('base64')}`;
  }

  /** The initial response (what `<auth>` carries), base64. */
  first(): string {
    return Buffer.from(`n,,${this.clientFirstBare}`).toString('base64');
  }

  /** Answers the server's challenge (base64 in, base64 out). */
  async respond(challenge: string): Promise<string> {
    const serverFirst = Buffer.from(challenge, 'base64').toString();
    const fields = parseFields(serverFirst);
    const nonce = fields.get('r');
    const salt = fields.get('s');
    const iterations = Number(fields.get('i'));
    if (nonce === undefined || salt === undefined || !Number.isSafeInteger(iterations) || iterations < 1)
      throw new Error(`bad SCRAM challenge ${serverFirst}`);
    const ownNonce = this.clientFirstBare.slice(this.clientFirstBare.indexOf(',r=') + 3);
    if (!nonce.startsWith(ownNonce)) throw new Error('SCRAM: the server nonce does not extend ours');
    const salted = await pbkdf2Async(this.password, Buffer.from(salt, 'base64'), iterations, 20, 'sha1');
    const clientKey = createHmac('sha1', salted).update('Client Key').digest();
    const storedKey = createHash('sha1').update(clientKey).digest();
    const finalBare = `c=biws,r=${nonce}`;
    const authMessage = `${this.clientFirstBare},${serverFirst},${finalBare}`;
    const signature = createHmac('sha1', storedKey).update(authMessage).digest();
    for (let i = 0; i < clientKey.length; i++) clientKey[i] ^= signature[i];
    const serverKey = createHmac('sha1', salted).update('Server Key').digest();
    this.serverSignature = createHmac('sha1', serverKey).update(authMessage).digest();
    return Buffer.from(`${finalBare},p=${clientKey.toString('base64')}`).toString('base64');
  }

  /** Checks the server's signature (the additional data of `<success>`, base64); throws if wrong. */
  verify(success: string): void {
    const v = parseFields(Buffer.from(success, 'base64').toString()).get('v');
    const expected = this.serverSignature;
    if (v === undefined || expected === undefined) throw new Error('SCRAM: no server signature');
    const got = Buffer.from(v, 'base64');
    if (got.length !== expected.length || !timingSafeEqual(got, expected))
      throw new Error('SCRAM: wrong server signature');
  }
}

function parseFields(message: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const part of message.split(',')) if (part[1] === '=') fields.set(part[0], part.slice(2));
  return fields;
}
