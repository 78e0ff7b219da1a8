import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { nameprep, nodeprep } from '@tsjabberd/jid';
import type { LogLevel } from '@tsjabberd/router';
import { type Document, isAlias, isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import { aclRegExp, globToRegExp, parseCidr } from './acl.js';
import {
  consoleCommandsPermission,
  DEFAULT_MAX_FSM_QUEUE,
  DEFAULT_NEGOTIATION_TIMEOUT,
  defaultConfig,
  httpListenerDefaults,
  listenerDefaults,
  predefinedAcls,
  serviceListenerDefaults,
} from './defaults.js';
import type {
  AccessRule,
  AclConfig,
  AclPattern,
  AnyListenerConfig,
  ApiAccessRule,
  ApiFrontend,
  ApiPermission,
  ApiToken,
  ApiWho,
  HttpHandlerModule,
  HttpListenerConfig,
  ListenerConfig,
  ServerConfig,
  ServiceListenerConfig,
  ShaperConfig,
  ShaperRule,
} from './types.js';

/**
 * A config file that cannot be used: `key` is the dotted path of the offending option
 * (`listen[0].port`, `shaper_rules.c2s_shaper[1]`; `''` for the whole file), `line` and `column` are
 * 1-based (0 when there is no position, as for a file that cannot be read), and the message reads
 * `tsjabberd.yml:7:11: listen[0].port: expected a port number (1-65535), got "abc"`.
 */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    readonly source: string,
    readonly key: string,
    readonly line: number,
    readonly column: number,
    /** The message without the `file:line:column: key:` prefix. */
    readonly reason: string,
  ) {
    super(`${line > 0 ? `${source}:${line}:${column}` : source}: ${key === '' ? '' : `${key}: `}${reason}`);
  }
}

/** The top-level options, in the order the example file shows them. */
const TOP_LEVEL = [
  'hosts',
  'loglevel',
  'certfiles',
  'data_dir',
  'listen',
  'max_stanza_size',
  'max_fsm_queue',
  'negotiation_timeout',
  'auth_method',
  'auth_password_format',
  'extauth_program',
  'extauth_pool_size',
  'extauth_timeout',
  'shaper',
  'acl',
  'access_rules',
  'shaper_rules',
  'api_permissions',
  'api_tokens',
  'modules',
] as const;

const LISTENER_KEYS = [
  'port',
  'ip',
  'module',
  'tls',
  'starttls',
  'starttls_required',
  'max_stanza_size',
  'shaper',
  'access',
  'max_fsm_queue',
  'allow_unencrypted_plain',
  'negotiation_timeout',
] as const;

/** The options of an `ejabberd_service` listener (XEP-0114 components). */
const SERVICE_LISTENER_KEYS = [
  'port',
  'ip',
  'module',
  'tls',
  'hosts',
  'password',
  'check_from',
  'max_stanza_size',
  'shaper',
  'access',
  'max_fsm_queue',
  'negotiation_timeout',
] as const;

/** The options of an `ejabberd_http` listener. */
const HTTP_LISTENER_KEYS = ['port', 'ip', 'module', 'tls', 'request_handlers', 'max_body_size'] as const;

/**
 * The options of ejabberd's old standalone `ejabberd_xmlrpc` listener, loaded as an `ejabberd_http`
 * listener whose handler for `/` is ejabberd_xmlrpc.
 */
const XMLRPC_LISTENER_KEYS = ['port', 'ip', 'module', 'tls', 'max_body_size'] as const;

/** The request handlers an `ejabberd_http` listener may serve. */
const HTTP_HANDLERS: readonly HttpHandlerModule[] = ['mod_http_api', 'ejabberd_xmlrpc'];

/** The listener modules tsjabberd has. */
const LISTENER_MODULES = ['ejabberd_c2s', 'ejabberd_service', 'ejabberd_http', 'ejabberd_xmlrpc'];

/** The front ends an `api_permissions` entry's `from` may name. */
const API_FRONTENDS: readonly ApiFrontend[] = ['ejabberd_ctl', 'mod_http_api', 'ejabberd_xmlrpc'];

/** The options of one `api_permissions` entry. */
const API_PERMISSION_KEYS = ['from', 'who', 'what'] as const;

/** The condition types of an `api_permissions` `who` (oauth is ejabberd's, refused with a reason). */
const API_WHO_KEYS = ['user', 'ip', 'acl', 'access'] as const;

/** The options of one `api_tokens` entry. */
const API_TOKEN_KEYS = ['token', 'user'] as const;

/** The shortest `api_tokens` token accepted. */
const MIN_TOKEN_LENGTH = 20;

/** ejabberd's log levels (names and the old 0-5 numbers) mapped onto tsjabberd's four. */
const LOG_LEVELS: Record<string, LogLevel> = {
  debug: 'debug',
  info: 'info',
  notice: 'info',
  warning: 'warning',
  error: 'error',
  critical: 'error',
  alert: 'error',
  emergency: 'error',
  none: 'error',
  '0': 'error',
  '1': 'error',
  '2': 'error',
  '3': 'warning',
  '4': 'info',
  '5': 'debug',
};

/** ACL match types tsjabberd does not support yet (ejabberd has them). */
const UNSUPPORTED_ACL = ['resource', 'resource_regexp', 'resource_glob', 'shared_group'];

