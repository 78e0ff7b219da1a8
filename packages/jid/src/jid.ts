import { JID, unescapeLocal } from '@xmpp/jid';
import { JidError, type JidPart } from './error.js';
import {
  PrepFailure,
  prepareDomainpart,
  prepareLocalpart,
  prepareResourcepart,
  stripTrailingDot,
} from './precis.js';

/**
 * The fields of ejabberd's `#jid{}` record: the parts as written (after splitting; a trailing dot of the
 * domain is always stripped) and their prepared forms, the ones to compare.
 */
export interface JidFields {
  readonly user: string;
  readonly server: string;
  readonly resource: string;
  readonly luser: string;
  readonly lserver: string;
  readonly lresource: string;
}

/** Why a string or a triple is not a JID. */
export interface JidFailure {
  readonly part: JidPart;
  readonly reason: string;
}

/** `user@server/resource`, leaving out what is empty: `jid:encode/1` on raw parts. */
export function joinParts(user: string, server: string, resource: string): string {
  let s = server;
  if (user !== '') s = `${user}@${s}`;
  if (resource !== '') s = `${s}/${resource}`;
  return s;
}

/** Prepare the three parts (`make/3`): the record, or the first part that fails (local, domain, resource). */
export function prepareParts(user: string, server: string, resource: string): JidFields | JidFailure {
  const host = stripTrailingDot(server);
  const luser = prepareLocalpart(user);
  if (luser instanceof PrepFailure) return luser;
  const lserver = prepareDomainpart(host);
  if (lserver instanceof PrepFailure) return lserver;
  const lresource = prepareResourcepart(resource);
  if (lresource instanceof PrepFailure) return lresource;
  return { user, server: host, resource, luser, lserver, lresource };
}

/**
 * Split a JID string the way RFC 7622 section 3.2 says: the resourcepart is everything after the first
 * `/`; in what is left, the localpart is everything before the first `@`; the rest is the domainpart (its
 * trailing dot still there). An `@` after the first `/` belongs to the resource.
 */
export function splitJid(s: string): [user: string, server: string, resource: string] | JidFailure {
  const slash = s.indexOf('/');
  const head = slash === -1 ? s : s.slice(0, slash);
  const resource = slash === -1 ? '' : s.slice(slash + 1);
  const at = head.indexOf('@');
  if (at === 0) return { part: 'localpart', reason: "empty localpart before '@'" };
  const user = at === -1 ? '' : head.slice(0, at);
  // The trailing dot is stripped by prepareParts; only check here that something else is left.
  const server = at === -1 ? head : head.slice(at + 1);
  if (stripTrailingDot(server) === '') return { part: 'domainpart', reason: 'empty domainpart' };
  if (slash !== -1 && resource === '')
    return { part: 'resourcepart', reason: "empty resourcepart after '/'" };
  return [user, server, resource];
}

/** Split and prepare: `string_to_jid/1` without the record. */
export function prepareString(s: string): JidFields | JidFailure {
  const parts = splitJid(s);
  return Array.isArray(parts) ? prepareParts(parts[0], parts[1], parts[2]) : parts;
}

export function isFailure(x: JidFields | JidFailure): x is JidFailure {
  return (x as JidFailure).reason !== undefined;
}

/** Fields handed to the constructor by this package, already prepared. */
let trusted: JidFields | undefined;

/** A `Jid` from fields this package prepared itself: no second preparation. */
export function fromFields(fields: JidFields): Jid {
  trusted = fields;
  try {
    return new Jid(fields.user, fields.server, fields.resource);
  } finally {
    trusted = undefined;
  }
}

function immutable(): TypeError {
  return new TypeError('a Jid is immutable: build another one with make(), bare() or replace_resource()');
}

/**
 * An XMPP address per RFC 7622, and ejabberd's `#jid{}` record.
 *
 * It is an `@xmpp/jid` `JID` (so xmpp.js code takes it as one): `local` and `domain` are the prepared
 * localpart and domainpart, `resource` the resourcepart as written, as in xmpp.js. On top of that it
 * carries the record's fields: `user`, `server`, `resource` as written, `luser`, `lserver`, `lresource`
 * prepared. `toString()` prints the prepared (canonical) form; `jid_to_string` the parts as written.
 *
 * Unlike xmpp.js's `JID`, the constructor validates (throwing `JidError`), never escapes a localpart
 * behind the caller's back (XEP-0106 is the client's business), and the result is immutable.
 */
export class Jid extends JID {
  // Written by the base constructor through the setters below, so not class fields of ours.
  declare protected _local: string;
  declare protected _domain: string;
  declare protected _resource: string;

  /** `#jid.user`: the localpart as written. */
  readonly user: string;
  /** `#jid.server`: the domainpart as written (without a trailing dot). */
  readonly server: string;
  /** `#jid.luser`: the prepared localpart (UsernameCaseMapped). */
  readonly luser: string;
  /** `#jid.lserver`: the prepared domainpart. */
  readonly lserver: string;
  /** `#jid.lresource`: the prepared resourcepart (OpaqueString). */
  readonly lresource: string;

