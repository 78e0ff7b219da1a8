/**
 * mod_http_api: the REST front end of the command registry. `POST <path>/<command>` with a JSON object
 * of arguments (or `GET` with query parameters) runs the command when api_permissions allows the
 * caller: anonymous, an account by HTTP Basic `user@host:password`, or a configured bearer token. The
 * result is JSON shaped by the command's result format as ejabberd shapes it (a rescode 0 or 1, a
 * restuple its text, a list an array, a tuple an object, a lone value `{"name": value}`); errors answer
 * `{"status":"error","code":N,"message":"..."}` with 400, 401, 403, 404, 409, 413 or 500.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '@tsjabberd/router';
import type { EjabberdAuth } from '../auth/ejabberd_auth.js';
import { type Caller, token_user } from '../commands/api_permissions.js';
import {
  CommandError,
  type EjabberdCommands,
  ERROR_CODE,
  type ResultSpec,
} from '../commands/ejabberd_commands.js';
import type { ServerConfig } from '../config/types.js';
import { checkCredentials, closeAfter, peerIp, readBody, splitJid } from './request.js';

export interface HttpApiContext {
  config: ServerConfig;
  auth: EjabberdAuth;
  commands: EjabberdCommands;
  log: Logger;
  /** The largest body read; a larger one gets 413. */
  maxBodySize: number;
}

/** Answers one request; `command` is what follows the handler's path (`/register` → `register`). */
export type HttpHandler = (req: IncomingMessage, res: ServerResponse, command: string) => void;

function reply(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    ...CORS,
    ...headers,
  });
  res.end(text);
}

/** What ejabberd sends with every answer, so that a web page on another origin may call the API. */
const CORS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
  'Access-Control-Allow-Headers': 'Content-Type, Authorization, X-Admin',
};

/**
 * ejabberd's json_error/3: `{"status":"error","code":N,"message":...}`, the form of authentication
 * and routing errors and of commands' coded errors (register's 10090).
 */
function error(
  res: ServerResponse,
  status: number,
  code: number,
  message: string,
  headers?: Record<string, string>,
): void {
  reply(res, status, { status: 'error', code, message }, headers);
}

/** mod_http_api's answer for a result of format `spec` (format_command_result). */
export function format_command_result(value: unknown, spec: ResultSpec): unknown {
  switch (spec.type) {
    case 'rescode':
    case 'restuple':
    case 'list':
    case 'tuple':
      return format_result(value, spec);
    default:
      // A lone integer or string is wrapped in an object named after it: {"stat": 5}.
      return { [spec.name]: format_result(value, spec) };
  }
}

function format_result(value: unknown, spec: ResultSpec): unknown {
  switch (spec.type) {
    case 'rescode':
      return value === false ? 1 : 0;
    case 'restuple':
      return String(value ?? '');
    case 'integer':
      return Number(value);
    case 'list':
      return (Array.isArray(value) ? value : []).map((v) => format_result(v, spec.element));
    case 'tuple': {
      const record = (value ?? {}) as Record<string, unknown>;
      return Object.fromEntries(spec.elements.map((e) => [e.name, format_result(record[e.name], e)]));
    }
    default:
      return String(value ?? '');
  }
}

/**
 * The caller named by the Authorization header: Basic `user@host:password` or a configured bearer
 * token; anonymous without the header (api_permissions decides what that may do); `bad` for
 * credentials that do not check out.
 */
async function authenticate(ctx: HttpApiContext, req: IncomingMessage): Promise<Caller | 'bad'> {
  const caller: Caller = { frontend: 'mod_http_api', ip: peerIp(req) };
  const header = req.headers.authorization;
  if (header === undefined) return caller;
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (basic !== null) {
    const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const jid = colon === -1 ? undefined : splitJid(decoded.slice(0, colon));
    if (jid === undefined) return 'bad';
    const user = await checkCredentials(ctx.config, ctx.auth, jid[0], jid[1], decoded.slice(colon + 1));
    return user === undefined ? 'bad' : { ...caller, user };
  }
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (bearer !== null) {
    const user = token_user(ctx.config, bearer[1]);
    return user === undefined ? 'bad' : { ...caller, user };
  }
  return 'bad';
}