/** The nearest of `known` to `word` when it is a likely typo, for "did you mean" hints. */
function nearest(word: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(1, Math.floor(word.length / 3)) + 1;
  for (const candidate of known) {
    const d = editDistance(word, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best ?? (word.length >= 3 ? known.find((candidate) => candidate.startsWith(word)) : undefined);
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length];
}

function unknownOption(name: string, known: readonly string[]): string {
  const hint = nearest(name, known);
  return hint === undefined
    ? `unknown option "${name}"; known options: ${known.join(', ')}`
    : `unknown option "${name}" (did you mean "${hint}"?)`;
}

/** One entry of a mapping: its name, the node of the key (for positions) and the value node. */
interface Entry {
  name: string;
  keyNode: Node;
  value: Node | undefined;
}

/** A walk over the parsed document that turns nodes into values or throws ConfigError at their position. */
class Reader {
  constructor(
    readonly doc: Document,
    private readonly lines: LineCounter,
    private readonly source: string,
  ) {}

  fail(node: Node | undefined, key: string, reason: string): never {
    const offset = node?.range?.[0];
    const pos = offset === undefined ? { line: 0, col: 0 } : this.lines.linePos(offset);
    throw new ConfigError(this.source, key, pos.line, pos.col, reason);
  }

  /** The node an alias (`*name`) stands for; other nodes unchanged. */
  resolve(node: unknown): Node | undefined {
    if (node === null || node === undefined) return undefined;
    if (isAlias(node)) return this.resolve(node.resolve(this.doc));
    return node as Node;
  }

  /** `null` for an empty value (`key:` with nothing after it). */
  isNull(node: Node | undefined): boolean {
    return node === undefined || (isScalar(node) && node.value === null);
  }

  describe(node: Node | undefined): string {
    if (node === undefined) return 'nothing';
    if (isMap(node)) return 'a mapping';
    if (isSeq(node)) return 'a list';
    if (isScalar(node)) {
      const v = node.value;
      if (v === null) return 'nothing';
      return typeof v === 'string' ? JSON.stringify(v) : String(v);
    }
    return 'an unexpected value';
  }

  entries(node: Node | undefined, key: string, what = 'a mapping of options'): Entry[] {
    if (!isMap(node)) this.fail(node, key, `expected ${what}, got ${this.describe(node)}`);
    const out: Entry[] = [];
    for (const pair of node.items) {
      const keyNode = this.resolve(pair.key);
      if (!isScalar(keyNode) || keyNode.value === null || typeof keyNode.value === 'object') {
        this.fail(keyNode ?? node, key, `expected a name as the key, got ${this.describe(keyNode)}`);
      }
      if (keyNode.value === '__proto__') this.fail(keyNode, key, '"__proto__" cannot be used as a name');
      if (keyNode.value === '<<')
        this.fail(keyNode, key, 'YAML merge keys (<<) are not supported; repeat the options');
      out.push({ name: String(keyNode.value), keyNode, value: this.resolve(pair.value) });
    }
    return out;
  }

  items(node: Node | undefined, key: string, what: string): Node[] {
    if (!isSeq(node)) this.fail(node, key, `expected ${what}, got ${this.describe(node)}`);
    return node.items.map((item) => this.resolve(item) ?? node);
  }

  string(node: Node | undefined, key: string, what = 'a string'): string {
    if (!isScalar(node) || typeof node.value !== 'string' || node.value === '') {
      this.fail(node, key, `expected ${what}, got ${this.describe(node)}`);
    }
    return node.value;
  }

  boolean(node: Node | undefined, key: string): boolean {
    if (!isScalar(node) || typeof node.value !== 'boolean') {
      this.fail(node, key, `expected true or false, got ${this.describe(node)}`);
    }
    return node.value;
  }

  /** A number in [min, max]; integers only unless `fractional`; `infinity` when `infinity` is allowed. */
  number(
    node: Node | undefined,
    key: string,
    what: string,
    opts: { min?: number; max?: number; fractional?: boolean; infinity?: boolean } = {},
  ): number {
    const { min = 1, max = Number.MAX_SAFE_INTEGER, fractional = false, infinity = false } = opts;
    if (infinity && isScalar(node) && node.value === 'infinity') return Number.POSITIVE_INFINITY;
    const v = isScalar(node) ? node.value : undefined;
    if (
      typeof v !== 'number' ||
      !Number.isFinite(v) ||
      v < min ||
      v > max ||
      (!fractional && !Number.isInteger(v))
    ) {
      this.fail(node, key, `expected ${what}, got ${this.describe(node)}`);
    }
    return v;
  }

  stringList(node: Node | undefined, key: string, what: string): { value: string; node: Node }[] {
    if (isScalar(node) && typeof node.value === 'string')
      return [{ value: this.string(node, key, what), node }];
    return this.items(node, key, `${what}, or a list of them`).map((item, i) => ({
      value: this.string(item, `${key}[${i}]`, what),
      node: item,
    }));
  }
}

/** One `[head, acl]` rule of `access_rules` or `shaper_rules`, with nodes for error positions. */
interface RawRule {
  head: string;
  headNode: Node;
  acl: string;
  aclNode: Node;
  key: string;
}

/**
 * The rules of one `access_rules` / `shaper_rules` entry, in ejabberd's three spellings:
 * `name: normal` (one rule for everybody), a mapping `{none: admin, normal: all}`, or a list of
 * `- none: admin` / `- normal` (a bare head applies to `all`). An acl may also be a list of acl names.
 */
function readRules(r: Reader, node: Node | undefined, key: string): RawRule[] {
  const head = (n: Node | undefined, k: string): string => {
    if (!isScalar(n) || (typeof n.value !== 'string' && typeof n.value !== 'number') || n.value === '') {
      r.fail(n, k, `expected a rule such as "allow: acl_name", got ${r.describe(n)}`);
    }
    return String(n.value);
  };
  const fromPair = (e: Entry, k: string): RawRule[] => {
    if (isMap(e.value)) {
      r.fail(
        e.value,
        `${k}.${e.name}`,
        'inline acl definitions are not supported; define the acl under acl: and name it here',
      );
    }
    return r.stringList(e.value, `${k}.${e.name}`, 'an acl name').map((acl) => ({
      head: head(e.keyNode, k),
      headNode: e.keyNode,
      acl: acl.value,
      aclNode: acl.node,
      key: k,
    }));
  };
  if (isScalar(node)) return [{ head: head(node, key), headNode: node, acl: 'all', aclNode: node, key }];
  if (isMap(node)) return r.entries(node, key).flatMap((e) => fromPair(e, key));
  if (isSeq(node)) {
    return r.items(node, key, 'rules').flatMap((item, i) => {
      const k = `${key}[${i}]`;
      if (isScalar(item)) return [{ head: head(item, k), headNode: item, acl: 'all', aclNode: item, key: k }];
      const entries = r.entries(item, k, 'a rule such as "allow: acl_name"');
      if (entries.length !== 1)
        r.fail(item, k, 'expected one rule per list item, such as "- allow: acl_name"');
      return fromPair(entries[0], k);
    });
  }
  return r.fail(node, key, `expected rules such as "allow: acl_name", got ${r.describe(node)}`);
}

/** `hosts`: prepared with nameprep, so they compare equal to prepared JID domainparts. */
function readHosts(r: Reader, node: Node | undefined): string[] {
  const items = r.items(node, 'hosts', 'a list of domain names, such as [example.org]');
  if (items.length === 0) r.fail(node, 'hosts', 'expected at least one host');
  const hosts: string[] = [];
  items.forEach((item, i) => {
    const key = `hosts[${i}]`;
    const raw = r.string(item, key, 'a domain name');
    const host = nameprep(raw);
    if (host === 'error') r.fail(item, key, `${JSON.stringify(raw)} is not a valid domain name`);
    if (hosts.includes(host)) r.fail(item, key, `host ${JSON.stringify(host)} is listed twice`);
    hosts.push(host);
  });
  return hosts;
}

function readShapers(r: Reader, node: Node | undefined): Record<string, ShaperConfig> {
  const out: Record<string, ShaperConfig> = {};
  if (r.isNull(node)) return out;
  for (const e of r.entries(node, 'shaper', 'a mapping of shaper names to rates')) {
    const key = `shaper.${e.name}`;
    if (e.name === 'none') r.fail(e.keyNode, key, '"none" is built in (no limit) and cannot be defined');
    const rateWhat = 'a rate in bytes per second (a positive integer)';
    if (isMap(e.value)) {
      const fields = new Map(r.entries(e.value, key).map((f) => [f.name, f]));
      for (const f of fields.values()) {
        if (f.name !== 'rate' && f.name !== 'burst_size') {
          r.fail(f.keyNode, `${key}.${f.name}`, unknownOption(f.name, ['rate', 'burst_size']));
        }
      }
      const rate = fields.get('rate');
      if (rate === undefined) r.fail(e.value, key, 'missing rate (bytes per second)');
      const rateValue = r.number(rate.value, `${key}.rate`, rateWhat);
      const burst = fields.get('burst_size');
      const burstValue =
        burst === undefined
          ? rateValue
          : r.number(burst.value, `${key}.burst_size`, 'a size in bytes (a positive integer)');
      out[e.name] = { rate: rateValue, burst_size: burstValue };
    } else {
      const rate = r.number(e.value, key, `${rateWhat} or {rate, burst_size}`);
      out[e.name] = { rate, burst_size: rate };
    }
  }
  return out;
}

/** One network of an acl or `who` `ip` (`127.0.0.0/8`, `::1/128`, or a bare address), as `address/prefix`. */
function readCidr(r: Reader, value: string, node: Node, key: string): string {
  const net = parseCidr(value);
  if (net === undefined) {
    r.fail(
      node,
      key,
      `${JSON.stringify(value)} is not an IP network (such as 127.0.0.0/8, ::1/128 or a bare address)`,
    );
  }
  return `${net.address}/${net.prefix}`;
}

/** The acl types matched by a pattern on the user's or the server's name (ejabberd's acl.erl). */
const PATTERN_ACL = ['user_regexp', 'user_glob', 'server_regexp', 'server_glob', 'node_regexp', 'node_glob'];

/**
 * A `*_regexp` or `*_glob` acl entry, in ejabberd's forms:
 *   user_regexp: "^test"                 (a user of any served host; a list of them too)
 *   user_regexp: {"^test": example.org}  (a user of that host)
 *   server_regexp: "\\.example\\.org$"
 *   node_regexp: {"^test": "^example"}    (user pattern: server pattern)
 * Globs (`*`, `?`, `[...]`) become anchored regular expressions; every pattern is compiled now, so a
 * bad one is a load error with its position.
 */
function readAclPatterns(r: Reader, type: string, node: Node | undefined, key: string): AclPattern[] {
  const glob = type.endsWith('_glob');
  const kind = type.slice(0, type.indexOf('_'));
  // A pattern may be empty: `user_regexp: ""` is ejabberd's `local` acl (every user of a served host).
  const text = (n: Node | undefined, what: string): string => {
    if (!isScalar(n) || typeof n.value !== 'string') r.fail(n, key, `expected ${what}, got ${r.describe(n)}`);
    return n.value;
  };
  const pattern = (value: string, n: Node | undefined): string => {
    const source = glob ? globToRegExp(value) : value;
    try {
      aclRegExp(source);
    } catch (e) {
      r.fail(
        n,
        key,
        `${JSON.stringify(value)} is not a valid ${glob ? 'glob' : 'regular expression'}: ${(e as Error).message}`,
      );
    }
    return source;
  };
  const pairs = (n: Node): AclPattern[] =>
    r
      .entries(n, key, `a mapping of ${kind === 'node' ? 'user pattern: server pattern' : 'pattern: server'}`)
      .map((e) => {
        const second = text(e.value, kind === 'node' ? 'a server pattern' : 'a domain name');
        if (kind === 'node') return { user: pattern(e.name, e.keyNode), server: pattern(second, e.value) };
        const host = nameprep(second);
        if (host === 'error') r.fail(e.value, key, `${JSON.stringify(second)} is not a valid domain name`);
        return { user: pattern(e.name, e.keyNode), host };
      });
  const items = (isSeq(node) ? node.items : [node]) as (Node | undefined)[];
  return items.flatMap((item): AclPattern[] => {
    if (isMap(item)) {
      if (kind === 'server') r.fail(item, key, `expected a pattern, got ${r.describe(item)}`);
      return pairs(item);
    }
    if (kind === 'node') r.fail(item, key, 'expected a mapping of user pattern: server pattern');
    const value = text(item, 'a pattern');
    return [kind === 'user' ? { user: pattern(value, item) } : { server: pattern(value, item) }];
  });
}

/** A user entry (`name` on every host, or `name@host`), prepared as the acl matcher compares it. */
function readAclUser(r: Reader, value: string, node: Node, key: string): string {
  const at = value.lastIndexOf('@');
  const user = nodeprep(at < 0 ? value : value.slice(0, at));
  if (user === 'error' || user === '') r.fail(node, key, `${JSON.stringify(value)} is not a valid user`);
  if (at < 0) return user;
  const host = nameprep(value.slice(at + 1));
  if (host === 'error' || host === '')
    r.fail(node, key, `${JSON.stringify(value)} does not end in a valid domain name`);
  return `${user}@${host}`;
}

/**
 * `acl`: the predefined acls (`loopback`) stay unless the file defines the same name.
 */
function readAcls(r: Reader, node: Node | undefined): Record<string, AclConfig> {
  const out: Record<string, AclConfig> = predefinedAcls();
  if (r.isNull(node)) return out;
  for (const e of r.entries(node, 'acl', 'a mapping of acl names to what they match')) {
    const key = `acl.${e.name}`;
    if (e.name === 'all' || e.name === 'none') {
      r.fail(
        e.keyNode,
        key,
        `"${e.name}" is built in (it matches ${e.name === 'all' ? 'everybody' : 'nobody'})`,
      );
    }
    if (isScalar(e.value) && (e.value.value === 'all' || e.value.value === 'none')) {
      out[e.name] = e.value.value === 'all' ? { all: true } : {};
      continue;
    }
    const acl: AclConfig = {};
    for (const f of r.entries(e.value, key, 'all, none, or a mapping with user, server and/or ip')) {
      const fkey = `${key}.${f.name}`;
      if (f.name === 'user') {
        acl.user = r
          .stringList(f.value, fkey, 'a user ("name" on every host, or "name@host")')
          .map(({ value, node: n }) => readAclUser(r, value, n, fkey));
      } else if (f.name === 'server') {
        acl.server = r.stringList(f.value, fkey, 'a domain name').map(({ value, node: n }) => {
          const host = nameprep(value);
          if (host === 'error') r.fail(n, fkey, `${JSON.stringify(value)} is not a valid domain name`);
          return host;
        });
      } else if (f.name === 'ip') {
        acl.ip = r
          .stringList(f.value, fkey, 'an IP network (such as 127.0.0.0/8)')
          .map(({ value, node: n }) => readCidr(r, value, n, fkey));
      } else if (PATTERN_ACL.includes(f.name)) {
        acl.patterns = [...(acl.patterns ?? []), ...readAclPatterns(r, f.name, f.value, fkey)];
      } else if (UNSUPPORTED_ACL.includes(f.name)) {
        r.fail(
          f.keyNode,
          fkey,
          `acl type "${f.name}" is not supported yet (user, server, ip and the _regexp/_glob of user, server, node are)`,
        );
      } else {
        r.fail(f.keyNode, fkey, unknownOption(f.name, ['user', 'server', 'ip', ...PATTERN_ACL]));
      }
    }
    out[e.name] = acl;
  }
  return out;
}

function checkAcl(r: Reader, acls: Record<string, AclConfig>, rule: RawRule): void {
  if (rule.acl === 'all' || rule.acl === 'none' || Object.hasOwn(acls, rule.acl)) return;
  r.fail(
    rule.aclNode,
    rule.key,
    `acl "${rule.acl}" is not defined (define it under acl:, or use all or none)`,
  );
}

function readAccessRules(
  r: Reader,
  node: Node | undefined,
  acls: Record<string, AclConfig>,
): Record<string, AccessRule[]> {
  const out: Record<string, AccessRule[]> = {};
  if (r.isNull(node)) return out;
  for (const e of r.entries(node, 'access_rules', 'a mapping of rule names to rules')) {
    const key = `access_rules.${e.name}`;
    if (e.name === 'all' || e.name === 'none')
      r.fail(e.keyNode, key, `"${e.name}" is built in and cannot be defined`);
    out[e.name] = readRules(r, e.value, key).map((rule) => {
      if (rule.head !== 'allow' && rule.head !== 'deny') {
        r.fail(rule.headNode, rule.key, `expected allow or deny, got ${JSON.stringify(rule.head)}`);
      }
      checkAcl(r, acls, rule);
      return [rule.head, rule.acl];
    });
  }
  return out;
}

/**
 * `shaper_rules`: each rule's head is a shaper name (or `none`, no limit). ejabberd also keeps numeric
 * limits here (`max_user_sessions: 10`, or `infinity`); those are accepted and kept as their decimal
 * string, but such an entry cannot be a listener's `shaper`.
 */
function readShaperRules(
  r: Reader,
  node: Node | undefined,
  shapers: Record<string, ShaperConfig>,
  acls: Record<string, AclConfig>,
): Record<string, ShaperRule[]> {
  const out: Record<string, ShaperRule[]> = {};
  if (r.isNull(node)) return out;
  for (const e of r.entries(node, 'shaper_rules', 'a mapping of rule names to rules')) {
    const key = `shaper_rules.${e.name}`;
    if (e.name === 'none') r.fail(e.keyNode, key, '"none" is built in (no limit) and cannot be defined');
    out[e.name] = readRules(r, e.value, key).map((rule) => {
      const isNumber = isScalar(rule.headNode) && typeof rule.headNode.value === 'number';
      const numeric = isNumber || rule.head === 'infinity';
      if (isNumber && (!Number.isInteger(Number(rule.head)) || Number(rule.head) < 0)) {
        r.fail(rule.headNode, rule.key, `expected a shaper name or a non-negative integer, got ${rule.head}`);
      }
      if (!numeric && rule.head !== 'none' && !Object.hasOwn(shapers, rule.head)) {
        r.fail(
          rule.headNode,
          rule.key,
          `shaper "${rule.head}" is not defined (define it under shaper:, or use none)`,
        );
      }
      checkAcl(r, acls, rule);
      return [rule.head, rule.acl];
    });
  }
  return out;
}

/** `acl`/`access` names an `api_permissions` entry refers to must be defined (or built in). */
function checkDefined(
  r: Reader,
  names: Record<string, unknown>,
  name: string,
  node: Node,
  key: string,
  section: 'acl' | 'access_rules',
): void {
  if (name === 'all' || name === 'none' || Object.hasOwn(names, name)) return;
  const what = section === 'acl' ? 'acl' : 'access rule';
  r.fail(node, key, `${what} "${name}" is not defined (define it under ${section}:, or use all or none)`);
}

const WHO_WHAT = 'all, none, an acl name, or conditions (user, ip, acl, access)';

/**
 * An `api_permissions` `who`, or the conditions of an inline access rule: `all`, `none`, an acl name,
 * a mapping of conditions (`user: JID`, `ip: CIDR`, `acl: name`, each also a list, and `access: rule`
 * or inline access rules), or a list of any of these. The result matches when any condition does.
 */
function readWho(r: Reader, node: Node | undefined, key: string, config: ServerConfig): ApiWho[] {
  if (isScalar(node)) {
    const name = r.string(node, key, WHO_WHAT);
    if (name === 'all') return [{ kind: 'all' }];
    if (name === 'none') return [{ kind: 'none' }];
    checkDefined(r, config.acl, name, node, key, 'acl');
    return [{ kind: 'acl', acl: name }];
  }
  if (isSeq(node)) {
    return r.items(node, key, WHO_WHAT).flatMap((item, i) => readWho(r, item, `${key}[${i}]`, config));
  }
  const out: ApiWho[] = [];
  for (const f of r.entries(node, key, WHO_WHAT)) {
    const fkey = `${key}.${f.name}`;
    if (f.name === 'user') {
      for (const u of r.stringList(f.value, fkey, 'an account ("user@host", or "user" on every host)'))
        out.push({ kind: 'user', user: readAclUser(r, u.value, u.node, fkey) });
    } else if (f.name === 'ip') {
      for (const n of r.stringList(f.value, fkey, 'an IP network (such as 127.0.0.0/8)'))
        out.push({ kind: 'ip', ip: readCidr(r, n.value, n.node, fkey) });
    } else if (f.name === 'acl') {
      for (const a of r.stringList(f.value, fkey, 'an acl name')) {
        checkDefined(r, config.acl, a.value, a.node, fkey, 'acl');
        out.push({ kind: 'acl', acl: a.value });
      }
    } else if (f.name === 'access') {
      if (isScalar(f.value)) {
        const rule = r.string(f.value, fkey, 'an access_rules name, or rules such as "allow: admin"');
        checkDefined(r, config.access_rules, rule, f.value, fkey, 'access_rules');
        out.push({ kind: 'access', rule });
      } else {
        out.push({ kind: 'access', rules: readInlineAccess(r, f.value, fkey, config) });
      }
    } else if (f.name === 'oauth') {
      r.fail(
        f.keyNode,
        fkey,
        'oauth is not supported (tsjabberd has no OAuth tokens); use api_tokens, or user, acl or access with HTTP Basic auth',
      );
    } else {
      r.fail(f.keyNode, fkey, unknownOption(f.name, API_WHO_KEYS));
    }
  }
  return out;
}

/**
 * An inline `access:` of a `who`: ordered rules `allow: <who>` / `deny: <who>`, as a mapping or a list
 * of one-rule mappings (a bare `- allow` applies to all); the first whose conditions match decides.
 */
function readInlineAccess(
  r: Reader,
  node: Node | undefined,
  key: string,
  config: ServerConfig,
): ApiAccessRule[] {
  const rule = (headNode: Node, value: Node | undefined, k: string): ApiAccessRule => {
    const verdict = r.string(headNode, k, 'allow or deny');
    if (verdict !== 'allow' && verdict !== 'deny')
      r.fail(headNode, k, `expected allow or deny, got ${JSON.stringify(verdict)}`);
    const who: ApiWho[] = r.isNull(value) ? [{ kind: 'all' }] : readWho(r, value, `${k}.${verdict}`, config);
    return { verdict, who };
  };
  if (isMap(node)) return r.entries(node, key).map((e) => rule(e.keyNode, e.value, key));
  return r.items(node, key, 'access rules such as "allow: admin"').map((item, i) => {
    const k = `${key}[${i}]`;
    if (isScalar(item)) return rule(item, undefined, k);
    const entries = r.entries(item, k, 'a rule such as "allow: admin"');
    if (entries.length !== 1) r.fail(item, k, 'expected one rule per list item, such as "- allow: admin"');
    return rule(entries[0].keyNode, entries[0].value, k);
  });
}

/** An `api_permissions` `what`: `"*"`, command names and `"!name"` exclusions. */
function readWhat(r: Reader, node: Node | undefined, key: string): string[] {
  return r.stringList(node, key, 'a command name, "*" or "!name"').map(({ value, node: n }) => {
    if (value.startsWith('['))
      r.fail(n, key, `command tags (${value}) are not supported; list the command names, "*" or "!name"`);
    const name = value.startsWith('!') ? value.slice(1) : value;
    if (name !== '*' && !/^[A-Za-z0-9_]+$/.test(name))
      r.fail(n, key, `${JSON.stringify(value)} is not a command name, "*" or "!name"`);
    return value;
  });
}

/**
 * `api_permissions`, in ejabberd's layout (each entry a mapping of from, who and what, or ejabberd's
 * older list of one-option mappings). An entry named "console commands" is added when the file has
 * none, as ejabberd does: every command from ejabberdctl.
 */
function readApiPermissions(
  r: Reader,
  node: Node | undefined,
  config: ServerConfig,
): Record<string, ApiPermission> {
  const out: Record<string, ApiPermission> = {};
  if (!r.isNull(node)) {
    for (const e of r.entries(
      node,
      'api_permissions',
      'a mapping of permission names to {from, who, what}',
    )) {
      const key = `api_permissions.${e.name}`;
      const what = 'a mapping with from, who and what';
      const options = isSeq(e.value)
        ? r.items(e.value, key, what).flatMap((item, i) => r.entries(item, `${key}[${i}]`, what))
        : r.entries(e.value, key, what);
      const fields = new Map<string, Entry>();
      for (const f of options) {
        if (!(API_PERMISSION_KEYS as readonly string[]).includes(f.name))
          r.fail(f.keyNode, `${key}.${f.name}`, unknownOption(f.name, API_PERMISSION_KEYS));
        if (fields.has(f.name)) r.fail(f.keyNode, `${key}.${f.name}`, 'given twice');
        fields.set(f.name, f);
      }
      const who = fields.get('who');
      if (who === undefined) r.fail(e.keyNode, key, 'missing who (such as who: all, or who: {acl: admin})');
      const commands = fields.get('what');
      if (commands === undefined) r.fail(e.keyNode, key, 'missing what (such as what: "*")');
      const permission: ApiPermission = {
        who: readWho(r, who.value, `${key}.who`, config),
        what: readWhat(r, commands.value, `${key}.what`),
      };
      const from = fields.get('from');
      if (from !== undefined) {
        permission.from = r
          .stringList(from.value, `${key}.from`, 'a front end (ejabberd_ctl, mod_http_api, ejabberd_xmlrpc)')
          .map(({ value, node: n }) => {
            if (!(API_FRONTENDS as readonly string[]).includes(value))
              r.fail(
                n,
                `${key}.from`,
                `unknown front end ${JSON.stringify(value)}; expected ${API_FRONTENDS.join(', ')}`,
              );
            return value as ApiFrontend;
          });
      }
      out[e.name] = permission;
    }
  }
  if (Object.hasOwn(out, 'console commands')) return out;
  return { 'console commands': consoleCommandsPermission(), ...out };
}

/** `api_tokens`: `- {token: secret, user: account}`; tokens of at least 20 characters, accounts served here. */
function readApiTokens(r: Reader, node: Node | undefined, hosts: readonly string[]): ApiToken[] {
  if (r.isNull(node)) return [];
  const out: ApiToken[] = [];
  r.items(node, 'api_tokens', 'a list of {token, user}').forEach((item, i) => {
    const key = `api_tokens[${i}]`;
    const fields = new Map<string, Entry>();
    for (const f of r.entries(item, key, 'a mapping with token and user')) {
      if (!(API_TOKEN_KEYS as readonly string[]).includes(f.name))
        r.fail(f.keyNode, `${key}.${f.name}`, unknownOption(f.name, API_TOKEN_KEYS));
      fields.set(f.name, f);
    }
    const tokenEntry = fields.get('token');
    if (tokenEntry === undefined) r.fail(item, key, 'missing token (a secret of at least 20 characters)');
    const userEntry = fields.get('user');
    if (userEntry === undefined) r.fail(item, key, 'missing user (the account the calls act as, user@host)');
    const token = r.string(tokenEntry.value, `${key}.token`, 'a secret of at least 20 characters');
    if (token.length < MIN_TOKEN_LENGTH)
      r.fail(
        tokenEntry.value,
        `${key}.token`,
        `too short (${token.length} characters); use at least ${MIN_TOKEN_LENGTH}, such as the output of "openssl rand -hex 32"`,
      );
    const other = out.findIndex((t) => t.token === token);
    if (other >= 0) r.fail(tokenEntry.value, `${key}.token`, `the same token as api_tokens[${other}]`);
    const jid = r.string(userEntry.value, `${key}.user`, 'an account (user@host)');
    const at = jid.lastIndexOf('@');
    const luser = at > 0 ? nodeprep(jid.slice(0, at)) : 'error';
    const lserver = at > 0 ? nameprep(jid.slice(at + 1)) : 'error';
    if (luser === 'error' || luser === '' || lserver === 'error' || lserver === '' || lserver.includes('/'))
      r.fail(userEntry.value, `${key}.user`, `${JSON.stringify(jid)} is not an account (user@host)`);
    if (!hosts.includes(lserver))
      r.fail(userEntry.value, `${key}.user`, `${lserver} is not served here (hosts: ${hosts.join(', ')})`);
    out.push({ token, user: { luser, lserver } });
  });
  return out;
}

function readModules(r: Reader, node: Node | undefined): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  if (r.isNull(node)) return out;
  for (const e of r.entries(node, 'modules', 'a mapping of module names to their options')) {
    const key = `modules.${e.name}`;
    if (!/^[a-z][a-z0-9_]*$/.test(e.name))
      r.fail(e.keyNode, key, `${JSON.stringify(e.name)} is not a module name`);
    if (r.isNull(e.value)) {
      out[e.name] = {};
      continue;
    }
    if (!isMap(e.value))
      r.fail(e.value, key, `expected a mapping of options ({} for none), got ${r.describe(e.value)}`);
    r.entries(e.value, key); // option names must be names; their values are the module's to validate
    out[e.name] = e.value.toJS(r.doc) as Record<string, unknown>;
  }
  return out;
}

