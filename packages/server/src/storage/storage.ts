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
  /**
   * False when there was no such account. Removes everything stored for the user with it (roster,
   * offline messages, vCard, last activity, private storage, block list), in one transaction.
   */
  remove(user: string, host: string): Promise<boolean>;
  /** The users of a host, sorted. */
  list(host: string): Promise<string[]>;
  count(host: string): Promise<number>;
}

/** `subscription` of a roster item (RFC 6121 2.1.2.5). */
export type Subscription = 'none' | 'to' | 'from' | 'both';

/**
 * ejabberd's `#roster.ask`: a pending subscription request in either direction. `out`: the user asked
 * the contact (shown as `ask='subscribe'`, "Pending Out"); `in`: the contact asked the user and awaits
 * an answer ("Pending In"); `both`: each asked the other.
 */
export type Ask = 'none' | 'out' | 'in' | 'both';

/** One roster item: the user's view of one contact (RFC 6121 2.1.2). */
export interface RosterItem {
  /** The bare JID of the contact, prepared (lowercase where the JID rules fold case). */
  jid: string;
  /** `name` ('' when unset). */
  name: string;
  subscription: Subscription;
  ask: Ask;
  /** `group` elements, in the order the client gave them, no duplicates. */
  groups: string[];
  /** The `<status/>` text of a pending incoming request (ejabberd's askmessage), '' when none. */
  askMessage: string;
  /** Pre-approved: the user approved the contact's subscription before it asked (RFC 6121 3.4). */
  approved: boolean;
}

/**
 * The rosters (ejabberd's `roster` and `rostergroups` tables). Each user has a version number that
 * every change increments (XEP-0237 roster versioning); writes return the new version.
 */
export interface RosterStore {
  /** Every item of the user's roster, sorted by `jid`. */
  get(user: string, host: string): Promise<RosterItem[]>;
  getItem(user: string, host: string, jid: string): Promise<RosterItem | undefined>;
  /** Adds or replaces the item for `item.jid`; returns the roster's new version. */
  put(user: string, host: string, item: RosterItem): Promise<number>;
  /** Removes the item; returns the new version, or undefined when there was no such item. */
  remove(user: string, host: string, jid: string): Promise<number | undefined>;
  /** The roster's current version (0 for a user who never had a roster). */
  version(user: string, host: string): Promise<number>;
}

/** A message kept for a user who was offline (XEP-0160). */
export interface OfflineMessage {
  /** Milliseconds since the epoch: when the server received it (the XEP-0203 delay stamp). */
  stamp: number;
  /** The sender's full JID. */
  from: string;
  /** The JID it was addressed to. */
  to: string;
  /** The `<message/>` as XML text. */
  packet: string;
}

/** Offline messages (ejabberd's `spool` table), kept in arrival order per user. */
export interface OfflineStore {
  /**
   * Appends the message unless the user already holds `max` messages; false when full. The count and
   * the insert are one transaction, so concurrent stores never exceed the limit.
   */
  store(user: string, host: string, message: OfflineMessage, max: number): Promise<boolean>;
  /** Removes and returns every message of the user, oldest first (delivery on initial presence). */
  pop(user: string, host: string): Promise<OfflineMessage[]>;
  count(user: string, host: string): Promise<number>;
}

/** Last activity (XEP-0012; ejabberd's `last` table): when the user last logged out, and why. */
export interface LastActivity {
  /** Seconds since the epoch. */
  seconds: number;
  /** The status text of the last unavailable presence ('' when none). */
  status: string;
}

export interface LastStore {
  get(user: string, host: string): Promise<LastActivity | undefined>;
  set(user: string, host: string, last: LastActivity): Promise<void>;
}

/** The vCard of each user (XEP-0054; ejabberd's `vcard` table), kept as XML text. */
export interface VcardStore {
  /** The user's `<vCard/>` element as XML text. */
  get(user: string, host: string): Promise<string | undefined>;
  set(user: string, host: string, vcard: string): Promise<void>;
}

/** Private XML storage (XEP-0049; ejabberd's `private_storage`): one element per namespace per user. */
export interface PrivateStore {
  /** The element stored under `ns`, as XML text. */
  get(user: string, host: string, ns: string): Promise<string | undefined>;
  /** Stores each `[namespace, XML text]`, replacing what was there, all in one transaction. */
  set(user: string, host: string, entries: [ns: string, xml: string][]): Promise<void>;
}

/** The block list (XEP-0191): the JIDs (bare, full or domain, prepared) a user blocks. */
export interface BlockingStore {
  /** Sorted. */
  list(user: string, host: string): Promise<string[]>;
  /** Adds the JIDs not already there. */
  add(user: string, host: string, jids: string[]): Promise<void>;
  /** Removes the given JIDs. */
  remove(user: string, host: string, jids: string[]): Promise<void>;
  /** Removes every JID. */
  clear(user: string, host: string): Promise<void>;
}

export interface Storage {
  readonly accounts: AccountStore;
  readonly roster: RosterStore;
  readonly offline: OfflineStore;
  readonly last: LastStore;
  readonly vcard: VcardStore;
  readonly private: PrivateStore;
  readonly blocking: BlockingStore;
  /** Flushes and releases the back end; later calls fail. */
  close(): Promise<void>;
}
