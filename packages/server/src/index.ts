export { EjabberdAuth } from './auth/ejabberd_auth.js';
export { C2sConnection, type C2sContext } from './c2s/ejabberd_c2s.js';
export { Shaper } from './c2s/shaper.js';
export { ensureCertificate } from './config/certs.js';
export { ConfigError, loadConfig, parseConfig } from './config/load.js';
export type { ListenerConfig, ServerConfig } from './config/types.js';
export { call as callControl, controlPath, startControl } from './control.js';
export type { ServerEnv } from './modules/env.js';
export { mod_blocking } from './modules/mod_blocking.js';
export { mod_disco } from './modules/mod_disco.js';
export { mod_last } from './modules/mod_last.js';
export { mod_offline } from './modules/mod_offline.js';
export { mod_ping } from './modules/mod_ping.js';
export { mod_private } from './modules/mod_private.js';
export { mod_register } from './modules/mod_register.js';
export { in_state_change, mod_roster, out_state_change } from './modules/mod_roster.js';
export { mod_vcard } from './modules/mod_vcard.js';
export { mod_version } from './modules/mod_version.js';
export { type BoundListener, type ServerOptions, TsjabberdServer } from './server.js';
export { openStorage } from './storage/open.js';
export type {
  Account,
  OfflineMessage,
  RosterItem,
  Storage,
  StoredPassword,
  Subscription,
} from './storage/storage.js';
