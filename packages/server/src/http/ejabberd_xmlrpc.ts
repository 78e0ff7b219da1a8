/**
 * ejabberd_xmlrpc: the XML-RPC front end of the command registry, an ejabberd_http request handler
 * (or the old standalone `module: ejabberd_xmlrpc` listener, which is the same handler on "/").
 *
 * A call is `POST` of a methodCall named after the command, with one struct of named arguments, after
 * an optional auth struct `{user, server, password}` (or `{user, server, token}`):
 *
 *     register({user: 'bob', host: 'localhost', password: 'pw'})
 *     register({user: 'admin', server: 'localhost', password: 's3'}, {user: 'bob', ...})
 *
 * The answer is shaped by the command's result format as ejabberd_xmlrpc's format_result does: each
 * value a one-member struct named after it (`{res: 0}`, `{stat: 5}`, `{users: [{username: 'bob'}]}`),
 * a tuple an array of such structs (`{last_activity: [{timestamp: ...}, {status: ...}]}`), which is
 * what xmpp-backends parses. The seven calls documented by mod_xmlrpc (link_contacts, unlink_contacts,
 * get_roster, get_roster_with_presence, get_presence, get_resources, send_stanza) answer in that
 * document's plainer shapes instead (an integer, an array of structs, a struct).
 *
 * Errors are faults with ejabberd 23.01's codes: -112 unknown call, -114 duplicated argument, -116
 * missing argument, -118 the command failed or was refused (credentials that do not check out,
 * api_permissions), -120 unused arguments, -122 wrong type. A restuple command that fails answers
 * `{res: 1, text}` instead, as ejabberd did before 23.01 made it a fault: xmpp-backends reads
 * `res == 1` after register as "user exists". A body that is not an XML-RPC call gets HTTP 400.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { nameprep, nodeprep } from '@tsjabberd/jid';
import type { Logger } from '@tsjabberd/router';
import type { EjabberdAuth } from '../auth/ejabberd_auth.js';
import { type Caller, token_user } from '../commands/api_permissions.js';
import {
  ArgumentError,
  type Command,
  CommandError,
  type EjabberdCommands,
  ERROR_CODE,
  type ResultSpec,
} from '../commands/ejabberd_commands.js';
import type { ServerConfig } from '../config/types.js';
import type { HttpHandler } from './mod_http_api.js';
import { checkCredentials, closeAfter, peerIp, readBody } from './request.js';
import {
  encode_fault,
  encode_response,
  parse_method_call,
  XmlRpcDuplicateMember,
  XmlRpcParseError,
  type XmlRpcStruct,
  type XmlRpcValue,
} from './xmlrpc.js';

export interface XmlRpcContext {
  config: ServerConfig;
  auth: EjabberdAuth;
  commands: EjabberdCommands;
  log: Logger;
  /** The largest body read; a larger one gets 413. */
  maxBodySize: number;
}

/** A fault: ejabberd's code and its text, which starts with "Error <code>". */
class Fault extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(`Error ${code}\n${message}`);
  }
}

function isStruct(v: XmlRpcValue | undefined): v is XmlRpcStruct {
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    !(v instanceof Date) &&
    !(v instanceof Uint8Array)
  );
}

/** ejabberd_xmlrpc's format_result: every value a struct named after its format. */
export function format_result(value: unknown, spec: ResultSpec): XmlRpcStruct {
  return { [spec.name]: format_value(value, spec) };
}

function format_value(value: unknown, spec: ResultSpec): XmlRpcValue {
  switch (spec.type) {
    case 'rescode':
      return value === false ? 1 : 0;
    case 'integer':
      return Number(value);
    case 'list':
      return (Array.isArray(value) ? value : []).map((v) => format_result(v, spec.element));
    case 'tuple': {
      const record = (value ?? {}) as Record<string, unknown>;
      return spec.elements.map((e) => format_result(record[e.name], e));
    }
    default:
      return String(value ?? '');
  }
}

type Row = Record<string, string>;

/** The shapes of the calls mod_xmlrpc's document describes, which differ from the generic ones. */
const MOD_XMLRPC: Record<string, (value: unknown) => XmlRpcValue> = {
  link_contacts: () => 0,
  unlink_contacts: () => 0,
  send_stanza: () => 0,
  get_resources: (v) => (v as string[]).map(String),
  get_presence: (v) => {
    const p = v as Row;
    return { jid: p.jid, show: p.show, status: p.status };
  },
  get_roster: (v) =>
    (v as Row[]).map((i) => ({
      jid: i.jid,
      group: i.group,
      nick: i.nick,
      subscription: i.subscription,
      pending: i.ask ?? i.pending ?? 'none',
    })),
  get_roster_with_presence: (v) =>
    (v as Row[]).map((i) => ({
      jid: i.jid,
      resource: i.resource,
      group: i.group,
      nick: i.nick,
      subscription: i.subscription,
      pending: i.pending ?? i.ask ?? 'none',
      show: i.show,
      status: i.status,
    })),
};