/** Top-level values every listener inherits unless it sets its own. */
interface ListenerInherited {
  max_stanza_size: number;
  max_fsm_queue: number;
  negotiation_timeout: number;
}

const STANZA_SIZE_WHAT = 'a size in bytes (a positive integer) or infinity';
const FSM_QUEUE_WHAT = 'a number of stanzas (a positive integer)';
const TIMEOUT_WHAT = 'a number of seconds (positive)';

function readListener(
  r: Reader,
  node: Node,
  index: number,
  inherited: ListenerInherited,
  servedHosts: readonly string[] = [],
): AnyListenerConfig {
  const key = `listen[${index}]`;
  const entries = r.entries(node, key, 'a listener (a mapping with port, module, ...)');
  const moduleNode = entries.find((e) => e.name === 'module')?.value;
  const service = isScalar(moduleNode) && moduleNode.value === 'ejabberd_service';
  const http = isScalar(moduleNode) && moduleNode.value === 'ejabberd_http';
  const xmlrpc = isScalar(moduleNode) && moduleNode.value === 'ejabberd_xmlrpc';
  const known: readonly string[] = service
    ? SERVICE_LISTENER_KEYS
    : http
      ? HTTP_LISTENER_KEYS
      : xmlrpc
        ? XMLRPC_LISTENER_KEYS
        : LISTENER_KEYS;
  const fields = new Map<string, Entry>();
  for (const e of entries) {
    if (!known.includes(e.name)) {
      r.fail(e.keyNode, `${key}.${e.name}`, unknownOption(e.name, known));
    }
    fields.set(e.name, e);
  }
  const value = (name: string) => fields.get(name)?.value;
  const portEntry = fields.get('port');
  if (portEntry === undefined) r.fail(node, key, 'missing port');
  const port = r.number(portEntry.value, `${key}.port`, 'a port number (1-65535)', { max: 65535 });
  const moduleEntry = fields.get('module');
  if (moduleEntry === undefined) r.fail(node, key, 'missing module (ejabberd_c2s)');
  const module = r.string(moduleEntry.value, `${key}.module`, 'a listener module');
  if (!LISTENER_MODULES.includes(module)) {
    r.fail(
      moduleEntry.value,
      `${key}.module`,
      `only ${LISTENER_MODULES.slice(0, -1).join(', ')} and ${LISTENER_MODULES.at(-1)} are supported so far, got ${JSON.stringify(module)}`,
    );
  }
  if (service) return readServiceListener(r, node, key, port, fields, inherited, servedHosts);
  if (http || xmlrpc) return readHttpListener(r, node, key, port, fields, inherited, xmlrpc);
  const out: ListenerConfig = { port, ...listenerDefaults(inherited.max_stanza_size) };
  out.max_fsm_queue = inherited.max_fsm_queue;
  out.negotiation_timeout = inherited.negotiation_timeout;
  if (fields.has('ip')) {
    const ip = r.string(value('ip'), `${key}.ip`, 'an IP address');
    if (isIP(ip) === 0)
      r.fail(value('ip'), `${key}.ip`, `expected an IP address such as "::" or "0.0.0.0", got "${ip}"`);
    out.ip = ip;
  }
  for (const name of ['tls', 'starttls', 'starttls_required', 'allow_unencrypted_plain'] as const) {
    if (fields.has(name)) out[name] = r.boolean(value(name), `${key}.${name}`);
  }
  if (out.tls) {
    // Direct TLS (XEP-0368): the stream is encrypted from the first byte, STARTTLS has no place.
    for (const name of ['starttls', 'starttls_required'] as const) {
      if (fields.has(name) && out[name]) {
        r.fail(
          value(name),
          `${key}.${name}`,
          'cannot be combined with tls: true (the stream is encrypted from the start)',
        );
      }
    }
    out.starttls = false;
  } else if (out.starttls_required) {
    if (fields.has('starttls') && !out.starttls) {
      r.fail(value('starttls'), `${key}.starttls`, 'cannot be false when starttls_required is true');
    }
    out.starttls = true;
  }
  if (fields.has('max_stanza_size')) {
    out.max_stanza_size = r.number(value('max_stanza_size'), `${key}.max_stanza_size`, STANZA_SIZE_WHAT, {
      infinity: true,
    });
  }
  if (fields.has('max_fsm_queue')) {
    out.max_fsm_queue = r.number(value('max_fsm_queue'), `${key}.max_fsm_queue`, FSM_QUEUE_WHAT);
  }
  if (fields.has('negotiation_timeout')) {
    out.negotiation_timeout = r.number(
      value('negotiation_timeout'),
      `${key}.negotiation_timeout`,
      TIMEOUT_WHAT,
      {
        min: Number.MIN_VALUE,
        fractional: true,
      },
    );
  }
  if (fields.has('shaper'))
    out.shaper = r.string(value('shaper'), `${key}.shaper`, 'a shaper_rules or shaper name');
  if (fields.has('access')) out.access = r.string(value('access'), `${key}.access`, 'an access_rules name');
  return out;
}

