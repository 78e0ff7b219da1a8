import type { EjabberdAuth } from '../auth/ejabberd_auth.js';
import type { ServerConfig } from '../config/types.js';
import type { KeyedQueue } from '../storage/keyed_queue.js';
import type { Storage } from '../storage/storage.js';

/**
 * What the server's own modules reach beyond the node: the storage (ejabberd: each module's back end),
 * the accounts, the configuration. A module is a factory over it, `mod_x(env)`, so the module stays a
 * plain `GenModule` that gen_mod starts per host.
 */
export interface ServerEnv {
  storage: Storage;
  auth: EjabberdAuth;
  config: ServerConfig;
  /**
   * Changes to one roster, one at a time (key `user@host`): mod_roster's IQs and subscriptions and
   * the roster commands share it.
   */
  rosters: KeyedQueue;
}
