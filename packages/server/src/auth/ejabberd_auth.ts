import { randomBytes } from 'node:crypto';
import { nameprep, nodeprep } from '@tsjabberd/jid';
import type { Logger } from '@tsjabberd/router';
import type { ServerConfig } from '../config/types.js';
import type { ScramCredential, Storage } from '../storage/storage.js';
import { Extauth } from './extauth.js';
import type { SaslCredentials } from './sasl.js';
import {
  DEFAULT_ITERATIONS,
  hashPasswordAsync,
  SALT_BYTES,
  type ScramHash,
  saslprep,
  verifyPassword,
} from './scram.js';

/**
 * ejabberd_auth with `auth_method: internal` and `auth_password_format: scram`: accounts live in the
 * server's storage as SCRAM credentials (one per hash), never as passwords. Users and hosts are
 * prepared (nodeprep, nameprep) before they reach the storage; passwords are SASLprepped, hashed, and
 * neither stored nor logged.
 */

export interface EjabberdAuthOptions {
  /** The PBKDF2 iteration count of new credentials (default 4096). */
  iterations?: number;
  log?: Logger;
  /**
   * `auth_method: external`: every account question goes to this pool of `extauth_program` instances
   * instead of the storage; SASL is then PLAIN only (there are no SCRAM keys).
   */
  extauth?: Extauth;
}

/** What EjabberdAuth runs its hooks on (the node's ejabberd_hooks). */
export interface AuthHooks {
  run(hook: string, host: string, args: unknown[]): void | Promise<void>;
}

export class EjabberdAuth {
  /**
   * The node's hooks, set by the server once the node exists: a new account runs `register_user`
   * (user, host), as ejabberd_auth does, so mod_last records "Registered but didn't login".
   */
  hooks: AuthHooks | undefined;
  private readonly iterations: number;
  private readonly log: Logger | undefined;
  /** What an unknown user's password is checked against, so that answering takes as long as for a known one. */
  private decoy: Promise<ScramCredential> | undefined;
  private readonly extauth: Extauth | undefined;

  constructor(
    private readonly storage: Storage,
    opts: EjabberdAuthOptions = {},
  ) {
    this.iterations = opts.iterations ?? DEFAULT_ITERATIONS;
    if (!Number.isSafeInteger(this.iterations) || this.iterations < 1) {
      throw new RangeError(`invalid SCRAM iteration count ${opts.iterations}`);
    }
    this.log = opts.log;
    this.extauth = opts.extauth;
  }

  /** Stops the external programs (`auth_method: external`). */
  close(): void {
    this.extauth?.close();
  }

  /**
   * `ejabberd_auth:try_register/3`: `'exists'` when the account is there already, `'invalid'` when the
   * user, the host or the password cannot be prepared (or the password is empty).
   */
  async try_register(user: string, host: string, password: string): Promise<'ok' | 'exists' | 'invalid'> {
    const account = prepare(user, host);
    if (account === undefined || !validPassword(password)) return 'invalid';
    if (this.extauth !== undefined) {
      const ok = await this.extauth.call('tryregister', account.user, account.host, password);
      if (!ok) return 'exists';
      this.log?.info(`registered account ${account.user}@${account.host} (external)`);
      await this.registered(account.user, account.host);
      return 'ok';
    }
    const stored = await hashPasswordAsync(password, this.iterations);
    const created = await this.storage.accounts.create({
      user: account.user,
      host: account.host,
      password: stored,
      created: Date.now(),
    });
    if (!created) return 'exists';
    this.log?.info(`registered account ${account.user}@${account.host}`);
    await this.registered(account.user, account.host);
    return 'ok';
  }

  /** Runs `register_user`; a failing hook is logged, never turns the registration into a failure. */
  private async registered(user: string, host: string): Promise<void> {
    try {
      await this.hooks?.run('register_user', host, [user, host]);
    } catch (e) {
      this.log?.error(`register_user hook for ${user}@${host} failed: ${String(e)}`);
    }
  }

  /** `ejabberd_auth:remove_user/2`: false when there was no such account. */
  async remove_user(user: string, host: string): Promise<boolean> {
    const account = prepare(user, host);
    if (account === undefined) return false;
    if (this.extauth !== undefined) return this.extauth.call('removeuser', account.user, account.host);
    const removed = await this.storage.accounts.remove(account.user, account.host);
    if (removed) this.log?.info(`removed account ${account.user}@${account.host}`);
    return removed;
  }