/** The values every listener kind shares: ip, limits, shaper, access. */
function readCommonListener(
  r: Reader,
  key: string,
  fields: Map<string, Entry>,
  out: ListenerConfig | ServiceListenerConfig | HttpListenerConfig,
): void {
  const value = (name: string) => fields.get(name)?.value;
  if (fields.has('ip')) {
    const ip = r.string(value('ip'), `${key}.ip`, 'an IP address');
    if (isIP(ip) === 0)
      r.fail(value('ip'), `${key}.ip`, `expected an IP address such as "::" or "0.0.0.0", got "${ip}"`);
    out.ip = ip;
  }
  if (fields.has('tls')) out.tls = r.boolean(value('tls'), `${key}.tls`);
  if (fields.has('max_stanza_size')) {
    out.max_stanza_size = r.number(value('max_stanza_size'), `${key}.max_stanza_size`, STANZA_SIZE_WHAT, {
      infinity: true,
    });
  }
  if (fields.has('max_fsm_queue')) {
    out.max_fsm_queue = r.number(value('max_fsm_queue'), `${key}.max_fsm_queue`, FSM_QUEUE_WHAT);
  }
  if (fields.has('negotiation_timeout')) {
    out.negotiation_timeout = r.number(
      value('negotiation_timeout'),
      `${key}.negotiation_timeout`,
      TIMEOUT_WHAT,
      { min: Number.MIN_VALUE, fractional: true },
    );
  }
  if (fields.has('shaper'))
    out.shaper = r.string(value('shaper'), `${key}.shaper`, 'a shaper_rules or shaper name');
  if (fields.has('access')) out.access = r.string(value('access'), `${key}.access`, 'an access_rules name');
}