  /** Throws `JidError` when the parts do not make a JID; `make()` answers `'error'` instead. */
  constructor(local: string | null | undefined, domain: string, resource?: string | null) {
    let fields = trusted;
    trusted = undefined;
    if (fields === undefined) {
      const user = local ?? '';
      const res = resource ?? '';
      const prepared = prepareParts(user, domain, res);
      if (isFailure(prepared))
        throw new JidError(joinParts(user, domain, res), prepared.part, prepared.reason);
      fields = prepared;
    }
    // The base constructor calls setDomain, setLocal and setResource (overridden below) with these.
    super(fields.luser, fields.lserver, fields.resource);
    this.user = fields.user;
    this.server = fields.server;
    this.luser = fields.luser;
    this.lserver = fields.lserver;
    this.lresource = fields.lresource;
    if (new.target === Jid) Object.freeze(this);
  }

  /** Only the base constructor may call this (before our own fields exist). */
  override setLocal(local: string): void {
    if (Object.hasOwn(this, 'lserver')) throw immutable();
    this._local = local;
  }

  /** Only the base constructor may call this (before our own fields exist). */
  override setDomain(domain: string): void {
    if (Object.hasOwn(this, 'lserver')) throw immutable();
    this._domain = domain;
  }

  /** Only the base constructor may call this (before our own fields exist). */
  override setResource(resource: string): void {
    if (Object.hasOwn(this, 'lserver')) throw immutable();
    this._resource = resource;
  }

  /**
   * The canonical form, built from the prepared parts. With `unescapeLocalpart`, the localpart is shown
   * with its XEP-0106 escapes undone (for display only: the result is not necessarily a valid JID).
   */
  override toString(unescapeLocalpart?: boolean): string {
    const local = unescapeLocalpart ? unescapeLocal(this.luser) : this.luser;
    return joinParts(local, this.lserver, this.lresource);
  }

  /** `JSON.stringify` writes the canonical string rather than the fields. */
  toJSON(): string {
    return this.toString();
  }

  /** The JID without its resource; the same object when it has none. */
  override bare(): Jid {
    if (this.lresource === '') return this;
    return fromFields({ ...fieldsOf(this), resource: '', lresource: '' });
  }

  /** True when there is no resourcepart. */
  isBare(): boolean {
    return this.lresource === '';
  }

  /**
   * Same prepared localpart, domainpart and resourcepart (so case-insensitive in the first two only).
   * A plain xmpp.js `JID` is prepared first; one that cannot be is equal to nothing.
   */
  override equals(other: JID): boolean {
    let o: JidFields | JidFailure;
    if (other instanceof Jid) o = other;
    else o = prepareParts(other.getLocal() ?? '', other.getDomain(), other.getResource() ?? '');
    if (isFailure(o)) return false;
    return this.luser === o.luser && this.lserver === o.lserver && this.lresource === o.lresource;
  }
}

// xmpp.js defines `local`, `domain` and `resource` as accessors bound to its own setters; keep the getters
// and make assignment fail with the same message as the setter methods.
for (const name of ['local', 'domain', 'resource'] as const) {
  const base = Object.getOwnPropertyDescriptor(JID.prototype, name);
  Object.defineProperty(Jid.prototype, name, {
    configurable: true,
    get: base?.get,
    set() {
      throw immutable();
    },
  });
}

/** The record fields of a `Jid`, as a plain object. */
export function fieldsOf(jid: Jid): JidFields {
  const { user, server, resource, luser, lserver, lresource } = jid;
  return { user, server, resource, luser, lserver, lresource };
}

// --- Idiomatic helpers --------------------------------------------------------------------------------

/** Parse a JID string; throws `JidError` naming the rule it breaks. `string_to_jid` answers `'error'`. */
export function parse(s: string): Jid {
  const prepared = prepareString(s);
  if (isFailure(prepared)) throw new JidError(s, prepared.part, prepared.reason);
  return fromFields(prepared);
}

/** The JID without its resource (`jid.bare()`). */
export function bare(jid: Jid): Jid {
  return jid.bare();
}

/** True when the JID has no resourcepart. */
export function isBare(jid: Jid): boolean {
  return jid.lresource === '';
}

/** Equality of the prepared parts: case-insensitive localpart and domainpart, case-sensitive resource. */
export function equal(a: Jid, b: Jid): boolean {
  return a.equals(b);
}

/**
 * The canonical string: prepared parts (`jid.toString()`). `jid_to_string` gives the parts as written.
 * Also exported as `toString` (for `import * as jid` callers: a binding named `toString` shadows a global).
 */
export function format(jid: Jid): string {
  return jid.toString();
}
