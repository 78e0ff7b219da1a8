import { fieldsOf, fromFields, isFailure, Jid, joinParts, prepareParts, prepareString } from './jid.js';
import {
  PrepFailure,
  prepareDomainpart,
  prepareLocalpart,
  prepareResourcepart,
  stripTrailingDot,
} from './precis.js';

/**
 * ejabberd's `jlib` / `jid` names, verbatim. Where ejabberd answers the atom `error`, these answer the
 * string `'error'` (as `@tsjabberd/xml-stanza` answers `false` where ejabberd does), so ported code reads
 * the same: `const j = string_to_jid(s); if (j === 'error') ...`. `parse()` is the throwing variant.
 */

/** `ljid()`: `{LUser, LServer, LResource}`, the prepared triple ejabberd keys its tables by. */
export type LJID = [luser: string, lserver: string, lresource: string];

/**
 * `make(User, Server, Resource)`: prepare the parts into a `Jid`, or `'error'`. An empty user or resource
 * means "none"; the server must not be empty. Like ejabberd, also `make({U, S, R})` and `make(Server)`.
 */
export function make(ljid: LJID): Jid | 'error';
export function make(server: string): Jid | 'error';
export function make(user: string, server: string, resource?: string): Jid | 'error';
export function make(a: string | LJID, server?: string, resource = ''): Jid | 'error' {
  let fields: ReturnType<typeof prepareParts>;
  if (Array.isArray(a)) fields = prepareParts(a[0], a[1], a[2]);
  else if (server === undefined) fields = prepareParts('', a, '');
  else fields = prepareParts(a, server, resource);
  return isFailure(fields) ? 'error' : fromFields(fields);
}

/** `string_to_jid(String)`: parse per RFC 7622, or `'error'`. `parse()` throws a `JidError` instead. */
export function string_to_jid(s: string): Jid | 'error' {
  const fields = prepareString(s);
  return isFailure(fields) ? 'error' : fromFields(fields);
}

/** `jid_to_string(Jid)`: `user@server/resource` from the parts as written (or from an LJID). */
export function jid_to_string(jid: Jid | LJID): string {
  if (Array.isArray(jid)) return joinParts(jid[0], jid[1], jid[2]);
  return joinParts(jid.user, jid.server, jid.resource);
}

/**
 * `tolower(Jid)`: the prepared `[luser, lserver, lresource]`. Given an LJID, prepares its parts again and
 * answers `'error'` when one of them cannot be.
 */
export function tolower(jid: Jid): LJID;
export function tolower(ljid: LJID): LJID | 'error';
export function tolower(jid: Jid | LJID): LJID | 'error' {
  if (jid instanceof Jid) return [jid.luser, jid.lserver, jid.lresource];
  const user = nodeprep(jid[0]);
  if (user === 'error') return 'error';
  const server = nameprep(jid[1]);
  if (server === 'error') return 'error';
  const resource = resourceprep(jid[2]);
  if (resource === 'error') return 'error';
  return [user, server, resource];
}

/** `remove_resource(Jid)`: the same JID with an empty resource (an LJID gets an empty third item). */
export function remove_resource(jid: Jid): Jid;
export function remove_resource(ljid: LJID): LJID;
export function remove_resource(jid: Jid | LJID): Jid | LJID {
  if (jid instanceof Jid) return jid.bare();
  return [jid[0], jid[1], ''];
}

/** `replace_resource(Jid, Resource)`: the same JID with another resource, or `'error'`. */
export function replace_resource(jid: Jid, resource: string): Jid | 'error' {
  const lresource = prepareResourcepart(resource);
  if (lresource instanceof PrepFailure) return 'error';
  return fromFields({ ...fieldsOf(jid), resource, lresource });
}

/** `nodeprep(String)`: the prepared localpart, or `'error'`. `''` (no localpart) stays `''`. */
export function nodeprep(s: string): string | 'error' {
  const out = prepareLocalpart(s);
  return typeof out === 'string' ? out : 'error';
}

/** `nameprep(String)`: the prepared domainpart (trailing dot stripped), or `'error'`; `''` is an error. */
export function nameprep(s: string): string | 'error' {
  const out = prepareDomainpart(stripTrailingDot(s));
  return typeof out === 'string' ? out : 'error';
}

/** `resourceprep(String)`: the prepared resourcepart, or `'error'`. `''` (no resource) stays `''`. */
export function resourceprep(s: string): string | 'error' {
  const out = prepareResourcepart(s);
  return typeof out === 'string' ? out : 'error';
}