/**
 * An `ejabberd_service` listener (XEP-0114), in ejabberd's layout:
 *
 * ```yaml
 * - port: 8888
 *   module: ejabberd_service
 *   password: fallback-secret        # optional: for hosts without their own
 *   hosts:
 *     echo.example.org:
 *       password: secret
 * ```
 */
function readServiceListener(
  r: Reader,
  node: Node,
  key: string,
  port: number,
  fields: Map<string, Entry>,
  inherited: ListenerInherited,
  servedHosts: readonly string[],
): ServiceListenerConfig {
  const value = (name: string) => fields.get(name)?.value;
  const out: ServiceListenerConfig = { port, ...serviceListenerDefaults(inherited.max_stanza_size) };
  out.max_fsm_queue = inherited.max_fsm_queue;
  out.negotiation_timeout = inherited.negotiation_timeout;
  readCommonListener(r, key, fields, out);
  if (fields.has('check_from')) out.check_from = r.boolean(value('check_from'), `${key}.check_from`);
  if (fields.has('password')) out.password = r.string(value('password'), `${key}.password`, 'a secret');
  const hostsNode = value('hosts');
  if (fields.has('hosts') && !r.isNull(hostsNode)) {
    for (const e of r.entries(
      hostsNode,
      `${key}.hosts`,
      'a mapping of component domains to {password: ...}',
    )) {
      const hkey = `${key}.hosts.${e.name}`;
      const domain = nameprep(e.name);
      if (domain === 'error' || domain === '' || domain.includes('@') || domain.includes('/'))
        r.fail(e.keyNode, hkey, `${JSON.stringify(e.name)} is not a valid domain name`);
      if (servedHosts.includes(domain))
        r.fail(e.keyNode, hkey, `${domain} is served by this server (hosts); a component cannot take it`);
      if (Object.hasOwn(out.hosts, domain)) r.fail(e.keyNode, hkey, `${domain} is listed twice`);
      let password = out.password;
      if (!r.isNull(e.value)) {
        for (const f of r.entries(e.value, hkey, 'a mapping with password')) {
          if (f.name !== 'password')
            r.fail(f.keyNode, `${hkey}.${f.name}`, unknownOption(f.name, ['password']));
          password = r.string(f.value, `${hkey}.password`, 'a secret');
        }
      }
      if (password === undefined)
        r.fail(e.keyNode, hkey, 'missing password (give it here, or a password for the whole listener)');
      out.hosts[domain] = password;
    }
  }
  if (Object.keys(out.hosts).length === 0 && out.password === undefined)
    r.fail(node, key, 'missing password (hosts: {domain: {password: ...}}, or password)');
  return out;
}

