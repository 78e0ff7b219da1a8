import type { Logger } from '@tsjabberd/router';
import { memoryStorage } from './memory.js';
import { openSqliteStorage } from './sqlite.js';
import type { Storage } from './storage.js';

export type StorageKind = 'sqlite' | 'memory';

/**
 * Opens the storage back end of `kind`: `sqlite` keeps its database in `dir` (the data directory);
 * `memory` ignores `dir` and keeps nothing across a restart.
 */
export async function openStorage(kind: StorageKind, dir: string, log?: Logger): Promise<Storage> {
  switch (kind) {
    case 'sqlite':
      return openSqliteStorage(dir, log);
    case 'memory':
      log?.warning('storage: using the in-memory back end; nothing is kept across a restart');
      return memoryStorage();
    default:
      throw new Error(`unknown storage back end ${String(kind satisfies never)}`);
  }
}
