import { createHmac, randomBytes } from 'node:crypto';
import { nameprep, nodeprep, string_to_jid } from '@tsjabberd/jid';
import type { ScramCredential } from '../storage/storage.js';
import {
  DEFAULT_ITERATIONS,
  digest,
  HASH_BYTES,
  hmac,
  SALT_BYTES,
  type ScramHash,
  safeEqual,
  xor,
} from './scram.js';

/**
 * Server-side SASL mechanisms (ejabberd's `cyrsasl`, `cyrsasl_scram`, `cyrsasl_plain`) as small state
 * machines that know nothing of XMPP: bytes in, a challenge, a success or a failure out. The c2s layer
 * base64-decodes `<auth/>` and `<response/>`, calls `step`, and encodes what comes back; it alone decides
 * which mechanisms are offered (`saslMechanisms`) and refuses the others with `invalid-mechanism`.
 */

export type SaslFailureCondition =
  | 'not-authorized'
  | 'malformed-request'
  | 'invalid-authzid'
  | 'temporary-auth-failure'
  | 'aborted'
  | 'invalid-mechanism';

export type SaslResult =
  | { kind: 'challenge'; data: Buffer }
  | { kind: 'success'; user: string; data?: Buffer }
  | { kind: 'failure'; condition: SaslFailureCondition; text?: string };

export interface SaslServer {
  readonly mechanism: string;
  /**
   * Feed the client's next message (the initial response first; an empty buffer when there was none,
   * which the first step answers with an empty challenge). After a success or a failure the exchange is
   * over and further steps fail with `malformed-request`.
   */
  step(data: Buffer): Promise<SaslResult>;
}

/** What the mechanisms need from the account store, for one host; users arrive nodeprepped. */
export interface SaslCredentials {
  /** The user's credential for `hash`; undefined for an unknown user. */
  scram(user: string, hash: ScramHash): Promise<ScramCredential | undefined>;
  checkPlain(user: string, password: string): Promise<boolean>;
  /** The iteration count an unknown user is answered with (default 4096): that of new accounts. */
  readonly iterations?: number;
  /** Only PLAIN can be checked (`auth_method: external`: no SCRAM keys exist). */
  readonly plainOnly?: boolean;
}

export interface SaslOptions {
  /** The server nonce of SCRAM (default: 24 random bytes in base64). For tests. */
  nonce?: () => string;
}

const SCRAM_MECHANISMS: Readonly<Record<string, ScramHash>> = {
  'SCRAM-SHA-256': 'sha256',
  'SCRAM-SHA-1': 'sha1',
};

/**
 * The mechanisms to offer, strongest first. PLAIN sends the password itself, so it is offered only on a
 * TLS-protected stream unless the listener's `allow_unencrypted_plain` says otherwise. No `-PLUS`
 * variant: channel binding is not supported.
 */
export function saslMechanisms(opts: {
  tls: boolean;
  allowPlainWithoutTls: boolean;
  plainOnly?: boolean;
}): string[] {
  const out = opts.plainOnly === true ? [] : ['SCRAM-SHA-256', 'SCRAM-SHA-1'];
  if (opts.tls || opts.allowPlainWithoutTls) out.push('PLAIN');
  return out;
}

/**
 * `cyrsasl:server_start/3`: a fresh exchange for `mechanism` on the stream to `host`, or undefined for a
 * mechanism that does not exist (mechanism names are case-sensitive, as SASL's are upper case).
 */
export function startSasl(
  mechanism: string,
  creds: SaslCredentials,
  host: string,
  opts: SaslOptions = {},
): SaslServer | undefined {
  if (Object.hasOwn(SCRAM_MECHANISMS, mechanism)) {
    return new ScramServer(mechanism, SCRAM_MECHANISMS[mechanism], creds, host, opts);
  }
  if (mechanism === 'PLAIN') return new PlainServer(creds, host);
  return undefined;
}