/**
 * An `ejabberd_http` listener, in ejabberd's layout:
 *
 * ```yaml
 * - port: 5280
 *   module: ejabberd_http
 *   request_handlers:
 *     /api: mod_http_api
 *     /xmlrpc: ejabberd_xmlrpc
 * ```
 *
 * With `xmlrpc`, ejabberd's old standalone listener (`module: ejabberd_xmlrpc` with port, ip, tls,
 * max_body_size): served, as ejabberd does, as an HTTP listener whose handler for `/` is ejabberd_xmlrpc.
 */
function readHttpListener(
  r: Reader,
  node: Node,
  key: string,
  port: number,
  fields: Map<string, Entry>,
  inherited: ListenerInherited,
  xmlrpc = false,
): HttpListenerConfig {
  const value = (name: string) => fields.get(name)?.value;
  const out: HttpListenerConfig = { port, ...httpListenerDefaults(inherited.max_stanza_size) };
  readCommonListener(r, key, fields, out);
  if (fields.has('max_body_size'))
    out.max_body_size = r.number(value('max_body_size'), `${key}.max_body_size`, 'a size in bytes');
  if (xmlrpc) {
    out.request_handlers['/'] = 'ejabberd_xmlrpc';
    return out;
  }
  const handlers = value('request_handlers');
  if (fields.has('request_handlers') && !r.isNull(handlers)) {
    for (const e of r.entries(handlers, `${key}.request_handlers`, 'a mapping of paths to handlers')) {
      const hkey = `${key}.request_handlers.${e.name}`;
      if (!e.name.startsWith('/')) r.fail(e.keyNode, hkey, `${JSON.stringify(e.name)} is not a path (/...)`);
      const handler = r.string(e.value, hkey, 'a request handler module');
      if (!(HTTP_HANDLERS as readonly string[]).includes(handler))
        r.fail(
          e.value,
          hkey,
          `only ${HTTP_HANDLERS.join(' and ')} are supported, got ${JSON.stringify(handler)}`,
        );
      const path = e.name.length > 1 ? e.name.replace(/\/+$/, '') : e.name;
      out.request_handlers[path] = handler as HttpHandlerModule;
    }
  }
  if (Object.keys(out.request_handlers).length === 0)
    r.fail(node, key, 'missing request_handlers (such as /api: mod_http_api or /xmlrpc: ejabberd_xmlrpc)');
  return out;
}

