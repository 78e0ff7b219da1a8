/**
 * mod_http_api: the REST front end of the command registry. `POST <path>/<command>` with a JSON object of
 * arguments runs the command for an admin (HTTP Basic `user@host:password`, matched by the `admin` acl)
 * and answers its result as JSON; errors answer `{"status":"error","code":N,"message":"..."}` as ejabberd.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { nameprep, nodeprep } from '@tsjabberd/jid';
import type { Logger } from '@tsjabberd/router';
import type { EjabberdAuth } from '../auth/ejabberd_auth.js';
import { CommandError, check_args, type EjabberdCommands } from '../commands/ejabberd_commands.js';
import { matchAcl } from '../config/acl.js';
import type { ServerConfig } from '../config/types.js';

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
    ...headers,
  });
  res.end(text);
}

/** ejabberd's json_error/3. */
function error(
  res: ServerResponse,
  status: number,
  code: number,
  message: string,
  headers?: Record<string, string>,
): void {
  reply(res, status, { status: 'error', code, message }, headers);
}

/** The body, or undefined once it exceeded `max` (413 already sent). */
function readBody(req: IncomingMessage, res: ServerResponse, max: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > max) {
      error(res, 413, 0, `Request body larger than ${max} bytes`, { Connection: 'close' });
      req.pause();
      res.on('finish', () => req.destroy());
      resolve(undefined);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        error(res, 413, 0, `Request body larger than ${max} bytes`, { Connection: 'close' });
        req.pause();
        res.on('finish', () => req.destroy());
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (size <= max) resolve(Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', () => resolve(undefined));
  });
}

type AuthResult = 'ok' | 'unauthorized' | 'forbidden';

async function authenticate(ctx: HttpApiContext, req: IncomingMessage): Promise<AuthResult> {
  const header = req.headers.authorization;
  const match = header === undefined ? null : /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (match === null) return 'unauthorized';
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1) return 'unauthorized';
  const jid = decoded.slice(0, colon);
  const password = decoded.slice(colon + 1);
  const at = jid.lastIndexOf('@');
  if (at <= 0) return 'unauthorized';
  const user = nodeprep(jid.slice(0, at));
  const host = nameprep(jid.slice(at + 1));
  if (user === 'error' || host === 'error' || !ctx.config.hosts.includes(host)) return 'unauthorized';
  if (!(await ctx.auth.check_password(user, host, password))) return 'unauthorized';
  return matchAcl(ctx.config, 'admin', user, host) ? 'ok' : 'forbidden';
}

/** The handler of one `request_handlers` path. */
export function mod_http_api(ctx: HttpApiContext): HttpHandler {
  return (req, res, command) => {
    void handle(ctx, req, res, command).catch((e) => {
      ctx.log.error(`mod_http_api ${command}: ${String(e)}`);
      error(res, 500, 0, 'Internal error');
    });
  };
}

async function handle(
  ctx: HttpApiContext,
  req: IncomingMessage,
  res: ServerResponse,
  command: string,
): Promise<void> {
  const peer = req.socket.remoteAddress ?? '?';
  if (req.method !== 'POST') {
    req.resume();
    error(res, 405, 0, 'Only POST is supported', { Allow: 'POST' });
    return;
  }
  const body = await readBody(req, res, ctx.maxBodySize);
  if (body === undefined) return;
  const verdict = await authenticate(ctx, req);
  if (verdict === 'unauthorized') {
    ctx.log.warning(`mod_http_api: authentication failed from ${peer} calling ${command}`);
    error(res, 401, 10, 'You are not authorized to call this command.', {
      'WWW-Authenticate': 'Basic realm="ejabberd"',
    });
    return;
  }
  if (verdict === 'forbidden') {
    ctx.log.warning(`mod_http_api: a non-admin from ${peer} called ${command}`);
    error(res, 403, 32, 'AccessRules: Account does not have the right to perform the operation.');
    return;
  }
  const definition = ctx.commands.get_command(command);
  if (definition === undefined) {
    error(res, 404, 40, `Unknown command ${command}`);
    return;
  }
  let args: unknown;
  try {
    args = body.trim() === '' ? {} : JSON.parse(body);
  } catch {
    error(res, 400, 0, 'Invalid JSON input');
    return;
  }
  if (typeof args !== 'object' || args === null || Array.isArray(args)) {
    error(res, 400, 0, 'The arguments must be a JSON object');
    return;
  }
  try {
    check_args(definition, args as Record<string, unknown>);
  } catch (e) {
    error(res, 400, 10, e instanceof Error ? e.message : String(e));
    return;
  }
  let result: unknown;
  try {
    result = await ctx.commands.execute(command, args as Record<string, unknown>);
  } catch (e) {
    if (!(e instanceof CommandError)) throw e;
    error(res, 400, 1, e.message);
    return;
  }
  reply(res, 200, definition.result.type === 'rescode' ? 0 : (result ?? 0));
}