/** The handler of one `request_handlers` path. */
export function mod_http_api(ctx: HttpApiContext): HttpHandler {
  return (req, res, command) => {
    void handle(ctx, req, res, command).catch((e) => {
      ctx.log.error(`mod_http_api ${command}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      reply(res, 500, 'internal_error');
    });
  };
}

const UNAUTHORIZED = { 'WWW-Authenticate': 'Basic realm="ejabberd"' };
const FORBIDDEN = 'AccessRules: Account does not have the right to perform the operation.';

/** The arguments of a GET: the query string's parameters (ejabberd accepts both forms). */
function queryArgs(req: IncomingMessage): Record<string, unknown> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const args: Record<string, unknown> = {};
  for (const [k, v] of url.searchParams) args[k] = v;
  return args;
}

async function handle(
  ctx: HttpApiContext,
  req: IncomingMessage,
  res: ServerResponse,
  command: string,
): Promise<void> {
  const peer = peerIp(req);
  if (req.method === 'OPTIONS') {
    // A browser's CORS preflight.
    req.resume();
    res.writeHead(200, { ...CORS, 'Content-Length': 0 });
    res.end();
    return;
  }
  if (req.method !== 'POST' && req.method !== 'GET') {
    req.resume();
    error(res, 405, 0, 'Only POST and GET are supported', { Allow: 'POST, GET, OPTIONS' });
    return;
  }
  const body = await readBody(req, ctx.maxBodySize);
  if (body === 'aborted') return;
  if (body === 'too_large') {
    ctx.log.warning(`mod_http_api: ${peer} sent more than ${ctx.maxBodySize} bytes calling ${command}`);
    closeAfter(req, res);
    error(res, 413, 0, `Request body larger than ${ctx.maxBodySize} bytes`, { Connection: 'close' });
    return;
  }
  const caller = await authenticate(ctx, req);
  if (caller === 'bad') {
    ctx.log.warning(`mod_http_api: authentication failed from ${peer} calling ${command}`);
    error(res, 401, 10, 'You are not authorized to call this command.', UNAUTHORIZED);
    return;
  }
  if (command === '') {
    error(res, 400, 40, 'Missing command name.');
    return;
  }
  const definition = ctx.commands.get_command(command);
  if (definition === undefined) {
    ctx.log.info(`mod_http_api: ${peer} called ${command}, which is no command`);
    error(res, 404, 40, 'Endpoint not found.');
    return;
  }
  let args: unknown;
  if (req.method === 'GET') args = queryArgs(req);
  else
    try {
      args = body.trim() === '' ? {} : JSON.parse(body);
    } catch {
      reply(res, 400, 'Invalid JSON input');
      return;
    }
  if (typeof args !== 'object' || args === null || Array.isArray(args)) {
    reply(res, 400, 'The arguments must be a JSON object');
    return;
  }
  let result: unknown;
  try {
    result = await ctx.commands.execute(command, args as Record<string, unknown>, caller);
  } catch (e) {
    if (!(e instanceof CommandError)) throw e;
    if (e.kind === 'forbidden') {
      error(res, 403, 32, FORBIDDEN);
      return;
    }
    if (e.kind === 'failed') ctx.log.error(`mod_http_api ${command} from ${peer}: ${e.message}`);
    // A coded error is ejabberd's json_error; any other is its reason (or message) as a JSON string.
    if (e.code !== 0) error(res, ERROR_CODE[e.kind], e.code, e.message);
    else reply(res, ERROR_CODE[e.kind], e.reason ?? e.message);
    return;
  }
  reply(res, 200, format_command_result(result, definition.result));
}