// --- Helpers -----------------------------------------------------------------------------------------

const failure = (condition: SaslFailureCondition, text?: string): SaslResult =>
  text === undefined ? { kind: 'failure', condition } : { kind: 'failure', condition, text };

const malformed = (text: string): SaslResult => failure('malformed-request', text);

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Strict UTF-8 decoding: undefined for invalid sequences. */
function decodeUtf8(data: Buffer): string | undefined {
  try {
    return utf8.decode(data);
  } catch {
    return undefined;
  }
}

/** Canonical base64 (padding required), as SCRAM's attributes are. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function decodeBase64(s: string): Buffer | undefined {
  return BASE64.test(s) ? Buffer.from(s, 'base64') : undefined;
}

/**
 * The user an authentication identity names on `host`: a localpart, or (as ejabberd accepts for PLAIN)
 * `localpart@host` with this very host. Nodeprepped; undefined when it cannot be an account here.
 */
function userOf(authcid: string, host: string): string | undefined {
  let local = authcid;
  const at = authcid.indexOf('@');
  if (at !== -1) {
    const domain = nameprep(authcid.slice(at + 1));
    if (domain === 'error' || domain !== nameprep(host)) return undefined;
    local = authcid.slice(0, at);
  }
  const user = nodeprep(local);
  return user === 'error' || user === '' ? undefined : user;
}

/** An authorization identity is accepted when empty or when it is the authenticated user's bare JID. */
function authzidAllowed(authzid: string, user: string, host: string): boolean {
  if (authzid === '') return true;
  const jid = string_to_jid(authzid);
  return jid !== 'error' && jid.luser === user && jid.lserver === nameprep(host) && jid.lresource === '';
}

// --- SCRAM (RFC 5802, RFC 7677) ----------------------------------------------------------------------

/** Per-process key of the fake salts handed out for unknown users. */
const FAKE_SALT_KEY = randomBytes(32);

/**
 * The credential an unknown user is answered with: a salt that is stable for the name (so asking twice
 * does not tell) and looks like a real one, and keys that match no proof.
 */
function fakeCredential(hash: ScramHash, user: string, host: string, iterations: number): ScramCredential {
  const salt = createHmac('sha256', FAKE_SALT_KEY).update(`${hash}\0${host}\0${user}`).digest();
  return {
    salt: salt.subarray(0, SALT_BYTES).toString('base64'),
    iterations,
    storedKey: randomBytes(HASH_BYTES[hash]).toString('base64'),
    serverKey: randomBytes(HASH_BYTES[hash]).toString('base64'),
  };
}

/** `saslname` (RFC 5802 section 7): `=2C` and `=3D` stand for `,` and `=`; any other `=` is malformed. */
function decodeSaslname(s: string): string | undefined {
  if (/=(?!2C|3D)/.test(s)) return undefined;
  return s.replace(/=2C/g, ',').replace(/=3D/g, '=');
}

/** `printable` (RFC 5802 section 7): the characters of a nonce. */
const NONCE = /^[\x21-\x2b\x2d-\x7e]+$/;

/** An `x=value` attribute, or undefined. */
function attribute(part: string | undefined, name: string): string | undefined {
  return part?.startsWith(`${name}=`) ? part.slice(name.length + 1) : undefined;
}

type ScramState =
  | { at: 'start' }
  | { at: 'client-first'; emptyChallengeSent: boolean }
  | {
      at: 'client-final';
      user: string;
      known: boolean;
      cred: ScramCredential;
      gs2Header: string;
      nonce: string;
      authMessagePrefix: string;
    }
  | { at: 'done' };

class ScramServer implements SaslServer {
  private state: ScramState = { at: 'start' };

  constructor(
    readonly mechanism: string,
    private readonly hash: ScramHash,
    private readonly creds: SaslCredentials,
    private readonly host: string,
    private readonly opts: SaslOptions,
  ) {}

