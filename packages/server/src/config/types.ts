import type { LogLevel } from '@tsjabberd/router';

/**
 * The server's configuration, in ejabberd's layout and names (ejabberd.yml): what `loadConfig` returns
 * once the YAML is validated and every default is filled in.
 */
export interface ServerConfig {
  /** `hosts`: the virtual hosts served. */
  hosts: string[];
  /** `loglevel`. */
  loglevel: LogLevel;
  /** `certfiles`: PEM files holding certificates and keys (a generated self-signed one when empty). */
  certfiles: string[];
  /** `listen`: the listeners (client listeners and XEP-0114 component listeners). */
  listen: AnyListenerConfig[];
  /**
   * `auth_method`: `internal` (accounts in the server's storage) or `external` (ejabberd's extauth: an
   * `extauth_program` answers; SASL is then PLAIN only).
   */
  auth_method: 'internal' | 'external';
  /** `extauth_program`: the command line of the external auth program (required with `external`). */
  extauth_program?: string;
  /** `extauth_pool_size`: how many instances of the program run (default 1). */
  extauth_pool_size: number;
  /** tsjabberd's `extauth_timeout`: seconds one request may take before it is refused (default 10). */
  extauth_timeout: number;
  /** `auth_password_format`: only `scram` (salted keys, never the password). */
  auth_password_format: 'scram';
  /** `shaper`: name → maximum bytes per second (`{rate, burst_size}` in ejabberd: `rate` here). */
  shaper: Record<string, ShaperConfig>;
  /** `shaper_rules`: name → ordered rules `[shaper name, acl name]`; the first whose acl matches applies. */
  shaper_rules: Record<string, ShaperRule[]>;
  /** `acl`: name → the JIDs and IP networks it matches (`loopback` is predefined). */
  acl: Record<string, AclConfig>;
  /** `access_rules`: name → ordered rules `[allow | deny, acl name]`. */
  access_rules: Record<string, AccessRule[]>;
  /**
   * `api_permissions`: name → who may call which administrative commands through which front end
   * (ejabberd_access_permissions). A call is allowed when one entry matches it. In file order.
   */
  api_permissions: Record<string, ApiPermission>;
  /** tsjabberd's `api_tokens`: bearer tokens for the HTTP front ends, each acting as an account. */
  api_tokens: ApiToken[];
  /** `modules`: module name → its options (validated by the module itself when it starts). */
  modules: Record<string, Record<string, unknown>>;
  /** Where the database and the generated certificate live (tsjabberd's own key; default `./data`). */
  data_dir: string;
  /** The file the config came from (undefined: embedded defaults). */
  source?: string;
}

export interface ShaperConfig {
  /** Bytes per second. */
  rate: number;
  /** Bytes that may arrive at once before the rate applies (default: `rate`). */
  burst_size: number;
}

export type ShaperRule = [shaper: string, acl: string];
export type AccessRule = [verdict: 'allow' | 'deny', acl: string];

/**
 * `acl` entries: `all`, `none`, or lists of users (`user@host` or `user` on every host), servers and
 * IP networks.
 */
export interface AclConfig {
  all?: boolean;
  user?: string[];
  server?: string[];
  /** `ip`: networks as `address/prefix` (`127.0.0.0/8`, `::1/128`); a bare address is a /32 or /128. */
  ip?: string[];
  /**
   * `user_regexp`, `server_regexp`, `node_regexp` and their `_glob` forms, as regular expressions
   * (globs are turned into anchored ones when loaded). `server` absent in a user pattern means any
   * served host; `user` absent means a server pattern.
   */
  patterns?: AclPattern[];
}

/** One pattern of an acl: the user's name and/or the server's, each a regular expression source. */
export interface AclPattern {
  user?: string;
  /** The exact served host a `user_regexp: {Regexp: Server}` names. */
  host?: string;
  /** A server pattern (`server_regexp`, the server half of `node_regexp`). */
  server?: string;
}

/** The front ends that call administrative commands (ejabberd's `from` names). */
export type ApiFrontend = 'ejabberd_ctl' | 'mod_http_api' | 'ejabberd_xmlrpc';

/**
 * One condition of an `api_permissions` entry's `who` (the entry matches when any condition does):
 * `all`, `none`, an account (`luser@lserver`, or `luser` on every served host), an IP network
 * (`address/prefix`), a named acl, or an access rule (a name in `access_rules`, or rules written inline).
 */
