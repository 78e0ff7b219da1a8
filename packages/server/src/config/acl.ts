import { BlockList, isIP } from 'node:net';
import type { AclPattern, ServerConfig, ShaperConfig } from './types.js';

/** `record[key]` when it is the record's own entry (never `constructor` and the like from the prototype). */
function own<T>(record: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/**
 * A network in ejabberd's acl `ip` syntax (`127.0.0.0/8`, `::1/128`, or a bare address: /32 or /128),
 * or undefined when `text` is not one.
 */
export function parseCidr(
  text: string,
): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const version = isIP(address);
  if (version === 0) return undefined;
  const max = version === 4 ? 32 : 128;
  let prefix = max;
  if (slash >= 0) {
    const bits = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) return undefined;
    prefix = Number(bits);
  }
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** The BlockList of each acl's `ip` networks, built on first use. */
const networks = new WeakMap<readonly string[], BlockList>();

/**
 * Is `ip` in one of `cidrs` (`address/prefix`)? IPv4-mapped IPv6 addresses (`::ffff:127.0.0.1`, what
 * Node reports on a dual-stack socket) match IPv4 networks; an invalid address matches nothing.
 */
export function ipInNetworks(cidrs: readonly string[], ip: string): boolean {
  const address = ip.replace(/%.*$/, '');
  const version = isIP(address);
  if (version === 0) return false;
  let list = networks.get(cidrs);
  if (list === undefined) {
    list = new BlockList();
    for (const cidr of cidrs) {
      const net = parseCidr(cidr);
      if (net !== undefined) list.addSubnet(net.address, net.prefix, net.family);
    }
    networks.set(cidrs, list);
  }
  return list.check(address, version === 4 ? 'ipv4' : 'ipv6');
}

/**
 * ejabberd's acl:match_acl: does the named acl match `user@host` (connecting from `ip`)? `all` and
 * `none` are built in; an undefined acl matches nobody. `user` and `host` are the prepared localpart
 * and domainpart (`Jid.luser`, `Jid.lserver`), as the loader prepares the acl's entries; `user` is `''`
 * for a server, and both are `''` for a caller that did not authenticate. An acl `user` entry without
 * `@` matches that user on any of the served hosts. An `ip` entry matches only when `ip` is given.
 */
export function matchAcl(
  config: ServerConfig,
  acl: string,
  user: string,
  host: string,
  ip?: string,
): boolean {
  if (acl === 'all') return true;
  if (acl === 'none') return false;
  const spec = own(config.acl, acl);
  if (spec === undefined) return false;
  if (spec.all === true) return true;
  if (ip !== undefined && spec.ip !== undefined && ipInNetworks(spec.ip, ip)) return true;
  if (host !== '' && spec.server?.includes(host)) return true;
  if (spec.patterns?.some((p) => patternMatches(config, p, user, host))) return true;
  if (user === '' || spec.user === undefined) return false;
  return spec.user.some((entry) =>
    entry.includes('@') ? entry === `${user}@${host}` : entry === user && config.hosts.includes(host),
  );
}

/** Compiled patterns by source (the config keeps sources, so it stays plain data). */
const compiled = new Map<string, RegExp>();

/** A pattern source as a RegExp; ejabberd's are searched, not anchored (`""` matches every name). */
export function aclRegExp(source: string): RegExp {
  let re = compiled.get(source);
  if (re === undefined) {
    re = new RegExp(source, 'u');
    compiled.set(source, re);
  }
  return re;
}

/**
 * ejabberd's user_regexp (a user of a served host, or of `host`), server_regexp and node_regexp: a
 * caller without an account matches only server patterns, and only when its host is known.
 */
function patternMatches(config: ServerConfig, p: AclPattern, user: string, host: string): boolean {
  if (host === '') return false;
  if (p.user !== undefined) {
    if (user === '' || !aclRegExp(p.user).test(user)) return false;
    if (p.host !== undefined) return p.host === host;
    if (p.server === undefined) return config.hosts.includes(host);
  }
  return p.server === undefined || aclRegExp(p.server).test(host);
}

/** A shell glob (`*`, `?`, `[...]`) as the anchored regular expression ejabberd's `_glob` acls match. */
export function globToRegExp(glob: string): string {
  let out = '^';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') out += '.*';
    else if (c === '?') out += '.';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) out += '\\[';
      else {
        const body = glob.slice(i + 1, end);
        out += `[${body.startsWith('!') ? `^${body.slice(1)}` : body}]`;
        i = end;
      }
    } else out += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return `${out}$`;
}

/**
 * ejabberd's acl:match_rule for an access rule: the verdict of the first rule whose acl matches
 * `user@host` (from `ip`, when given), `deny` when none does. The rule names `all` (allow) and `none`
 * (deny) are built in; an undefined rule denies.
 */
export function accessAllows(
  config: ServerConfig,
  rule: string,
  user: string,
  host: string,
  ip?: string,
): boolean {
  if (rule === 'all') return true;
  if (rule === 'none') return false;
  const rules = own(config.access_rules, rule);
  if (rules === undefined) return false;
  for (const [verdict, acl] of rules) {
    if (matchAcl(config, acl, user, host, ip)) return verdict === 'allow';
  }
  return false;
}

/**
 * The shaper a listener's `shaper` option applies to `user@host`: for a `shaper_rules` entry, the
 * shaper of its first rule whose acl matches; for a name that is a `shaper` itself, that shaper.
 * `undefined` means unlimited: the name `none`, a rule choosing `none`, no matching rule, or an
 * unknown name.
 */
export function shaperFor(
  config: ServerConfig,
  rule: string,
  user: string,
  host: string,
): ShaperConfig | undefined {
  if (rule === 'none') return undefined;
  const rules = own(config.shaper_rules, rule);
  if (rules !== undefined) {
    for (const [shaper, acl] of rules) {
      if (matchAcl(config, acl, user, host))
        return shaper === 'none' ? undefined : own(config.shaper, shaper);
    }
    return undefined;
  }
  return own(config.shaper, rule);
}