  async step(data: Buffer): Promise<SaslResult> {
    const state = this.state;
    // Over whatever happens, until the step below says otherwise (this also refuses overlapping steps).
    this.state = { at: 'done' };
    switch (state.at) {
      case 'start':
        if (data.length === 0) {
          this.state = { at: 'client-first', emptyChallengeSent: true };
          return { kind: 'challenge', data: Buffer.alloc(0) };
        }
        return this.clientFirst(data);
      case 'client-first':
        return this.clientFirst(data);
      case 'client-final':
        return this.clientFinal(state, data);
      case 'done':
        return malformed('the SASL exchange is over');
    }
  }

  /** client-first-message = gs2-header client-first-message-bare. */
  private async clientFirst(data: Buffer): Promise<SaslResult> {
    const message = decodeUtf8(data);
    if (message === undefined || message === '') return malformed('client-first-message is not UTF-8 text');
    const parts = message.split(',');
    if (parts.length < 4) return malformed('client-first-message is incomplete');
    const [cbind, authzidPart, userPart, noncePart] = parts;
    // gs2-cbind-flag: "n" (client does not support channel binding) or "y" (it does but thinks we do
    // not; true, since no -PLUS mechanism is offered). "p=" asks for channel binding we do not support.
    if (cbind.startsWith('p=')) return malformed('channel binding is not supported');
    if (cbind !== 'n' && cbind !== 'y') return malformed('invalid gs2-cbind-flag');
    let authzid = '';
    if (authzidPart !== '') {
      const encoded = attribute(authzidPart, 'a');
      const decoded = encoded === undefined ? undefined : decodeSaslname(encoded);
      if (decoded === undefined || decoded === '') return malformed('invalid authzid');
      authzid = decoded;
    }
    if (userPart.startsWith('m=')) return malformed('mandatory SCRAM extensions are not supported');
    const encodedUser = attribute(userPart, 'n');
    const username = encodedUser === undefined ? undefined : decodeSaslname(encodedUser);
    if (username === undefined || username === '') return malformed('invalid username attribute');
    const clientNonce = attribute(noncePart, 'r');
    if (clientNonce === undefined || !NONCE.test(clientNonce)) return malformed('invalid nonce attribute');
    // Optional extensions follow: each must at least look like an attribute; unknown ones are ignored.
    for (const ext of parts.slice(4)) {
      if (!/^[A-Za-z]=/.test(ext)) return malformed('invalid extension attribute');
    }

    // A name that nodeprep refuses cannot be an account: ejabberd answers saslprep_failed, not-authorized.
    const user = userOf(username, this.host);
    if (user === undefined) return failure('not-authorized');
    if (!authzidAllowed(authzid, user, this.host)) return failure('invalid-authzid');

    let stored: ScramCredential | undefined;
    try {
      stored = await this.creds.scram(user, this.hash);
    } catch {
      return failure('temporary-auth-failure');
    }
    const cred =
      stored ?? fakeCredential(this.hash, user, this.host, this.creds.iterations ?? DEFAULT_ITERATIONS);
    const nonce = clientNonce + (this.opts.nonce?.() ?? randomBytes(24).toString('base64'));
    const serverFirst = `r=${nonce},s=${cred.salt},i=${cred.iterations}`;
    const gs2Header = `${cbind},${authzidPart},`;
    const bare = message.slice(gs2Header.length);
    this.state = {
      at: 'client-final',
      user,
      known: stored !== undefined,
      cred,
      gs2Header,
      nonce,
      authMessagePrefix: `${bare},${serverFirst},`,
    };
    return { kind: 'challenge', data: Buffer.from(serverFirst, 'utf8') };
  }