/** Why a listener's `shaper` or `access` does not name something defined, if it does not. */
function listenerRefProblem(
  config: ServerConfig,
  l: AnyListenerConfig,
): { field: 'shaper' | 'access'; section: string; reason: string } | undefined {
  if (l.shaper !== 'none') {
    const rules = Object.hasOwn(config.shaper_rules, l.shaper) ? config.shaper_rules[l.shaper] : undefined;
    if (rules !== undefined) {
      const numeric = rules.find(([head]) => head !== 'none' && !Object.hasOwn(config.shaper, head));
      if (numeric !== undefined) {
        const reason = `shaper_rules.${l.shaper} holds numbers (${numeric[0]}), not shapers`;
        return { field: 'shaper', section: 'shaper_rules', reason };
      }
    } else if (!Object.hasOwn(config.shaper, l.shaper)) {
      const reason = `"${l.shaper}" is neither a shaper_rules entry nor a shaper (nor none)`;
      return { field: 'shaper', section: 'shaper_rules', reason };
    }
  }
  if (l.access !== 'all' && l.access !== 'none' && !Object.hasOwn(config.access_rules, l.access)) {
    const reason = `access rule "${l.access}" is not defined (define it under access_rules:, or use all)`;
    return { field: 'access', section: 'access_rules', reason };
  }
  return undefined;
}

/** Listeners on the same port clash when their addresses are equal or either is a wildcard. */
function clashes(a: AnyListenerConfig, b: AnyListenerConfig): boolean {
  const wildcard = (ip: string) => ip === '::' || ip === '0.0.0.0';
  return a.port === b.port && (a.ip === b.ip || wildcard(a.ip) || wildcard(b.ip));
}

/**
 * Parse and validate a config in ejabberd's YAML layout. Every top-level option the text leaves out
 * takes its embedded default (see `defaultConfig`); an empty text is the embedded defaults.
 * `source` names the file in error messages and becomes `config.source`.
 */