  /** `ejabberd_auth:user_exists/2`. */
  async user_exists(user: string, host: string): Promise<boolean> {
    const account = prepare(user, host);
    if (account === undefined) return false;
    if (this.extauth !== undefined) return this.extauth.call('isuser', account.user, account.host);
    return (await this.storage.accounts.get(account.user, account.host)) !== undefined;
  }

  /** `ejabberd_auth:set_password/3`: false for an unknown user or a password that cannot be prepared. */
  async set_password(user: string, host: string, password: string): Promise<boolean> {
    const account = prepare(user, host);
    if (account === undefined || !validPassword(password)) return false;
    if (this.extauth !== undefined) return this.extauth.call('setpass', account.user, account.host, password);
    if ((await this.storage.accounts.get(account.user, account.host)) === undefined) return false;
    const stored = await hashPasswordAsync(password, this.iterations);
    const changed = await this.storage.accounts.setPassword(account.user, account.host, stored);
    if (changed) this.log?.info(`changed the password of ${account.user}@${account.host}`);
    return changed;
  }

  /**
   * `ejabberd_auth:check_password/3`: whether `password` is the account's. An unknown user costs the
   * same PBKDF2 work as a known one, so the time taken does not tell them apart.
   */
  async check_password(user: string, host: string, password: string): Promise<boolean> {
    const account = prepare(user, host);
    if (account === undefined) return false;
    if (this.extauth !== undefined) {
      if (password === '') return false;
      return this.extauth.call('auth', account.user, account.host, password);
    }
    const stored = await this.storage.accounts.get(account.user, account.host);
    if (stored === undefined) {
      await verifyPassword('sha256', await this.decoyCredential(), password);
      return false;
    }
    return verifyPassword('sha256', stored.password.sha256, password);
  }

  /** `ejabberd_auth:get_users/1`: the users of a host, sorted. */
  async get_users(host: string): Promise<string[]> {
    const lhost = nameprep(host);
    return lhost === 'error' ? [] : this.storage.accounts.list(lhost);
  }

  /** `ejabberd_auth:count_users/1`. */
  async count_users(host: string): Promise<number> {
    const lhost = nameprep(host);
    return lhost === 'error' ? 0 : this.storage.accounts.count(lhost);
  }

  /** What the SASL mechanisms of a stream to `host` authenticate against. */
  credentials(host: string): SaslCredentials {
    const lhost = nameprep(host);
    if (this.extauth !== undefined) {
      return {
        plainOnly: true,
        scram: async () => undefined,
        checkPlain: (user: string, password: string) => this.check_password(user, host, password),
      };
    }
    return {
      iterations: this.iterations,
      scram: async (user: string, hash: ScramHash) => {
        if (lhost === 'error') return undefined;
        const lu = nodeprep(user);
        if (lu === 'error' || lu === '') return undefined;
        return (await this.storage.accounts.get(lu, lhost))?.password[hash];
      },
      checkPlain: (user: string, password: string) => this.check_password(user, host, password),
    };
  }

  private decoyCredential(): Promise<ScramCredential> {
    this.decoy ??= hashPasswordAsync(randomBytes(SALT_BYTES).toString('base64'), this.iterations).then(
      (p) => p.sha256,
    );
    return this.decoy;
  }
}

/** The prepared user and host, or undefined when either cannot be prepared (or the user is empty). */
function prepare(user: string, host: string): { user: string; host: string } | undefined {
  const luser = nodeprep(user);
  const lhost = nameprep(host);
  if (luser === 'error' || luser === '' || lhost === 'error') return undefined;
  return { user: luser, host: lhost };
}

/** A password that can be stored: SASLprep accepts it and it is not empty. */
function validPassword(password: string): boolean {
  const prepared = saslprep(password);
  return prepared !== 'error' && prepared !== '';
}

/**
 * The auth back end `config.auth_method` names (ejabberd_auth picks its module the same way):
 * `internal`, the accounts in `storage`; `external`, a pool of `extauth_program` instances.
 */
export function authFor(
  config: Pick<ServerConfig, 'auth_method' | 'extauth_program' | 'extauth_pool_size' | 'extauth_timeout'>,
  storage: Storage,
  log?: Logger,
): EjabberdAuth {
  if (config.auth_method !== 'external' || config.extauth_program === undefined)
    return new EjabberdAuth(storage, { log });
  const extauth = new Extauth({
    program: config.extauth_program,
    poolSize: config.extauth_pool_size,
    timeout: config.extauth_timeout,
    log,
  });
  return new EjabberdAuth(storage, { log, extauth });
}