  /** client-final-message = channel-binding "," nonce ["," extensions] "," proof. */
  private clientFinal(state: Extract<ScramState, { at: 'client-final' }>, data: Buffer): SaslResult {
    const message = decodeUtf8(data);
    if (message === undefined) return malformed('client-final-message is not UTF-8 text');
    const parts = message.split(',');
    if (parts.length < 3) return malformed('client-final-message is incomplete');
    const channelBinding = attribute(parts[0], 'c');
    const nonce = attribute(parts[1], 'r');
    const proofPart = parts[parts.length - 1];
    const proofText = attribute(proofPart, 'p');
    if (channelBinding === undefined) return malformed('invalid channel-binding attribute');
    if (nonce === undefined || !NONCE.test(nonce)) return malformed('invalid nonce attribute');
    if (proofText === undefined) return malformed('the proof is not the last attribute');
    for (const ext of parts.slice(2, -1)) {
      if (ext.startsWith('m=')) return malformed('mandatory SCRAM extensions are not supported');
      if (!/^[A-Za-z]=/.test(ext)) return malformed('invalid extension attribute');
    }
    const cbindData = decodeBase64(channelBinding);
    if (cbindData === undefined) return malformed('channel-binding is not base64');
    const proof = decodeBase64(proofText);
    if (proof === undefined || proof.length !== HASH_BYTES[this.hash]) return malformed('invalid proof');

    // Without channel binding, c= carries the gs2 header back: "biws" for "n,,", "eSws" for "y,,".
    if (!safeEqual(cbindData, Buffer.from(state.gs2Header, 'utf8'))) {
      return failure('not-authorized', 'channel binding does not match');
    }
    if (nonce !== state.nonce) return failure('not-authorized', 'nonce does not match');

    const withoutProof = message.slice(0, message.length - proofPart.length - 1);
    const authMessage = state.authMessagePrefix + withoutProof;
    const storedKey = Buffer.from(state.cred.storedKey, 'base64');
    const clientSignature = hmac(this.hash, storedKey, authMessage);
    const clientKey = xor(proof, clientSignature);
    const verified = safeEqual(digest(this.hash, clientKey), storedKey);
    // An unknown user fails here, exactly as a wrong password does.
    if (!verified || !state.known) return failure('not-authorized');
    const serverSignature = hmac(this.hash, Buffer.from(state.cred.serverKey, 'base64'), authMessage);
    return {
      kind: 'success',
      user: state.user,
      data: Buffer.from(`v=${serverSignature.toString('base64')}`, 'utf8'),
    };
  }
}

// --- PLAIN (RFC 4616) --------------------------------------------------------------------------------

class PlainServer implements SaslServer {
  readonly mechanism = 'PLAIN';
  private state: 'start' | 'waiting' | 'done' = 'start';

  constructor(
    private readonly creds: SaslCredentials,
    private readonly host: string,
  ) {}

  async step(data: Buffer): Promise<SaslResult> {
    const state = this.state;
    this.state = 'done';
    if (state === 'done') return malformed('the SASL exchange is over');
    if (state === 'start' && data.length === 0) {
      this.state = 'waiting';
      return { kind: 'challenge', data: Buffer.alloc(0) };
    }
    // message = [authzid] NUL authcid NUL passwd, all UTF-8, none containing NUL.
    const message = decodeUtf8(data);
    if (message === undefined) return malformed('PLAIN message is not UTF-8 text');
    const parts = message.split('\0');
    if (parts.length !== 3) return malformed('PLAIN message is not authzid NUL authcid NUL password');
    const [authzid, authcid, password] = parts;
    if (authcid === '' || password === '') return malformed('empty authcid or password');
    const user = userOf(authcid, this.host);
    if (user === undefined) return failure('not-authorized');
    if (!authzidAllowed(authzid, user, this.host)) return failure('invalid-authzid');
    let ok: boolean;
    try {
      ok = await this.creds.checkPlain(user, password);
    } catch {
      return failure('temporary-auth-failure');
    }
    return ok ? { kind: 'success', user } : failure('not-authorized');
  }
}
