import type {
  AclConfig,
  ApiPermission,
  HttpListenerConfig,
  ListenerConfig,
  ServerConfig,
  ServiceListenerConfig,
  ShaperConfig,
} from './types.js';

/** The c2s port (RFC 6120 section 3.2.1). */
export const DEFAULT_C2S_PORT = 5222;
/** ejabberd's example config: 256 KiB, enough for avatars and large rosters, small enough to bound memory. */
export const DEFAULT_MAX_STANZA_SIZE = 262144;
export const DEFAULT_MAX_FSM_QUEUE = 10000;
/** Seconds a client has to finish stream negotiation (TLS, SASL, bind). */
export const DEFAULT_NEGOTIATION_TIMEOUT = 30;
export const DEFAULT_DATA_DIR = './data';

/**
 * The shapers of ejabberd's current example config (ejabberd.yml.example since 21.x), in bytes per
 * second:
 *
 * - `normal` (every client): 3000 B/s sustained with a 20000-byte burst. Everything a client sends right
 *   after logging in (roster get, initial presence, disco#info of its server, carbons, CSI, MAM/PEP
 *   subscriptions: a few KB for Conversations or Gajim) fits in the burst, so login and the first screen
 *   are never slowed; 3000 B/s sustained is a dozen ordinary chat messages a second, while a flood
 *   (or a client uploading a 256 KiB stanza) is paced instead of starving the others. The older
 *   `normal: 1000` (burst = rate = 1000 bytes) paused a client on its first roster+presence burst.
 * - `fast` (s2s and components in ejabberd): 100000 B/s.
 */
export function defaultShapers(): Record<string, ShaperConfig> {
  return {
    normal: { rate: 3000, burst_size: 20000 },
    fast: { rate: 100000, burst_size: 100000 },
  };
}

/** A listener's values when the YAML leaves them out (ejabberd's ejabberd_c2s listener defaults). */
export function listenerDefaults(
  maxStanzaSize: number = DEFAULT_MAX_STANZA_SIZE,
): Omit<ListenerConfig, 'port'> {
  return {
    ip: '::',
    module: 'ejabberd_c2s',
    tls: false,
    starttls: true,
    starttls_required: false,
    max_stanza_size: maxStanzaSize,
    shaper: 'none',
    access: 'all',
    max_fsm_queue: DEFAULT_MAX_FSM_QUEUE,
    allow_unencrypted_plain: false,
    negotiation_timeout: DEFAULT_NEGOTIATION_TIMEOUT,
  };
}

/** The XEP-0114 component port ejabberd's example config uses. */
export const DEFAULT_SERVICE_PORT = 8888;

/**
 * An `ejabberd_service` listener's values when the YAML leaves them out: unshaped (ejabberd's
 * `shaper_rule` default `none`), access `all`, `check_from: true`, no hosts yet.
 */
export function serviceListenerDefaults(
  maxStanzaSize: number = DEFAULT_MAX_STANZA_SIZE,
): Omit<ServiceListenerConfig, 'port'> {
  return {
    ...listenerDefaults(maxStanzaSize),
    module: 'ejabberd_service',
    starttls: false,
    hosts: {},
    check_from: true,
  };
}

/** An `ejabberd_http` listener's defaults: no handlers yet, 1 MiB bodies. */
export function httpListenerDefaults(
  maxStanzaSize: number = DEFAULT_MAX_STANZA_SIZE,
): Omit<HttpListenerConfig, 'port'> {
  return {
    ...listenerDefaults(maxStanzaSize),
    module: 'ejabberd_http',
    starttls: false,
    shaper: 'none',
    access: 'all',
    request_handlers: {},
    max_body_size: 1024 * 1024,
  };
}

/** The default `listen`: one c2s listener on 5222, every address, STARTTLS offered, shaped, `c2s` access. */
export function defaultListeners(maxStanzaSize: number = DEFAULT_MAX_STANZA_SIZE): ListenerConfig[] {
  return [
    { port: DEFAULT_C2S_PORT, ...listenerDefaults(maxStanzaSize), shaper: 'c2s_shaper', access: 'c2s' },
  ];
}

/**
 * The modules of the embedded configuration, as ejabberd's example config loads them (mod_register
 * stays off: in-band registration is an operator's decision).
 */
export function defaultModules(): Record<string, Record<string, unknown>> {
  return {
    mod_announce: { access: 'announce' },
    mod_blocking: {},
    mod_disco: {},
    mod_last: {},
    mod_offline: { max_user_offline_messages: 100 },
    mod_ping: {},
    mod_private: {},
    mod_roster: { versioning: true },
    mod_vcard: {},
    mod_version: {},
  };
}

/**
 * The acls every configuration has unless it defines them itself: `loopback` (127.0.0.0/8 and ::1/128),
 * as ejabberd's example config defines it, for `api_permissions` and access rules.
 */
export function predefinedAcls(): Record<string, AclConfig> {
  return { loopback: { ip: ['127.0.0.0/8', '::1/128'] } };
}

/**
 * ejabberd's `console commands` entry: every command from ejabberdctl, for anyone (who can run
 * ejabberdctl can read the data files anyway). Added to a configured `api_permissions` that has no
 * entry of this name, as ejabberd does.
 */
export function consoleCommandsPermission(): ApiPermission {
  return { from: ['ejabberd_ctl'], who: [{ kind: 'all' }], what: ['*'] };
}

/**
 * `api_permissions` when the config has none: ejabberd's built-in default plus its console entry.
 * `console commands` (ejabberdctl: everything, for anyone) and `admin access` (every front end: every
 * command but start and stop, for authenticated accounts of the `admin` acl). Over HTTP this means
 * credentials are always needed: loopback without credentials is an option to configure, not a default.
 */
export function defaultApiPermissions(): Record<string, ApiPermission> {
  return {
    'console commands': consoleCommandsPermission(),
    'admin access': { who: [{ kind: 'acl', acl: 'admin' }], what: ['*', '!stop', '!start'] },
  };
}

/**
 * The embedded configuration `npm start` runs on without a config file, and the value of every
 * top-level key a config file leaves out: host `localhost`, c2s on 5222 with STARTTLS, a self-signed
 * certificate generated in `./data` (certfiles empty), accounts in `./data`.
 * A fresh object each call, so callers may change it.
 */
export function defaultConfig(): ServerConfig {
  return {
    hosts: ['localhost'],
    loglevel: 'info',
    certfiles: [],
    listen: defaultListeners(),
    auth_method: 'internal',
    extauth_pool_size: 1,
    extauth_timeout: 10,
    auth_password_format: 'scram',
    shaper: defaultShapers(),
    shaper_rules: { c2s_shaper: [['normal', 'all']] },
    acl: predefinedAcls(),
    access_rules: { c2s: [['allow', 'all']], announce: [['allow', 'admin']] },
    api_permissions: defaultApiPermissions(),
    api_tokens: [],
    modules: defaultModules(),
    data_dir: DEFAULT_DATA_DIR,
  };
}
