#!/usr/bin/env node
/**
 * The `tsjabberd` command (ejabberdctl's first commands):
 *   tsjabberd start [--config FILE]
 *   tsjabberd register USER HOST PASSWORD [--config FILE]
 *   tsjabberd unregister USER HOST [--config FILE]
 *   tsjabberd status [--config FILE]
 *   tsjabberd ctl COMMAND [ARGS...] [--config FILE]   (tsjabberdctl: the command registry)
 */
import { authFor } from './auth/ejabberd_auth.js';
import { loadConfig } from './config/load.js';
import type { ServerConfig } from './config/types.js';
import { call, controlPath, startControl } from './control.js';
import { ctlMain } from './ctl.js';
import { TsjabberdServer } from './server.js';
import { openStorage } from './storage/open.js';

const USAGE = `usage:
  tsjabberd start [--config FILE]
  tsjabberd register USER HOST PASSWORD [--config FILE]
  tsjabberd unregister USER HOST [--config FILE]
  tsjabberd status [--config FILE]
  tsjabberd ctl COMMAND [ARGS...] [--config FILE]   (tsjabberd ctl help: the commands)`;

function fail(message: string): never {
  process.stderr.write(`tsjabberd: ${message}\n`);
  process.exit(1);
}

async function main(argv: string[]): Promise<void> {
  const args = [...argv];
  let configFile: string | undefined;
  const at = args.indexOf('--config');
  if (at !== -1) {
    configFile = args[at + 1];
    if (configFile === undefined) fail('--config needs a file');
    args.splice(at, 2);
  }
  const [command, ...rest] = args;
  const config = await loadConfig(configFile).catch((e: Error) => fail(e.message));
  switch (command) {
    case 'start':
      return start(config);
    case 'register': {
      if (rest.length !== 3) fail(USAGE);
      const [user, host, password] = rest;
      return report(await offlineOrOnline(config, { cmd: 'register', user, host, password }), {
        ok: `User ${user}@${host} registered`,
        exists: `User ${user}@${host} already exists`,
        invalid: `${user}@${host} is not a valid account name`,
      });
    }
    case 'unregister': {
      if (rest.length !== 2) fail(USAGE);
      const [user, host] = rest;
      return report(await offlineOrOnline(config, { cmd: 'unregister', user, host }), {
        true: `User ${user}@${host} unregistered`,
        false: `There is no user ${user}@${host}`,
      });
    }
    case 'status': {
      const reply = await call(controlPath(config.data_dir), { cmd: 'status' });
      if (reply === undefined) {
        process.stdout.write(`tsjabberd is not running (data directory ${config.data_dir})\n`);
        process.exit(3);
      }
      if (!reply.ok) fail(reply.error);
      process.stdout.write(`tsjabberd is running: ${JSON.stringify(reply.result)}\n`);
      return;
    }
    case 'ctl':
      return process.exit(await ctlMain(config.data_dir, rest));
    default:
      fail(USAGE);
  }
}

type AccountCommand =
  | { cmd: 'register'; user: string; host: string; password: string }
  | { cmd: 'unregister'; user: string; host: string };

/** Through the running server when there is one, else on the database directly. */
async function offlineOrOnline(config: ServerConfig, command: AccountCommand): Promise<string> {
  const reply = await call(controlPath(config.data_dir), command);
  if (reply !== undefined) {
    if (!reply.ok) fail(reply.error);
    return String(reply.result);
  }
  if (!config.hosts.includes(command.host.toLowerCase()))
    fail(`${command.host} is not a host of this server (${config.hosts.join(', ')})`);
  const storage = await openStorage('sqlite', config.data_dir);
  const auth = authFor(config, storage);
  try {
    return command.cmd === 'register'
      ? await auth.try_register(command.user, command.host, command.password)
      : String(await auth.remove_user(command.user, command.host));
  } finally {
    auth.close();
    await storage.close();
  }
}

function report(result: string, messages: Record<string, string>): void {
  const message = messages[result];
  if (message === undefined) fail(`unexpected answer ${result}`);
  const ok = result === 'ok' || result === 'true';
  (ok ? process.stdout : process.stderr).write(`${message}\n`);
  if (!ok) process.exit(1);
}

async function start(config: ServerConfig): Promise<void> {
  const server = await TsjabberdServer.start({ config }).catch((e: Error) => fail(e.message));
  const control = await startControl(server);
  const host = config.hosts[0];
  const ports = server.listeners.map((l) => `${l.port}${l.config.tls ? ' (TLS)' : ''}`).join(', ');
  process.stdout.write(
    `tsjabberd is running: ${config.hosts.join(', ')} on port ${ports}${config.source === undefined ? ' (embedded defaults)' : ` (config ${config.source})`}\n` +
      (server.certificatePath === undefined
        ? ''
        : `  certificate: ${server.certificatePath} (self-signed unless configured: tell your client to accept it)\n`) +
      `  data: ${config.data_dir}\n` +
      `  add a user:  npm run tsjabberd -- register alice ${host} secret\n` +
      `  then log in as alice@${host} with password secret from any XMPP client (server ${host}, port ${server.listeners[0]?.port ?? 5222})\n`,
  );
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    server.log.info(`${signal}: shutting down`);
    control.close();
    server.stop().then(
      () => process.exit(0),
      (e: Error) => {
        server.log.error(`shutdown failed: ${e.message}`);
        process.exit(1);
      },
    );
  };
  server.stopRequested = shutdown;
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main(process.argv.slice(2)).catch((e: Error) => fail(e.stack ?? e.message));