export type ApiWho =
  | { kind: 'all' }
  | { kind: 'none' }
  | { kind: 'user'; user: string }
  | { kind: 'ip'; ip: string }
  | { kind: 'acl'; acl: string }
  | { kind: 'access'; rule: string }
  | { kind: 'access'; rules: ApiAccessRule[] };

/** One rule of an inline `access:`: its verdict applies when any of its conditions matches. */
export interface ApiAccessRule {
  verdict: 'allow' | 'deny';
  who: ApiWho[];
}

/** One `api_permissions` entry. */
export interface ApiPermission {
  /** `from`: the front ends it applies to; undefined: every front end. */
  from?: ApiFrontend[];
  /** `who`: the callers it allows (any condition). */
  who: ApiWho[];
  /** `what`: `*` (every command), command names, and `!name` exclusions. */
  what: string[];
}

/** One `api_tokens` entry: a bearer token and the account a call made with it acts as. */
export interface ApiToken {
  token: string;
  user: { luser: string; lserver: string };
}

export interface ListenerConfig {
  port: number;
  /** `ip`: the address to bind (`::` for every IPv6 and IPv4 address, `0.0.0.0` for IPv4 only). */
  ip: string;
  module: 'ejabberd_c2s';
  /** `tls`: TLS from the first byte (XEP-0368 direct TLS, usually port 5223). */
  tls: boolean;
  /** `starttls`: offer STARTTLS (default true when a certificate exists). */
  starttls: boolean;
  /** `starttls_required`: refuse anything but STARTTLS before TLS. */
  starttls_required: boolean;
  /** `max_stanza_size` in bytes. */
  max_stanza_size: number;
  /** `shaper`: the name of a `shaper_rules` entry (or a `shaper`) limiting what clients send. */
  shaper: string;
  /** `access`: an `access_rules` entry deciding who may log in (default `all`). */
  access: string;
  /** `max_fsm_queue`: stanzas queued for a client that does not read before its session is closed. */
  max_fsm_queue: number;
  /** tsjabberd: offer SASL PLAIN on an unencrypted stream (default false: only after TLS). */
  allow_unencrypted_plain: boolean;
  /** tsjabberd: seconds a client may take to finish negotiation before `connection-timeout`. */
  negotiation_timeout: number;
}

/**
 * An `ejabberd_service` listener (XEP-0114 external components). It keeps the c2s fields so code that
 * walks every listener (ports, limits) reads them alike; `starttls`, `starttls_required` and
 * `allow_unencrypted_plain` are always false here, and `access` is checked on the packets routed to
 * the component (ejabberd's `handle_info({route, ...})`), not on a login.
 */
export interface ServiceListenerConfig extends Omit<ListenerConfig, 'module'> {
  module: 'ejabberd_service';
  /** `hosts`: component domain → its handshake secret (`hosts: {domain: {password: secret}}`). */
  hosts: Record<string, string>;
  /**
   * `password`: the secret of every host that gives none; with no `hosts` at all, any domain that is
   * not served here may connect with it (ejabberd's `global` host entry).
   */
  password?: string;
  /** `check_from`: a stanza's `from` must be in one of the component's domains (default true). */
  check_from: boolean;
}

/**
 * An `ejabberd_http` listener serving `request_handlers` (path → handler: `mod_http_api` or
 * `ejabberd_xmlrpc`). ejabberd's old standalone `module: ejabberd_xmlrpc` listener is loaded as one of
 * these with `request_handlers: {'/': 'ejabberd_xmlrpc'}`. It keeps the c2s fields so code that walks
 * every listener reads them alike (`starttls` is always false).
 */
export interface HttpListenerConfig extends Omit<ListenerConfig, 'module'> {
  module: 'ejabberd_http';
  /** `request_handlers`: URL path prefix (such as `/api`) → handler module. */
  request_handlers: Record<string, HttpHandlerModule>;
  /** tsjabberd: the largest request body in bytes (default 1 MiB); a larger one gets 413. */
  max_body_size: number;
}

/** The request handlers an `ejabberd_http` listener may serve. */
export type HttpHandlerModule = 'mod_http_api' | 'ejabberd_xmlrpc';

/** One entry of `listen`: a client, component or HTTP listener, told apart by `module`. */
export type AnyListenerConfig = ListenerConfig | ServiceListenerConfig | HttpListenerConfig;
