/**
 * ejabberd_commands: the registry of administrative commands that ejabberdctl, mod_http_api and
 * mod_xmlrpc call. Each command declares its arguments and result with ejabberd's types; `execute`
 * checks every argument before running it.
 */
import type { Logger } from '@tsjabberd/router';
import type { Caller } from './api_permissions.js';

/** ejabberd's argument types. */
export type ArgType = 'binary' | 'string' | 'integer' | 'atom';
/**
 * ejabberd's result format: a name and a type, lists and tuples naming their elements in turn
 * (`{users, {list, {username, string}}}`). The front ends shape their answers from it: mod_http_api
 * as plain JSON, ejabberd_xmlrpc as one-member structs.
 *
 * What `run` returns for each type: rescode `true` (0, ok) or `false` (1); restuple the text of a
 * success (a failure throws); string, atom and integer the value; list an array of its elements;
 * tuple an object keyed by its elements' names.
 */
export type ResultSpec =
  | { name: string; type: 'rescode' | 'restuple' | 'string' | 'integer' | 'atom' }
  | { name: string; type: 'list'; element: ResultSpec }
  | { name: string; type: 'tuple'; elements: ResultSpec[] };
export type ResultType = ResultSpec['type'];

/** String elements of a tuple by name: `strings('jid', 'nick')`. */
export function strings(...names: string[]): ResultSpec[] {
  return names.map((name) => ({ name, type: 'string' }));
}
export type Policy = 'admin' | 'user' | 'open';

export interface Command {
  name: string;
  desc: string;
  args: [string, ArgType][];
  result: ResultSpec;
  policy: Policy;
  /**
   * Old argument names still accepted, old → current (ejabberd's args_rename): mod_xmlrpc's
   * documents call `host` `server`.
   */
  args_rename?: Record<string, string>;
  /** Whether the command changes data (every call is logged, passwords left out). */
  changes?: boolean;
  // biome-ignore lint/suspicious/noExplicitAny: each command's function takes its own argument types
  run: (args: any) => unknown | Promise<unknown>;
}

/**
 * Why a call failed, which each front end maps to its own form (mod_http_api's status code,
 * ejabberd_xmlrpc's fault, ejabberdctl's exit code): `invalid` a bad argument (400), `not_found` an
 * account, session or item that does not exist (404), `conflict` one that already does (409),
 * `failed` anything else (500), `forbidden` a caller api_permissions refuses (401 or 403).
 */
export type CommandErrorKind = 'invalid' | 'not_found' | 'conflict' | 'failed' | 'forbidden';

/**
 * The number of each kind where a front end answers with one: mod_http_api's HTTP status, and
 * mod_xmlrpc's legacy integer results (XEP-0086's codes, the same numbers).
 */
export const ERROR_CODE: Record<CommandErrorKind, number> = {
  invalid: 400,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  failed: 500,
};

/** A refused or failed call; `code` is ejabberd's error code for the JSON body, where it has one. */
export class CommandError extends Error {
  /**
   * `reason` is ejabberd's own error term where clients match it: REST answers it as the body and
   * ejabberdctl prints `{not_found,"unknown_user"}` (xmpp-backends reads both).
   */
  constructor(
    message: string,
    readonly kind: CommandErrorKind = 'invalid',
    readonly code = 0,
    readonly reason?: string,
  ) {
    super(message);
  }
}

const SECRET = /pass|secret/i;

/** An argument missing or of the wrong type (each front end reports it its own way). */
export class ArgumentError extends CommandError {
  constructor(
    message: string,
    readonly argument: string,
    readonly problem: 'missing' | 'type' | 'unknown',
  ) {
    super(message, 'invalid');
  }
}

/** Which api_permissions entry lets `caller` run `command`; undefined refuses. */
export type AccessCheck = (command: string, caller: Caller) => string | undefined;