/** The handler of one `request_handlers` path. */
export function ejabberd_xmlrpc(ctx: XmlRpcContext): HttpHandler {
  return (req, res) => {
    void handle(ctx, req, res).catch((e) => {
      ctx.log.error(`ejabberd_xmlrpc: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      if (!res.headersSent) send(res, 200, encode_fault(-100, 'Error -100\nInternal error'));
    });
  };
}

function send(res: ServerResponse, status: number, body: string, type = 'text/xml; charset=utf-8'): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

async function handle(ctx: XmlRpcContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const peer = peerIp(req);
  if (req.method !== 'POST') {
    req.resume();
    res.writeHead(405, { Allow: 'POST', 'Content-Type': 'text/plain' });
    res.end('XML-RPC calls are POST requests\n');
    return;
  }
  const body = await readBody(req, ctx.maxBodySize);
  if (body === 'aborted') return;
  if (body === 'too_large') {
    ctx.log.warning(`ejabberd_xmlrpc: ${peer} sent more than ${ctx.maxBodySize} bytes`);
    closeAfter(req, res);
    res.writeHead(413, { 'Content-Type': 'text/plain', Connection: 'close' });
    res.end(`Request body larger than ${ctx.maxBodySize} bytes\n`);
    return;
  }
  let call: ReturnType<typeof parse_method_call>;
  try {
    call = parse_method_call(body);
  } catch (e) {
    if (e instanceof XmlRpcDuplicateMember) {
      const fault = new Fault(-114, `Attribute '${e.member}' duplicated`);
      ctx.log.warning(`ejabberd_xmlrpc: ${peer}: ${fault.message.replace('\n', ': ')}`);
      send(res, 200, encode_fault(fault.code, fault.message));
      return;
    }
    if (!(e instanceof XmlRpcParseError)) throw e;
    ctx.log.warning(`ejabberd_xmlrpc: malformed request from ${peer}: ${e.message}`);
    send(res, 400, `Malformed Request: ${e.message}\n`, 'text/plain; charset=utf-8');
    return;
  }
  let answer: XmlRpcValue;
  try {
    answer = await run(ctx, call.method, call.params, { frontend: 'ejabberd_xmlrpc', ip: peer });
  } catch (e) {
    if (!(e instanceof Fault)) throw e;
    ctx.log.warning(`ejabberd_xmlrpc: ${call.method} from ${peer}: ${e.message.replace('\n', ': ')}`);
    send(res, 200, encode_fault(e.code, e.message));
    return;
  }
  let xml: string;
  try {
    xml = encode_response(answer);
  } catch (e) {
    // A value XML cannot carry (a control character stored in a status text, say).
    throw new Error(`${call.method}: the result cannot be encoded: ${String(e)}`);
  }
  send(res, 200, xml);
}

/** Auth struct, arguments, permission, execution: the answer of one call, or a Fault. */
async function run(
  ctx: XmlRpcContext,
  method: string,
  params: XmlRpcValue[],
  anonymous: Caller,
): Promise<XmlRpcValue> {
  const command = ctx.commands.get_command(method);
  if (command === undefined) throw new Fault(-112, `Unknown call: ${method}`);
  let rest = params;
  let caller = anonymous;
  const first = params[0];
  if (isAuth(first, command, params.length)) {
    caller = await authenticate(ctx, first, anonymous);
    rest = params.slice(1);
  }
  if (rest.length > 1 || (rest.length === 1 && !isStruct(rest[0])))
    throw new Fault(-112, `Unknown call: ${method} takes one struct of named arguments`);
  const args = rest.length === 0 ? {} : (rest[0] as XmlRpcStruct);
  const legacy = MOD_XMLRPC[method];
  let value: unknown;
  try {
    value = await ctx.commands.execute(method, args as Record<string, unknown>, caller);
  } catch (e) {
    if (!(e instanceof CommandError)) throw e;
    if (e instanceof ArgumentError) {
      if (e.problem === 'missing') throw new Fault(-116, `Required attribute '${e.argument}' not found`);
      if (e.problem === 'unknown')
        throw new Fault(-120, `The call provided additional unused arguments: ${e.message}`);
      throw new Fault(-122, `Parameter '${e.argument}' can't be coerced: ${e.message}`);
    }
    if (e.kind === 'forbidden')
      throw new Fault(
        -118,
        `A problem '{error,access_rules_unauthorized}' occurred executing the command ${method}: ${e.message}`,
      );
    if (e.kind === 'failed') ctx.log.error(`ejabberd_xmlrpc ${method}: ${e.message}`);
    if (legacy !== undefined && command.result.type === 'rescode') return ERROR_CODE[e.kind];
    if (command.result.type === 'restuple') return { res: 1, text: e.message };
    throw new Fault(-118, `A problem '${e.kind}' occurred executing the command ${method}: ${e.message}`);
  }
  if (legacy !== undefined) return legacy(value);
  if (command.result.type === 'restuple') return { res: 0, text: String(value ?? '') };
  return format_result(value, command.result);
}

/**
 * Whether the first parameter is ejabberd's auth struct rather than the arguments: a struct with
 * user, server and password (or token), followed by the arguments, or alone for a command that
 * takes no such arguments.
 */
function isAuth(first: XmlRpcValue | undefined, command: Command, count: number): first is XmlRpcStruct {
  if (!isStruct(first)) return false;
  if (typeof first.user !== 'string' || typeof first.server !== 'string') return false;
  if (typeof first.password !== 'string' && typeof first.token !== 'string') return false;
  return count >= 2 || !command.args.some(([n]) => n === 'password' || n === 'server');
}

async function authenticate(ctx: XmlRpcContext, auth: XmlRpcStruct, anonymous: Caller): Promise<Caller> {
  const user = auth.user as string;
  const server = auth.server as string;
  if (typeof auth.token === 'string') {
    const owner = token_user(ctx.config, auth.token);
    if (owner !== undefined && owner.luser === nodeprep(user) && owner.lserver === nameprep(server))
      return { ...anonymous, user: owner };
  } else {
    const account = await checkCredentials(ctx.config, ctx.auth, user, server, auth.password as string);
    if (account !== undefined) return { ...anonymous, user: account };
  }
  ctx.log.warning(`ejabberd_xmlrpc: authentication failed for ${user}@${server} from ${anonymous.ip}`);
  throw new Fault(-118, 'Invalid authentication data');
}
