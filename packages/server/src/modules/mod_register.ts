/**
 * mod_register (XEP-0077, In-Band Registration): creating an account before logging in, and, once
 * logged in, changing its password or removing it.
 *
 * Before authentication the c2s asks two hooks: `c2s_pre_auth_features` (the `<register/>` stream
 * feature) and `c2s_unauthenticated_iq` (an `<iq/>` received before SASL success; the answer is the
 * reply). After authentication the `jabber:iq:register` IQs reach the handler registered, as in
 * ejabberd, on both `ejabberd_local` (to the server's JID, what clients send) and `ejabberd_sm` (to a
 * user's bare JID); either way the request is about the sender's own account.
 *
 * Access (ejabberd's options, same names and defaults):
 * - `access` (all): who may register, checked against the JID being registered;
 * - `access_from` (none): which logged-in users may register further accounts;
 * - `access_remove` (all): who may remove their account in band;
 * - `registration_timeout` (600 s, or `infinity`): one registration per IP address in that time
 *   (a global option in ejabberd, a module option here);
 * - `password_strength` (0: no check): the minimum entropy of a new password, as ejabberd computes it.
 * Changing one's own password is not subject to `access`, as in ejabberd.
 */
import { type Jid, nodeprep } from '@tsjabberd/jid';
import {
  type GenModule,
  type Iq,
  type IqHandler,
  iq_error,
  iq_query_info,
  iq_result,
  iq_to_xml,
  type ModuleContext,
  type StanzaErrorCondition,
  stanza_error,
  sub_els,
} from '@tsjabberd/router';
import { get_tag_cdata, type XmlElement } from '@tsjabberd/xml-stanza';
import { saslprep } from '../auth/scram.js';
import { accessAllows } from '../config/acl.js';
import type { ServerEnv } from './env.js';

export const NS_REGISTER = 'jabber:iq:register';
export const NS_FEATURE_IQREGISTER = 'http://jabber.org/features/iq-register';

const INSTRUCTIONS = 'Choose a username and password to register with this server';

export interface ModRegisterOptions {
  access: string;
  access_from: string;
  access_remove: string;
  /** Seconds between two registrations from one IP address; `infinity`: no limit. */
  registration_timeout: number | 'infinity';
  password_strength: number;
}

function ruleName(value: unknown): string {
  if (typeof value !== 'string' || value === '')
    throw new Error(`expected the name of an access rule, got ${JSON.stringify(value)}`);
  return value;
}

/**
 * `ejabberd_auth:entropy/1`: the password's length (in bytes) times log2 of the size of the character
 * classes it uses (lowercase 26, uppercase 26, digits 9 (sic), other printable ASCII 33, anything
 * else 128).
 */
export function entropy(password: string): number {
  const bytes = Buffer.from(password, 'utf8');
  if (bytes.length === 0) return 0;
  let digit = 0;
  let printable = 0;
  let low = 0;
  let high = 0;
  let other = 0;
  for (const c of bytes) {
    if (c >= 0x61 && c <= 0x7a) low = 26;
    else if (c >= 0x30 && c <= 0x39) digit = 9;
    else if (c >= 0x41 && c <= 0x5a) high = 26;
    else if (c >= 33 && c <= 126) printable = 33;
    else other = 128;
  }
  return bytes.length * Math.log2(digit + printable + low + high + other);
}

/** The parts of a `<query xmlns='jabber:iq:register'/>` this module reads. */
interface RegisterQuery {
  username: string | undefined;
  password: string | undefined;
  remove: boolean;
}

function readQuery(query: XmlElement): RegisterQuery {
  const q: RegisterQuery = { username: undefined, password: undefined, remove: false };
  for (const child of query[3]) {
    if (child[0] !== 'xmlelement') continue;
    if (child[1] === 'username') q.username = get_tag_cdata(child);
    else if (child[1] === 'password') q.password = get_tag_cdata(child);
    else if (child[1] === 'remove') q.remove = true;
  }
  return q;
}

function el(name: string, children: XmlElement[] | string = []): XmlElement {
  return ['xmlelement', name, [], typeof children === 'string' ? [['xmlcdata', children]] : children];
}

