/**
 * `tsjabberdctl COMMAND [ARGS...]`: ejabberdctl's front end to the command registry of the running
 * server, through the control socket. Results print as ejabberdctl prints them: a rescode prints
 * nothing (exit 0 on ok; `Error: false` and exit 1 on false), a restuple its text, a list one item
 * per line, a tuple its fields separated by tabs; a failed command prints ejabberdctl's error line on
 * stdout and exits 1. Problems of the call itself (unknown command, wrong argument count, no server)
 * go to stderr; exit 3 means no server answers.
 */
import type { ResultSpec } from './commands/ejabberd_commands.js';
import { type CommandInfo, type ControlReply, call, controlPath } from './control.js';

export interface CtlOutput {
  stdout(text: string): void;
  stderr(text: string): void;
}

const processOutput: CtlOutput = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/** ejabberdctl's rendering of a result format: `users::[ username::string ]`, `{ a::string, b::integer }`. */
export function formatSpec(spec: ResultSpec): string {
  if (spec.type === 'list') return `${spec.name}::[ ${formatSpec(spec.element)} ]`;
  if (spec.type === 'tuple') return `${spec.name}::{ ${spec.elements.map(formatSpec).join(', ')} }`;
  return `${spec.name}::${spec.type}`;
}

/** `COMMAND ARG1 ARG2 ...`: how a command is called. */
export function commandUsage(c: CommandInfo): string {
  return `${c.name}${c.args.map(([n]) => ` ${n}`).join('')}`;
}

/** One value as ejabberdctl prints it, following its format: a tuple's fields by name, tab-separated. */
function format(value: unknown, spec: ResultSpec): string {
  if (value === null || value === undefined) return '';
  if (spec.type === 'list')
    return (Array.isArray(value) ? value : []).map((v) => format(v, spec.element)).join('\n');
  if (spec.type === 'tuple') {
    const record = value as Record<string, unknown>;
    return spec.elements.map((e) => format(record[e.name], e)).join('\t');
  }
  return String(value);
}

/** Runs one command against the server whose control socket is `socket`; returns the exit code. */
export async function ctl(socket: string, argv: string[], out: CtlOutput = processOutput): Promise<number> {
  const [name, ...rest] = argv;
  const described = await call(socket, { describe: true });
  if (described === undefined) {
    out.stderr(`tsjabberd is not running (no control socket at ${socket})\n`);
    return 3;
  }
  if (!described.ok) {
    out.stderr(`${described.error}\n`);
    return 1;
  }
  const commands = described.result as CommandInfo[];
  if (name === undefined || name === 'help' || name === '--help') {
    const wanted = rest[0];
    if (name !== undefined && wanted !== undefined) {
      const c = commands.find((x) => x.name === wanted);
      if (c === undefined) {
        out.stderr(`Unknown command ${wanted}\n`);
        return 1;
      }
      out.stdout(
        `  Command Name: ${c.name}\n\n  Arguments: ${c.args.map(([n, t]) => `${n}::${t}`).join('\n             ') || '(none)'}\n\n` +
          `  Returns: ${formatSpec(c.result)}\n\n  Description: ${c.desc}\n`,
      );
      return 0;
    }
    const width = Math.max(...commands.map((c) => commandUsage(c).length));
    out.stdout(
      `Usage: tsjabberdctl COMMAND [ARGS...]\n\nAvailable commands:\n${commands
        .map((c) => `  ${commandUsage(c).padEnd(width)}  ${c.desc}\n`)
        .join('')}`,
    );
    return name === undefined ? 1 : 0;
  }
  const command = commands.find((c) => c.name === name);
  if (command === undefined) {
    out.stderr(`Unknown command ${name}\n`);
    return 1;
  }
  if (rest.length !== command.args.length) {
    out.stderr(
      `Error: the command ${name} requires ${command.args.length} arguments\n  Usage: tsjabberdctl ${commandUsage(command)}\n`,
    );
    return 1;
  }
  const args: Record<string, unknown> = {};
  command.args.forEach(([n], i) => {
    args[n] = rest[i];
  });
  const reply = await call(socket, { command: name, args });
  if (reply === undefined) {
    out.stderr('tsjabberd stopped answering\n');
    return 3;
  }
  if (!reply.ok) {
    out.stdout(`${errorText(reply)}\n`);
    return 1;
  }
  const type = command.result.type;
  // ejabberdctl: a rescode prints nothing when ok, "Error: false" otherwise (check_account of a stranger).
  if (type === 'rescode') {
    if (reply.result !== false) return 0;
    out.stdout('Error: false\n');
    return 1;
  }
  const text = format(reply.result, command.result);
  if ((type === 'list' || type === 'restuple') && text === '') return 0;
  out.stdout(`${text}\n`);
  return 0;
}

/**
 * A failed command as ejabberdctl prints it (on stdout, where scripts such as xmpp-backends read it):
 * `{not_found,"unknown_user"}` for a missing account, `Error: conflict: ...` for one that exists.
 */
function errorText(reply: Extract<ControlReply, { ok: false }>): string {
  if (reply.kind === 'not_found' && reply.reason !== undefined) return `{not_found,"${reply.reason}"}`;
  if (reply.kind === 'conflict') return `Error: conflict: ${reply.error}`;
  return `Error: ${reply.error}`;
}

/** `tsjabberdctl` with the data directory of the configuration (`--config FILE`). */
export async function ctlMain(dataDir: string, argv: string[]): Promise<number> {
  return ctl(controlPath(dataDir), argv);
}

/** The whole `tsjabberdctl` program: `--config FILE` anywhere, then the command; exits with its code. */
export async function runCtl(argv: string[]): Promise<never> {
  const args = [...argv];
  let configFile: string | undefined;
  const at = args.indexOf('--config');
  if (at !== -1) {
    configFile = args[at + 1];
    if (configFile === undefined) {
      process.stderr.write('tsjabberdctl: --config needs a file\n');
      process.exit(1);
    }
    args.splice(at, 2);
  }
  const { loadConfig } = await import('./config/load.js');
  try {
    const config = await loadConfig(configFile);
    process.exit(await ctlMain(config.data_dir, args));
  } catch (e) {
    process.stderr.write(`tsjabberdctl: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  }
}