/** Who made a call, as the logs name it: `admin@localhost via mod_http_api from 127.0.0.1`. */
export function describe_caller(caller: Caller): string {
  const who = caller.user === undefined ? 'anonymous' : `${caller.user.luser}@${caller.user.lserver}`;
  return `${who} via ${caller.frontend}${caller.ip === undefined ? '' : ` from ${caller.ip}`}`;
}

export class EjabberdCommands {
  private readonly commands = new Map<string, Command>();

  /** `access` is api_permissions; without it every call is allowed (in-process use, tests). */
  constructor(
    private readonly log?: Logger,
    private readonly access?: AccessCheck,
  ) {}

  register_commands(commands: Command[]): void {
    for (const c of commands) this.commands.set(c.name, c);
  }

  unregister_commands(names: string[]): void {
    for (const n of names) this.commands.delete(n);
  }

  get_command(name: string): Command | undefined {
    return this.commands.get(name);
  }

  /** `[name, args, desc]` of every command, sorted by name. */
  list_commands(): Command[] {
    return [...this.commands.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * ejabberd_commands:execute_command: checks that `caller` may run the command (api_permissions),
   * checks the arguments, runs it, and logs it with its caller when it changes data.
   */
  async execute(name: string, args: Record<string, unknown>, caller?: Caller): Promise<unknown> {
    const command = this.commands.get(name);
    if (command === undefined) throw new CommandError(`Unknown command ${name}`, 'not_found', 40);
    if (caller !== undefined && this.access !== undefined && this.access(name, caller) === undefined) {
      this.log?.warning(
        `command ${name} refused to ${describe_caller(caller)}: no api_permissions entry allows it`,
      );
      throw new CommandError(
        'AccessRules: Account does not have the right to perform the operation.',
        'forbidden',
        32,
      );
    }
    // ejabberd refuses what the command does not take, so a misspelt argument is not silently ignored.
    const unknown = unknown_args(command, args);
    if (unknown.length > 0)
      throw new ArgumentError(
        `Request have unknown arguments: [${unknown.join(', ')}]`,
        unknown[0],
        'unknown',
      );
    const checked = check_args(command, args);
    if (command.changes && this.log !== undefined) {
      const shown = command.args.map(
        ([n]) => `${n}=${SECRET.test(n) ? '*****' : JSON.stringify(checked[n])}`,
      );
      const by = caller === undefined ? '' : ` by ${describe_caller(caller)}`;
      this.log.info(`command ${name}${by}: ${shown.join(' ')}`);
    }
    return command.run(checked);
  }
}

/**
 * The arguments converted to their types; an ArgumentError for the first bad one, in ejabberd's
 * words ("Request have missing argument: password", "Arg 123 is not in format binary").
 */
export function check_args(command: Command, args: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, type] of command.args) {
    const value = Object.hasOwn(args, name) ? args[name] : renamed(command, args, name);
    if (value === undefined || value === null)
      throw new ArgumentError(`Request have missing argument: ${name}`, name, 'missing');
    if (type === 'integer') {
      const n = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isSafeInteger(n))
        throw new ArgumentError(`Arg ${JSON.stringify(value)} is not in format integer`, name, 'type');
      out[name] = n;
    } else {
      if (typeof value !== 'string')
        throw new ArgumentError(`Arg ${JSON.stringify(value)} is not in format ${type}`, name, 'type');
      out[name] = value;
    }
  }
  return out;
}

/** The names in `args` the command does not take (under their current or an old name). */
export function unknown_args(command: Command, args: Record<string, unknown>): string[] {
  return Object.keys(args).filter(
    (k) => !command.args.some(([n]) => n === k) && !Object.hasOwn(command.args_rename ?? {}, k),
  );
}

/** The value given under an old name of argument `name` (args_rename). */
function renamed(command: Command, args: Record<string, unknown>, name: string): unknown {
  for (const [old, current] of Object.entries(command.args_rename ?? {}))
    if (current === name && Object.hasOwn(args, old)) return args[old];
  return undefined;
}

/** ejabberdctl's usage line of a command. */
export function usage(command: Command): string {
  return `${command.name}${command.args.map(([n]) => ` ${n}`).join('')}`;
}
