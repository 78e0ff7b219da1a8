/**
 * ejabberd_access_permissions: who may call which administrative command through which front end.
 * Each `api_permissions` entry names its front ends (`from`), its callers (`who`) and its commands
 * (`what`); a call is allowed when at least one entry matches all three. Without `api_permissions`
 * the defaults of `defaultApiPermissions` apply: everything from ejabberdctl, and every command but
 * start and stop for authenticated accounts of the `admin` acl.
 *
 * `token_user` resolves the bearer tokens of `api_tokens` to the account a call acts as.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { accessAllows, ipInNetworks, matchAcl } from '../config/acl.js';
import type { ApiAccessRule, ApiFrontend, ApiPermission, ApiWho, ServerConfig } from '../config/types.js';

/** The front ends that call commands (ejabberd's `from` names). */
export type Frontend = ApiFrontend;

/**
 * Who calls: through which front end, from which address (none for ejabberdctl), and as which
 * account once authenticated (HTTP Basic auth or a token); no `user` for an anonymous call.
 */
export interface Caller {
  frontend: Frontend;
  ip?: string;
  user?: { luser: string; lserver: string };
}

/** Does one `who` condition match the caller? */
function whoMatches(config: ServerConfig, who: ApiWho, caller: Caller): boolean {
  const luser = caller.user?.luser ?? '';
  const lserver = caller.user?.lserver ?? '';
  switch (who.kind) {
    case 'all':
      return true;
    case 'none':
      return false;
    case 'user': {
      if (caller.user === undefined) return false;
      return who.user.includes('@')
        ? who.user === `${luser}@${lserver}`
        : who.user === luser && config.hosts.includes(lserver);
    }
    case 'ip':
      return caller.ip !== undefined && ipInNetworks([who.ip], caller.ip);
    case 'acl':
      return matchAcl(config, who.acl, luser, lserver, caller.ip);
    case 'access':
      return 'rule' in who
        ? accessAllows(config, who.rule, luser, lserver, caller.ip)
        : inlineAccessAllows(config, who.rules, caller);
  }
}

/** An inline access rule list: the verdict of the first rule with a matching condition; deny otherwise. */
function inlineAccessAllows(config: ServerConfig, rules: readonly ApiAccessRule[], caller: Caller): boolean {
  for (const rule of rules) {
    if (rule.who.some((who) => whoMatches(config, who, caller))) return rule.verdict === 'allow';
  }
  return false;
}

/** Does `what` (`*`, names, `!name` exclusions) take in `command`? Included and not excluded. */
export function what_matches(what: readonly string[], command: string): boolean {
  let included = false;
  for (const item of what) {
    if (item === `!${command}` || item === '!*') return false;
    if (item === '*' || item === command) included = true;
  }
  return included;
}

/** Does one permission entry allow the call? */
function permissionAllows(
  config: ServerConfig,
  permission: ApiPermission,
  command: string,
  caller: Caller,
): boolean {
  if (permission.from !== undefined && !permission.from.includes(caller.frontend)) return false;
  if (!what_matches(permission.what, command)) return false;
  return permission.who.some((who) => whoMatches(config, who, caller));
}

/** Which permission entry allows the call, or undefined when none does (the caller logs and refuses). */
export function allowing_permission(
  config: ServerConfig,
  command: string,
  caller: Caller,
): string | undefined {
  for (const [name, permission] of Object.entries(config.api_permissions)) {
    if (permissionAllows(config, permission, command, caller)) return name;
  }
  return undefined;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/**
 * The account an `api_tokens` token acts as, or undefined for an unknown token. Every configured
 * token is compared, each in constant time (sha256 of both, so the lengths match).
 */
export function token_user(
  config: ServerConfig,
  token: string,
): { luser: string; lserver: string } | undefined {
  const presented = digest(token);
  let found: { luser: string; lserver: string } | undefined;
  for (const entry of config.api_tokens) {
    if (timingSafeEqual(presented, digest(entry.token)) && found === undefined) found = { ...entry.user };
  }
  return found;
}