export function parseConfig(text: string, source?: string): ServerConfig {
  const name = source ?? '<config>';
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const pos = lines.linePos(e.pos[0]);
    const reason =
      e.code === 'DUPLICATE_KEY' ? 'an option is given twice (map keys must be unique)' : e.message;
    throw new ConfigError(name, '', pos.line, pos.col, `YAML syntax error: ${reason}`);
  }
  const r: Reader = new Reader(doc, lines, name);
  const config = defaultConfig();
  if (source !== undefined) config.source = source;
  const root = r.resolve(doc.contents);
  if (r.isNull(root)) return config;

  const top = new Map<string, Entry>();
  for (const e of r.entries(root, '', 'a mapping of options (hosts, listen, ...)')) {
    if (e.name === 'access') {
      r.fail(
        e.keyNode,
        'access',
        'the old ejabberd "access" syntax is not supported; use access_rules and shaper_rules',
      );
    }
    if (!(TOP_LEVEL as readonly string[]).includes(e.name))
      r.fail(e.keyNode, e.name, unknownOption(e.name, TOP_LEVEL));
    top.set(e.name, e);
  }
  const has = (key: string) => top.has(key);
  const value = (key: string) => top.get(key)?.value;

  if (has('hosts')) config.hosts = readHosts(r, value('hosts'));
  if (has('loglevel')) {
    const v = value('loglevel');
    const level = isScalar(v) && v.value !== null ? LOG_LEVELS[String(v.value)] : undefined;
    if (level === undefined) {
      r.fail(v, 'loglevel', `expected debug, info, warning or error, got ${r.describe(v)}`);
    }
    config.loglevel = level;
  }
  if (has('certfiles')) {
    config.certfiles = r.isNull(value('certfiles'))
      ? []
      : r
          .items(value('certfiles'), 'certfiles', 'a list of PEM file paths')
          .map((n, i) => r.string(n, `certfiles[${i}]`, 'a file path'));
  }
  if (has('data_dir')) config.data_dir = r.string(value('data_dir'), 'data_dir', 'a directory path');
  if (has('auth_method')) {
    const v = value('auth_method');
    const methods = r.stringList(v, 'auth_method', 'an authentication method');
    for (const m of methods) {
      if (m.value !== 'internal' && m.value !== 'external')
        r.fail(m.node, 'auth_method', `expected internal or external, got "${m.value}"`);
    }
    if (methods.length === 0) r.fail(v, 'auth_method', 'expected internal or external');
    if (methods.length > 1)
      r.fail(methods[1].node, 'auth_method', 'only one authentication method at a time is supported');
    config.auth_method = methods[0].value as 'internal' | 'external';
  }
  if (has('extauth_program')) {
    const program = r.string(value('extauth_program'), 'extauth_program', 'a command line');
    if (program.trim() === '') r.fail(value('extauth_program'), 'extauth_program', 'expected a command line');
    config.extauth_program = program;
  }
  if (has('extauth_pool_size')) {
    config.extauth_pool_size = r.number(
      value('extauth_pool_size'),
      'extauth_pool_size',
      'a positive integer',
      {
        min: 1,
      },
    );
  }
  if (has('extauth_timeout')) {
    config.extauth_timeout = r.number(
      value('extauth_timeout'),
      'extauth_timeout',
      'seconds (a positive number)',
      {
        min: Number.MIN_VALUE,
        fractional: true,
      },
    );
  }
  if (config.auth_method === 'external' && config.extauth_program === undefined) {
    r.fail(
      top.get('auth_method')?.keyNode,
      'auth_method',
      'external needs extauth_program (the command line to run)',
    );
  }
  if (has('auth_password_format')) {
    const v = value('auth_password_format');
    const format = r.string(v, 'auth_password_format', 'scram');
    if (format !== 'scram') {
      r.fail(
        v,
        'auth_password_format',
        `only scram is supported (passwords are never stored), got "${format}"`,
      );
    }
  }

  const inherited: ListenerInherited = {
    max_stanza_size: has('max_stanza_size')
      ? r.number(value('max_stanza_size'), 'max_stanza_size', STANZA_SIZE_WHAT, { infinity: true })
      : config.listen[0].max_stanza_size,
    max_fsm_queue: has('max_fsm_queue')
      ? r.number(value('max_fsm_queue'), 'max_fsm_queue', FSM_QUEUE_WHAT)
      : DEFAULT_MAX_FSM_QUEUE,
    negotiation_timeout: has('negotiation_timeout')
      ? r.number(value('negotiation_timeout'), 'negotiation_timeout', TIMEOUT_WHAT, {
          min: Number.MIN_VALUE,
          fractional: true,
        })
      : DEFAULT_NEGOTIATION_TIMEOUT,
  };

  if (has('shaper')) config.shaper = readShapers(r, value('shaper'));
  if (has('acl')) config.acl = readAcls(r, value('acl'));
  if (has('access_rules')) {
    config.access_rules = readAccessRules(r, value('access_rules'), config.acl);
  }
  if (has('shaper_rules')) {
    config.shaper_rules = readShaperRules(r, value('shaper_rules'), config.shaper, config.acl);
  } else {
    // The default c2s_shaper uses the default `normal` shaper: say so if a `shaper:` section dropped it.
    for (const [name, rules] of Object.entries(config.shaper_rules)) {
      for (const [head] of rules) {
        if (head !== 'none' && !Object.hasOwn(config.shaper, head)) {
          r.fail(
            top.get('shaper')?.keyNode,
            'shaper',
            `the default shaper_rules.${name} uses shaper "${head}", which is not defined here; define it or write shaper_rules`,
          );
        }
      }
    }
  }
  if (has('api_permissions'))
    config.api_permissions = readApiPermissions(r, value('api_permissions'), config);
  if (has('api_tokens')) config.api_tokens = readApiTokens(r, value('api_tokens'), config.hosts);
  if (has('modules')) config.modules = readModules(r, value('modules'));

  if (has('listen')) {
    const v = value('listen');
    const nodes = r.isNull(v) ? [] : r.items(v, 'listen', 'a list of listeners');
    config.listen = nodes.map((n, i) => {
      const l = readListener(r, n, i, inherited, config.hosts);
      const problem = listenerRefProblem(config, l);
      if (problem !== undefined) {
        const field = r.entries(n, `listen[${i}]`).find((e) => e.name === problem.field);
        r.fail(field?.value, `listen[${i}].${problem.field}`, problem.reason);
      }
      return l;
    });
    config.listen.forEach((l, i) => {
      const other = config.listen.findIndex((o) => clashes(o, l));
      if (other < i) {
        const port = r.entries(nodes[i], `listen[${i}]`).find((e) => e.name === 'port');
        r.fail(
          port?.value,
          `listen[${i}].port`,
          `${l.ip} port ${l.port} is already used by listen[${other}]`,
        );
      }
    });
  } else {
    // The default listener: inherits the top-level values, and its c2s_shaper / c2s must still exist.
    for (const l of config.listen) {
      Object.assign(l, inherited);
      const problem = listenerRefProblem(config, l);
      if (problem !== undefined) {
        const reason = `the default listener uses ${problem.field} ${l[problem.field]}: ${problem.reason}; define it or write listen`;
        r.fail(top.get(problem.section)?.keyNode, problem.section, reason);
      }
    }
  }
  return config;
}

/**
 * Load and validate the config file at `path`; without a path, the embedded defaults (`npm start`
 * with no config file). Throws ConfigError naming the file, key, line and column of the first problem.
 */
export async function loadConfig(path?: string): Promise<ServerConfig> {
  if (path === undefined) return defaultConfig();
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError(path, '', 0, 0, `cannot read the config file: ${(err as Error).message}`);
  }
  return parseConfig(text, path);
}