/** The registration form: instructions, username (the user's when known), an empty password. */
function form(username: string, registered: boolean): XmlElement {
  const children: XmlElement[] = [];
  if (registered) children.push(el('registered'));
  children.push(el('instructions', INSTRUCTIONS), el('username', username), el('password'));
  return ['xmlelement', 'query', [['xmlns', NS_REGISTER]], children];
}

function fail(iq: Iq, condition: StanzaErrorCondition, text?: string): Iq {
  return iq_error(iq, stanza_error(condition, text));
}

/**
 * An error answer without the request when the request holds a password: XEP-0077 3.3 asks it of
 * password changes; registrations get the same (RFC 6120 8.3.1 makes including the payload optional),
 * so that no password travels back or reaches a log of stanzas.
 */
function scrub(request: Iq, reply: Iq): Iq;
function scrub(request: Iq, reply: Iq | 'ignore'): Iq | 'ignore';
function scrub(request: Iq, reply: Iq | 'ignore'): Iq | 'ignore' {
  if (reply === 'ignore' || reply.type !== 'error') return reply;
  if (readQuery(request.sub_el as XmlElement).password === undefined) return reply;
  return { ...reply, sub_el: sub_els(reply.sub_el).filter((e) => e[1] === 'error') };
}

/** `::ffff:10.0.0.1` (an IPv4 client on a dual-stack socket) logged as `10.0.0.1`. */
function showIp(ip: string | undefined): string {
  if (ip === undefined || ip === '') return 'an unknown address';
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

export function mod_register(env: ServerEnv): GenModule<ModRegisterOptions> {
  /**
   * ejabberd's `mod_register_ip` table: when each source (an IP address, or the bare JID of a logged-in
   * user registering another account) last registered. Shared by every host, as in ejabberd.
   */
  const lastRegistration = new Map<string, number>();

  /** `check_timeout/1`: false when `source` registered less than `timeout` seconds ago; else records it. */
  function checkTimeout(source: string | undefined, timeout: number | 'infinity'): boolean {
    if (source === undefined || timeout === 'infinity') return true;
    const now = Date.now();
    const horizon = now - timeout * 1000;
    // Map iteration is insertion order, and an entry is re-inserted when renewed: oldest first.
    for (const [key, at] of lastRegistration) {
      if (at > horizon) break;
      lastRegistration.delete(key);
    }
    if (lastRegistration.has(source)) return false;
    lastRegistration.set(source, now);
    return true;
  }

  /** `remove_timeout/1`: a registration that failed does not count. */
  function removeTimeout(source: string | undefined): void {
    if (source !== undefined) lastRegistration.delete(source);
  }

  /** Why a password cannot be used, or undefined when it can (`is_strong_password/2`). */
  function passwordProblem(
    password: string,
    opts: ModRegisterOptions,
  ): [StanzaErrorCondition, string] | undefined {
    const prepared = saslprep(password);
    if (prepared === '') return ['not-acceptable', 'Empty password'];
    if (prepared === 'error') return ['not-acceptable', 'The password contains unacceptable characters'];
    if (opts.password_strength > 0 && entropy(password) < opts.password_strength)
      return ['not-acceptable', 'The password is too weak'];
    return undefined;
  }

  /**
   * `try_register/5`: a new account `username@host`. `source` is what the rate limit counts (the IP
   * address; a logged-in user's bare JID), `via` what the log shows.
   */
  async function tryRegister(
    host: string,
    opts: ModRegisterOptions,
    iq: Iq,
    username: string,
    password: string,
    source: string | undefined,
    via: string,
    ctx: ModuleContext,
  ): Promise<Iq> {
    const luser = nodeprep(username);
    if (luser === 'error' || luser === '') return fail(iq, 'jid-malformed', 'Malformed username');
    const jid = `${luser}@${host}`;
    if (!accessAllows(env.config, opts.access, luser, host)) {
      ctx.log.info(`mod_register: registration of ${jid} from ${via} denied by access rule '${opts.access}'`);
      return fail(iq, 'forbidden', 'Access denied by service policy');
    }
    if (!checkTimeout(source, opts.registration_timeout)) {
      ctx.log.info(`mod_register: registration of ${jid} from ${via} refused: too soon after the last one`);
      return fail(iq, 'resource-constraint', 'Users are not allowed to register accounts so quickly');
    }
    const problem = passwordProblem(password, opts);
    if (problem !== undefined) {
      removeTimeout(source);
      return fail(iq, problem[0], problem[1]);
    }
    let outcome: 'ok' | 'exists' | 'invalid';
    try {
      outcome = await env.auth.try_register(luser, host, password);
    } catch (e) {
      removeTimeout(source);
      ctx.log.error(`mod_register: registering ${jid} failed: ${e instanceof Error ? e.message : String(e)}`);
      return fail(iq, 'internal-server-error', 'Database failure');
    }
    if (outcome === 'exists') {
      removeTimeout(source);
      return fail(iq, 'conflict', 'User already exists');
    }
    if (outcome === 'invalid') {
      removeTimeout(source);
      return fail(iq, 'not-acceptable', 'The password contains unacceptable characters');
    }
    ctx.log.info(`mod_register: the account ${jid} was registered from ${via}`);
    return iq_result(iq);
  }

  /** An IQ before authentication (`c2s_unauthenticated_packet` and `process_iq/2` with no `from`). */
  async function unauthenticated(
    host: string,
    opts: ModRegisterOptions,
    iq: Iq,
    ip: string,
    ctx: ModuleContext,
  ): Promise<Iq> {
    if (iq.type === 'get') return iq_result(iq, [form('', false)]);
    const q = readQuery(iq.sub_el as XmlElement);
    if (q.remove) return fail(iq, 'not-allowed', 'The query is only allowed from local users');
    if (q.username === undefined || q.password === undefined)
      return fail(iq, 'bad-request', 'A username and a password are required');
    return tryRegister(host, opts, iq, q.username, q.password, ip, `IP address ${showIp(ip)}`, ctx);
  }

  /** The IP address of the session `from` (a full JID), for the log. */
  function sessionIp(ctx: ModuleContext, from: Jid): string {
    const session = ctx.node.ejabberd_sm.get_session(from.luser, from.lserver, from.lresource);
    const ip = session?.info.ip;
    return showIp(typeof ip === 'string' ? ip : undefined);
  }

  /** Removes `luser@host`, answers `from` first, then ends every session of the account. */
  async function removeAccount(
    ctx: ModuleContext,
    from: Jid,
    to: Jid,
    iq: Iq,
    luser: string,
    host: string,
  ): Promise<Iq | 'ignore'> {
    const jid = `${luser}@${host}`;
    const ip = sessionIp(ctx, from);
    if (!(await env.auth.remove_user(luser, host))) {
      return fail(iq, 'item-not-found', 'No such account');
    }
    ctx.log.info(`mod_register: the account ${jid} was removed by ${from.toString()} from ${ip}`);
    // The result goes out before the stream closes, as ejabberd routes it before removing the user.
    ctx.route(to, from, iq_to_xml(iq_result(iq)));
    for (const session of [...ctx.node.ejabberd_sm.get_user_sessions(luser, host)]) {
      try {
        session.process.kick?.('not-authorized', 'Account removed');
      } catch (e) {
        ctx.log.error(
          `mod_register: ending the session of ${session.jid.toString()}: ${e instanceof Error ? e.message : String(e)}`,
        );
      }
    }
    return 'ignore';
  }

  /** `process_iq/1` for an authenticated sender. */
  function handler(host: string, opts: ModRegisterOptions, ctx: ModuleContext): IqHandler {
    const process: IqHandler = async (from, to, iq) => {
      const local = from.luser !== '' && from.lserver === host;
      if (iq.type === 'get') {
        if (!local) return iq_result(iq, [form('', false)]);
        const registered = await env.auth.user_exists(from.luser, host);
        return iq_result(iq, [form(from.user, registered)]);
      }
      if (!local) return fail(iq, 'not-allowed', 'The query is only allowed from local users');
      const q = readQuery(iq.sub_el as XmlElement);
      if (q.remove) {
        if (!accessAllows(env.config, opts.access_remove, from.luser, from.lserver))
          return fail(iq, 'forbidden', 'Access denied by service policy');
        if (q.username === undefined) return removeAccount(ctx, from, to, iq, from.luser, host);
        const luser = nodeprep(q.username);
        if (luser === 'error' || luser === '') return fail(iq, 'jid-malformed', 'Malformed username');
        if (luser === from.luser) return removeAccount(ctx, from, to, iq, luser, host);
        // Another account: only with its password (ejabberd's remove_user/3).
        if (q.password === undefined) return fail(iq, 'bad-request', "No 'password' found in this query");
        if (!(await env.auth.check_password(luser, host, q.password)))
          return fail(iq, 'not-authorized', 'Incorrect password');
        return removeAccount(ctx, from, to, iq, luser, host);
      }
      if (q.username === undefined || q.password === undefined)
        return fail(iq, 'bad-request', 'A username and a password are required');
      const luser = nodeprep(q.username);
      if (luser === 'error' || luser === '') return fail(iq, 'jid-malformed', 'Malformed username');
      if (luser !== from.luser) {
        // Registering a further account while logged in: `access_from` decides (none by default).
        if (!accessAllows(env.config, opts.access_from, from.luser, from.lserver))
          return fail(iq, 'forbidden', 'Access denied by service policy');
        const bare = `${from.luser}@${from.lserver}`;
        return tryRegister(host, opts, iq, q.username, q.password, bare, bare, ctx);
      }
      // The user's own account: a password change.
      if (q.password === '') return fail(iq, 'bad-request', 'Empty password');
      const problem = passwordProblem(q.password, opts);
      if (problem !== undefined) return fail(iq, problem[0], problem[1]);
      if (!(await env.auth.set_password(luser, host, q.password)))
        return fail(iq, 'not-allowed', 'Changing password is not allowed');
      ctx.log.info(`mod_register: ${luser}@${host} has changed password from ${sessionIp(ctx, from)}`);
      return iq_result(iq);
    };
    return async (from, to, iq) => scrub(iq, await process(from, to, iq));
  }

  return {
    name: 'mod_register',
    options: {
      access: { default: 'all', validate: ruleName },
      access_from: { default: 'none', validate: ruleName },
      access_remove: { default: 'all', validate: ruleName },
      registration_timeout: {
        default: 600,
        validate(value) {
          if (value === 'infinity' || value === 'unlimited') return 'infinity';
          if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0)
            throw new Error(
              `expected a positive number of seconds or infinity, got ${JSON.stringify(value)}`,
            );
          return value;
        },
      },
      password_strength: {
        default: 0,
        validate(value) {
          if (typeof value !== 'number' || !(value >= 0))
            throw new Error(`expected a number of bits, 0 or more, got ${JSON.stringify(value)}`);
          return value;
        },
      },
    },
    start(host, opts, ctx) {
      for (const key of ['access', 'access_from', 'access_remove'] as const) {
        const rule = opts[key];
        if (rule !== 'all' && rule !== 'none' && !Object.hasOwn(env.config.access_rules, rule))
          throw new Error(`option '${key}': no access rule '${rule}' in access_rules`);
      }
      const process = handler(host, opts, ctx);
      const feature: XmlElement = ['xmlelement', 'register', [['xmlns', NS_FEATURE_IQREGISTER]], []];
      return {
        hooks: [
          [
            'c2s_pre_auth_features',
            (acc: XmlElement[]) => (opts.access === 'none' ? acc : [...acc, feature]),
            50,
          ],
          [
            'c2s_unauthenticated_iq',
            (acc: unknown, _host: string, packet: XmlElement, ip: string) => {
              if (acc !== 'empty') return acc;
              const iq = iq_query_info(packet);
              if (typeof iq === 'string' || iq.xmlns !== NS_REGISTER) return acc;
              return unauthenticated(host, opts, iq, ip, ctx).then((reply) => iq_to_xml(scrub(iq, reply)));
            },
            50,
          ],
        ],
        iq_handlers: [
          ['ejabberd_local', NS_REGISTER, process],
          ['ejabberd_sm', NS_REGISTER, process],
        ],
      };
    },
  };
}
