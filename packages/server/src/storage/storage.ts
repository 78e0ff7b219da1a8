/**
 * The storage interface every back end implements: SQLite (the embedded default), memory (unit tests),
 * and later PostgreSQL. Asynchronous throughout, so a networked database fits the same shape; an
 * acknowledged write (a resolved promise) is durable.
 */

/** One SCRAM credential (RFC 5802 section 3): what is stored instead of a password. */
export interface ScramCredential {
  /** Base64. */
  salt: string;
  iterations: number;
  /** Base64 of H(ClientKey). */
  storedKey: string;
  /** Base64 of HMAC(SaltedPassword, "Server Key"). */
  serverKey: string;
}

/** The credentials of an account, one per hash, so each SCRAM mechanism can be offered. */
export interface StoredPassword {
  sha1: ScramCredential;
  sha256: ScramCredential;
}

export interface Account {
  /** The prepared localpart (nodeprep). */
  user: string;
  /** The prepared host. */
  host: string;
  password: StoredPassword;
  /** Milliseconds since the epoch. */
  created: number;
}

export interface AccountStore {
  get(user: string, host: string): Promise<Account | undefined>;
  /** Creates the account; false when it already exists. */
  create(account: Account): Promise<boolean>;
  /** False when there is no such account. */
  setPassword(user: string, host: string, password: StoredPassword): Promise<boolean>;
  /** False when there was no such account. */
  remove(user: string, host: string): Promise<boolean>;
  /** The users of a host, sorted. */
  list(host: string): Promise<string[]>;
  count(host: string): Promise<number>;
}

export interface Storage {
  readonly accounts: AccountStore;
  /** Flushes and releases the back end; later calls fail. */
  close(): Promise<void>;
}
