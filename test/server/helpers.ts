import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MemoryLogger } from '@tsjabberd/router';
import { type ServerConfig, TsjabberdServer } from '@tsjabberd/server';
import { defaultConfig } from '../../packages/server/src/config/defaults.js';
import { memoryStorage } from '../../packages/server/src/storage/memory.js';

// The test server's certificate is self-signed: clients in these tests accept it.
process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';

export interface TestServer {
  server: TsjabberdServer;
  log: MemoryLogger;
  /** The c2s port (STARTTLS). */
  port: number;
  /** The direct-TLS port. */
  tlsPort: number;
  dir: string;
  stop(): Promise<void>;
}

/** A server on free ports with a data directory of its own and in-memory accounts. */
export async function startTestServer(
  change: (config: ServerConfig) => void = () => {},
): Promise<TestServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tsjabberd-test-'));
  const config = defaultConfig();
  config.data_dir = dir;
  const base = config.listen[0];
  // Unshaped, so a test may send a large stanza at once (the shaper has its own unit test).
  config.listen = [
    { ...base, port: 0, ip: '127.0.0.1', shaper: 'none' },
    { ...base, port: 0, ip: '127.0.0.1', shaper: 'none', tls: true, starttls: false },
  ];
  config.modules = { mod_disco: {}, mod_version: {}, mod_ping: {}, mod_cputime: {} };
  change(config);
  const log = new MemoryLogger();
  const server = await TsjabberdServer.start({ config, storage: memoryStorage(), log });
  await server.auth.try_register('alice', 'localhost', 'wonderland');
  await server.auth.try_register('bob', 'localhost', 'builder');
  return {
    server,
    log,
    port: server.listeners[0].port,
    tlsPort: server.listeners[1]?.port ?? 0,
    dir,
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
