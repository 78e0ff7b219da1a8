import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import path from 'node:path';
import { admin_commands } from './commands/admin.js';
import { announce_commands } from './commands/announce_commands.js';
import { allowing_permission } from './commands/api_permissions.js';
import {
  type ArgType,
  CommandError,
  type CommandErrorKind,
  EjabberdCommands,
  type ResultSpec,
  type ResultType,
} from './commands/ejabberd_commands.js';
import { roster_commands } from './commands/roster_commands.js';
import type { TsjabberdServer } from './server.js';

/** A command of the control socket (what ejabberdctl sends to the running node). */
export type ControlCommand =
  | { cmd: 'register'; user: string; host: string; password: string }
  | { cmd: 'unregister'; user: string; host: string }
  | { cmd: 'status' }
  /** A command of the registry (ejabberd_commands), its arguments by name. */
  | { command: string; args: Record<string, unknown> }
  /** The registry's commands, for `tsjabberdctl help`. */
  | { describe: true };

/** What `describe` answers: each command without its function. */
export interface CommandInfo {
  name: string;
  desc: string;
  args: [string, ArgType][];
  result: ResultSpec;
}

export type ControlReply =
  | { ok: true; result: unknown; type?: ResultType }
  | { ok: false; error: string; type?: ResultType; kind?: CommandErrorKind; reason?: string };

/** The registry of a server with the administrative commands. */
export function commandsFor(server: TsjabberdServer): EjabberdCommands {
  const commands = new EjabberdCommands(server.log, (command, caller) =>
    allowing_permission(server.config, command, caller),
  );
  commands.register_commands(admin_commands(server));
  commands.register_commands(roster_commands(server));
  commands.register_commands(announce_commands(server));
  return commands;
}

export function controlPath(dataDir: string): string {
  return path.join(dataDir, 'tsjabberd.sock');
}

/**
 * The control socket: a Unix socket in the data directory through which `tsjabberd register`,
 * `unregister` and `status` reach the running server (ejabberdctl talks to the node the same way), since
 * the database belongs to the one process that opened it. One JSON command per line, one reply per line.
 */
export async function startControl(
  server: TsjabberdServer,
  commands: EjabberdCommands = commandsFor(server),
): Promise<Server> {
  const file = controlPath(server.config.data_dir);
  if (existsSync(file)) {
    // Left by a server killed with -9; a live one would have answered.
    if ((await call(file, { cmd: 'status' })) !== undefined)
      throw new Error(`another tsjabberd is running on ${server.config.data_dir}`);
    unlinkSync(file);
  }
  const control = createServer((socket) => {
    let buffer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      if (buffer.length > 64 * 1024) socket.destroy();
      const newline = buffer.indexOf('\n');
      if (newline === -1) return;
      const line = buffer.slice(0, newline);
      buffer = '';
      void answer(server, commands, line).then((reply) => socket.end(`${JSON.stringify(reply)}\n`));
    });
    socket.on('error', () => {});
  });
  // Only the server's own user may reach it (ejabberdctl needs the node's Erlang cookie): the socket is
  // created without group and other permissions (the bind happens inside listen), then checked.
  const umask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      control.once('error', reject);
      control.listen(file, () => resolve());
    });
  } finally {
    process.umask(umask);
  }
  chmodSync(file, 0o600);
  control.unref();
  return control;
}

async function answer(
  server: TsjabberdServer,
  commands: EjabberdCommands,
  line: string,
): Promise<ControlReply> {
  let command: ControlCommand;
  try {
    command = JSON.parse(line) as ControlCommand;
  } catch {
    return { ok: false, error: 'not a JSON command' };
  }
  if (typeof command !== 'object' || command === null) return { ok: false, error: 'not a JSON command' };
  if ('describe' in command)
    return {
      ok: true,
      result: commands
        .list_commands()
        .map(({ name, desc, args, result }): CommandInfo => ({ name, desc, args, result })),
    };
  if ('command' in command) {
    const type = commands.get_command(String(command.command))?.result.type;
    try {
      const args = typeof command.args === 'object' && command.args !== null ? command.args : {};
      const result = await commands.execute(String(command.command), args, { frontend: 'ejabberd_ctl' });
      return { ok: true, result, type };
    } catch (e) {
      if (!(e instanceof CommandError)) {
        server.log.error(`command ${command.command}: ${String(e)}`);
        return { ok: false, error: e instanceof Error ? e.message : String(e), type, kind: 'failed' };
      }
      return { ok: false, error: e.message, type, kind: e.kind, reason: e.reason };
    }
  }
  try {
    switch (command.cmd) {
      case 'register':
        return {
          ok: true,
          result: await server.auth.try_register(command.user, command.host, command.password),
        };
      case 'unregister':
        return { ok: true, result: await server.auth.remove_user(command.user, command.host) };
      case 'status':
        return { ok: true, result: server.status() };
      default:
        return { ok: false, error: 'unknown command' };
    }
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e.message : String(e) };
  }
}

/** Sends a command to the running server; undefined when none is running there. */
export function call(file: string, command: ControlCommand): Promise<ControlReply | undefined> {
  return new Promise((resolve) => {
    const socket = connect(file);
    let data = '';
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${JSON.stringify(command)}\n`));
    socket.on('data', (chunk: string) => {
      data += chunk;
    });
    socket.on('end', () => {
      try {
        resolve(JSON.parse(data) as ControlReply);
      } catch {
        resolve(undefined);
      }
    });
    socket.on('error', () => resolve(undefined));
  });
}
