import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MemoryLogger } from '@tsjabberd/router';
import { type ServerConfig, TsjabberdServer } from '@tsjabberd/server';
import type { EjabberdCommands } from '../../packages/server/src/commands/ejabberd_commands.js';
import { defaultConfig, defaultModules } from '../../packages/server/src/config/defaults.js';
import { commandsFor, controlPath, startControl } from '../../packages/server/src/control.js';
import { ctl } from '../../packages/server/src/ctl.js';
import { memoryStorage } from '../../packages/server/src/storage/memory.js';
import { openStorage } from '../../packages/server/src/storage/open.js';
import { RawClient } from './raw-client.js';

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
  /** A RawClient logged in (STARTTLS, SCRAM-SHA-256, bound to `resource`), closed by `stop`. */
  login(user: string, password: string, resource: string): Promise<RawClient>;
  /** Closes the clients `login` opened so far (for an afterEach). */
  closeClients(): void;
  /** Whether `user` logs in with `password` now (the probe session is closed at once). */
  canLogin(user: string, password: string): Promise<boolean>;
  /** Stops the server and removes its data directory (unless `keepDir`, to start again on it). */
  stop(options?: { keepDir?: boolean }): Promise<void>;
}

export interface TestServerOptions {
  /** Keep the data in SQLite (in `dir`) instead of memory, so a restart finds it. */
  sqlite?: boolean;
  /** The data directory (default: a new temporary one). */
  dir?: string;
}

/** A server on free ports with a data directory of its own and in-memory accounts. */
export async function startTestServer(
  change: (config: ServerConfig) => void = () => {},
  options: TestServerOptions = {},
): Promise<TestServer> {
  const dir = options.dir ?? mkdtempSync(path.join(os.tmpdir(), 'tsjabberd-test-'));
  const config = defaultConfig();
  config.data_dir = dir;
  const base = config.listen[0];
  // Unshaped, so a test may send a large stanza at once (the shaper has its own unit test).
  config.listen = [
    { ...base, port: 0, ip: '127.0.0.1', shaper: 'none' },
    { ...base, port: 0, ip: '127.0.0.1', shaper: 'none', tls: true, starttls: false },
  ];
  config.modules = { ...defaultModules(), mod_cputime: {} };
  change(config);
  const log = new MemoryLogger();
  const server = await TsjabberdServer.start({
    config,
    storage: options.sqlite ? await openStorage('sqlite', dir) : memoryStorage(),
    log,
  });
  const clients: RawClient[] = [];
  await server.auth.try_register('alice', 'localhost', 'wonderland');
  await server.auth.try_register('bob', 'localhost', 'builder');
  return {
    server,
    log,
    port: server.listeners[0].port,
    tlsPort: server.listeners[1]?.port ?? 0,
    dir,
    async login(user, password, resource) {
      const c = await RawClient.connect(server.listeners[0].port);
      clients.push(c);
      await c.login(user, password, resource);
      return c;
    },
    closeClients() {
      for (const c of clients.splice(0)) c.close();
    },
    async canLogin(user, password) {
      const c = await RawClient.connect(server.listeners[0].port);
      try {
        await c.login(user, password, 'probe');
        return true;
      } catch {
        return false;
      } finally {
        c.close();
      }
    },
    async stop(stopOptions = {}) {
      for (const c of clients.splice(0)) c.close();
      await server.stop();
      if (stopOptions.keepDir !== true) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `test` until it holds, or fails after 5 s naming `what` (for effects a server records a moment later). */
export async function eventually(test: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** What `tsjabberdctl ARGS...` printed and exited with. */
export interface CtlRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** `tsjabberdctl ARGS...`, in process, against the control socket `socket`. */
export async function runCtl(socket: string, argv: string[]): Promise<CtlRun> {
  let stdout = '';
  let stderr = '';
  const code = await ctl(socket, argv, {
    stdout: (s) => {
      stdout += s;
    },
    stderr: (s) => {
      stderr += s;
    },
  });
  return { code, stdout, stderr };
}

/** A test server with its command registry and control socket (what tsjabberdctl talks to). */
export interface ControlledServer {
  t: TestServer;
  commands: EjabberdCommands;
  /** The control socket's path, for `runCtl`. */
  socket: string;
  stop(): Promise<void>;
}

export async function startControlledServer(): Promise<ControlledServer> {
  const t = await startTestServer();
  const commands = commandsFor(t.server);
  const control = await startControl(t.server, commands);
  return {
    t,
    commands,
    socket: controlPath(t.dir),
    async stop() {
      control.close();
      await t.stop();
    },
  };
}
