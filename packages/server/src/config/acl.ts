import type { ServerConfig, ShaperConfig } from './types.js';

/** `record[key]` when it is the record's own entry (never `constructor` and the like from the prototype). */
function own<T>(record: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/**
 * ejabberd's acl:match_acl: does the named acl match `user@host`? `all` and `none` are built in; an
 * undefined acl matches nobody. `user` and `host` are the prepared localpart and domainpart
 * (`Jid.luser`, `Jid.lserver`), as the loader prepares the acl's entries; `user` is `''` for a server.
 * An acl `user` entry without `@` matches that user on any of the served hosts.
 */
export function matchAcl(config: ServerConfig, acl: string, user: string, host: string): boolean {
  if (acl === 'all') return true;
  if (acl === 'none') return false;
  const spec = own(config.acl, acl);
  if (spec === undefined) return false;
  if (spec.all === true) return true;
  if (spec.server?.includes(host)) return true;
  if (user === '' || spec.user === undefined) return false;
  return spec.user.some((entry) =>
    entry.includes('@') ? entry === `${user}@${host}` : entry === user && config.hosts.includes(host),
  );
}

/**
 * ejabberd's acl:match_rule for an access rule: the verdict of the first rule whose acl matches,
 * `deny` when none does. The rule names `all` (allow) and `none` (deny) are built in; an undefined
 * rule denies.
 */
export function accessAllows(config: ServerConfig, rule: string, user: string, host: string): boolean {
  if (rule === 'all') return true;
  if (rule === 'none') return false;
  const rules = own(config.access_rules, rule);
  if (rules === undefined) return false;
  for (const [verdict, acl] of rules) {
    if (matchAcl(config, acl, user, host)) return verdict === 'allow';
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
