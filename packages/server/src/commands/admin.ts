/**
 * The administrative commands (ejabberd's mod_admin_extra and ejabberd_admin), each working on the
 * server's own parts (auth, sm, router, storage) so its effect is real.
 */
import { randomBytes } from 'node:crypto';
import { nameprep, nodeprep, parse } from '@tsjabberd/jid';
import { cdata, element, type XmlElement } from '@tsjabberd/xml-stanza';
import { parse_element } from '@tsjabberd/xml-stream';
import { VERSION } from '../modules/mod_version.js';
import type { TsjabberdServer } from '../server.js';
import { type Command, CommandError, type ResultSpec, strings } from './ejabberd_commands.js';

const started = Date.now();

/** The ejabberd release whose command API (arguments, results, errors) these commands follow. */
export const EJABBERD_API = '23.01';

/** Now as ejabberd prints ONLINE and NOT FOUND times: `2026-11-21T23:37:50.464605Z`. */
function nowMicros(): string {
  return new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** The fields ejabberd reports of a session (user_sessions_info; connected_users_info adds the jid). */
const SESSION_INFO: ResultSpec[] = [
  { name: 'connection', type: 'string' },
  { name: 'ip', type: 'string' },
  { name: 'port', type: 'integer' },
  { name: 'priority', type: 'integer' },
  { name: 'node', type: 'string' },
  { name: 'uptime', type: 'integer' },
  { name: 'status', type: 'string' },
  { name: 'resource', type: 'string' },
  { name: 'statustext', type: 'string' },
];

export function admin_commands(server: TsjabberdServer): Command[] {
  const sm = server.node.ejabberd_sm;
  const auth = server.auth;
  const isHost = (host: string) => server.config.hosts.includes(nameprep(host));
  const needHost = (host: string) => {
    if (!isHost(host)) throw new CommandError(`Unknown virtual host: ${host}`);
  };
  const needUser = async (user: string, host: string) => {
    needHost(host);
    if (!(await auth.user_exists(user, host)))
      throw new CommandError(`User ${user}@${host} does not exist`, 'not_found', 0, 'unknown_user');
  };
  const sessions = () =>
    sm
      .dirty_get_sessions_list()
      .map((j) => sm.get_session(j.luser, j.lserver, j.lresource))
      .filter((s) => s !== undefined);
  const stat = (name: string, host?: string): Promise<number> | number => {
    const hosts = host === undefined ? server.config.hosts : [host];
    switch (name) {
      case 'registeredusers':
        return Promise.all(hosts.map((h) => auth.count_users(h))).then((n) => n.reduce((a, b) => a + b, 0));
      case 'onlineusers':
        return sessions().filter((s) => hosts.includes(s.jid.lserver)).length;
      case 'onlineusersnode':
        return sessions().filter((s) => hosts.includes(s.jid.lserver) && s.node === server.node.name).length;
      case 'uptimeseconds':
        if (host === undefined) return Math.floor((Date.now() - started) / 1000);
        break;
    }
    throw new CommandError(`Unknown statistic: ${name}`);
  };
  const sessionInfo = (s: NonNullable<ReturnType<typeof sessions>[number]>) => ({
    jid: s.jid.toString(),
    // ejabberd's names, which xmpp-backends parses: c2s, c2s_tls.
    connection: s.info.tls === true ? 'c2s_tls' : 'c2s',
    ip: String(s.info.ip ?? ''),
    port: Number(s.info.port ?? 0),
    priority: s.priority ?? 0,
    node: s.node,
    uptime: Math.floor((Date.now() - s.sid.time) / 1000),
    status: s.presence === undefined ? 'unavailable' : presenceText(s.presence, 'show') || 'available',
    resource: s.jid.resource,
    statustext: s.presence === undefined ? '' : presenceText(s.presence, 'status'),
  });

  return [
    {
      name: 'register',
      desc: 'Register a user',
      args: [
        ['user', 'binary'],
        ['host', 'binary'],
        ['password', 'binary'],
      ],
      result: { name: 'res', type: 'restuple' },
      policy: 'admin',
      changes: true,
      run: async ({ user, host, password }: { user: string; host: string; password: string }) => {
        needHost(host);
        const r = await auth.try_register(user, host, password);
        if (r === 'exists')
          throw new CommandError(`User ${user}@${host} already registered`, 'conflict', 10090);
        if (r === 'invalid')
          throw new CommandError(`Can't register user ${user}@${host}: invalid account`, 'invalid', 10001);
        return `User ${user}@${host} successfully registered`;
      },
    },
    {
      name: 'unregister',
      desc: 'Unregister a user',
      args: [
        ['user', 'binary'],
        ['host', 'binary'],
      ],
      result: { name: 'res', type: 'restuple' },
      policy: 'admin',
      changes: true,
      run: async ({ user, host }: { user: string; host: string }) => {
        needHost(host);
        for (const s of sm.get_user_sessions(nodeprep(user), nameprep(host)))
          s.process.kick?.('not-authorized', 'Account removed');
        await auth.remove_user(user, host);
        return '';
      },
    },
    {
      name: 'change_password',
      desc: 'Change the password of an account',
      args: [
        ['user', 'binary'],
        ['host', 'binary'],
        ['newpass', 'binary'],
      ],
      result: { name: 'res', type: 'rescode' },
      policy: 'admin',
      changes: true,
      run: async ({ user, host, newpass }: { user: string; host: string; newpass: string }) => {
        await needUser(user, host);
        if (newpass === '') throw new CommandError('The new password must not be empty', 'invalid', 10001);
        if (!(await auth.set_password(user, host, newpass)))
          throw new CommandError(`Can't change the password of ${user}@${host}`, 'failed');
        return true;
      },
    },
    {
      name: 'check_account',
      desc: 'Check if an account exists or not',
      args: [
        ['user', 'binary'],
        ['host', 'binary'],
      ],
      result: { name: 'res', type: 'rescode' },
      policy: 'admin',
      run: async ({ user, host }: { user: string; host: string }) => {
        return isHost(host) && (await auth.user_exists(user, host));
      },
    },
    {
      name: 'check_password',
      desc: 'Check if a password is correct',
      args: [
        ['user', 'binary'],
        ['host', 'binary'],
        ['password', 'binary'],
      ],
      result: { name: 'res', type: 'rescode' },
      policy: 'admin',
      run: async ({ user, host, password }: { user: string; host: string; password: string }) => {
        return isHost(host) && (await auth.check_password(user, host, password));
      },
    },
    {
      name: 'registered_users',
      desc: 'List all registered users in HOST',
      args: [['host', 'binary']],
      result: { name: 'users', type: 'list', element: { name: 'username', type: 'string' } },
      policy: 'admin',
      run: async ({ host }: { host: string }) => {
        needHost(host);
        return [...(await auth.get_users(host))].sort();
      },
    },
    {
      name: 'registered_vhosts',
      desc: 'List all registered vhosts in SERVER',
      args: [],
      result: { name: 'vhosts', type: 'list', element: { name: 'vhost', type: 'string' } },
      policy: 'admin',
      run: () => [...server.config.hosts],
    },
    {
      name: 'status',
      desc: 'Get status of the ejabberd server',
      args: [],
      result: { name: 'res', type: 'restuple' },
      policy: 'admin',
      // The last line names the ejabberd API level these commands follow: clients such as xmpp-backends
      // read the version before "is running in that node" to choose their behaviour.
      run: () =>
        `The node ${server.node.name} is started with status: started\n` +
        `tsjabberd ${VERSION} with the ejabberd API of ${EJABBERD_API} is running in that node`,
    },
    {
      name: 'stop',
      desc: 'Stop the server',
      args: [],
      result: { name: 'res', type: 'rescode' },
      policy: 'admin',
      changes: true,
      // The answer goes out first: ejabberdctl stop returns once the node has been told.
      run: () => {
        setTimeout(() => server.stopRequested('command stop'), 100);
        return true;
      },
    },
    {
      name: 'stats',
      desc: 'Get statistical value: registeredusers onlineusers onlineusersnode uptimeseconds',
      args: [['name', 'binary']],
      result: { name: 'stat', type: 'integer' },
      policy: 'admin',
      run: ({ name }: { name: string }) => stat(name),
    },
    {
      name: 'stats_host',
      desc: 'Get statistical value for this host: registeredusers onlineusers',
      args: [
        ['name', 'binary'],
        ['host', 'binary'],
      ],
      result: { name: 'stat', type: 'integer' },
      policy: 'admin',
      run: ({ name, host }: { name: string; host: string }) => {
        needHost(host);
        return stat(name, nameprep(host));
      },
    },
    {
      name: 'connected_users',
      desc: 'List all established sessions',
      args: [],
      result: { name: 'connected_users', type: 'list', element: { name: 'sessions', type: 'string' } },
      policy: 'admin',
      run: () =>
        sessions()
          .map((s) => s.jid.toString())
          .sort(),
    },
    {
      name: 'connected_users_number',
      desc: 'Get the number of established sessions',
      args: [],
      result: { name: 'num_sessions', type: 'integer' },
      policy: 'admin',
      run: () => sm.connected_users_number(),
    },
    {
      name: 'connected_users_info',
      desc: 'List all established sessions and their information',
      args: [],
      result: {
        name: 'connected_users_info',
        type: 'list',
        element: {
          name: 'session',
          type: 'tuple',
          elements: [{ name: 'jid', type: 'string' }, ...SESSION_INFO],
        },
      },
      policy: 'admin',
      run: () => sessions().map(sessionInfo),
    },
    {
      name: 'user_sessions_info',
      desc: 'Get information about all sessions of a user',
      args: [
        ['user', 'binary'],
        ['host', 'binary'],
      ],
      result: {
        name: 'sessions_info',
        type: 'list',
        element: { name: 'session', type: 'tuple', elements: SESSION_INFO },
      },
      policy: 'admin',
      run: ({ user, host }: { user: string; host: string }) =>
        sm.get_user_sessions(nodeprep(user), nameprep(host)).map(sessionInfo),
    },
    {
      name: 'get_resources',
      desc: 'Get all available resources for a given user',
      args: [
        ['user', 'binary'],
        ['host', 'binary'],
      ],
      // mod_xmlrpc's document names the host `server`.
      args_rename: { server: 'host' },
      result: { name: 'resources', type: 'list', element: { name: 'resource', type: 'string' } },
      policy: 'admin',
      run: ({ user, host }: { user: string; host: string }) =>
        sm.get_user_resources(nodeprep(user), nameprep(host)),
    },
    {
      name: 'kick_session',
      desc: 'Kick a user session',
      args: [
        ['user', 'binary'],
        ['host', 'binary'],
        ['resource', 'binary'],
        ['reason', 'binary'],
      ],
      result: { name: 'res', type: 'rescode' },
      policy: 'admin',
      changes: true,
      run: ({
        user,
        host,
        resource,
        reason,
      }: {
        user: string;
        host: string;
        resource: string;
        reason: string;
      }) => {
        const jid = jidArg('user', `${user}@${host}/${resource}`);
        const s = sm.get_session(jid.luser, jid.lserver, jid.lresource);
        // ejabberd answers 0 for a session that is not there: the caller wanted it gone, and it is.
        if (s === undefined) {
          server.log.info(`kick_session: no session ${jid.toString()} to kick`);
          return true;
        }
        if (s.process.kick === undefined)
          throw new CommandError(`The session ${jid.toString()} cannot be kicked`, 'failed');
        s.process.kick('policy-violation', reason);
        return true;
      },
    },
    {
      name: 'send_message',
      desc: 'Send a message to a local or remote bare of full JID',
      args: [
        ['type', 'binary'],
        ['from', 'binary'],
        ['to', 'binary'],
        ['subject', 'binary'],
        ['body', 'binary'],
      ],
      result: { name: 'res', type: 'rescode' },
      policy: 'admin',
      changes: true,
      run: ({ type, from, to, subject, body }: Record<string, string>) => {
        if (!['chat', 'normal', 'headline', 'groupchat'].includes(type))
          throw new CommandError(
            `send_message: type must be chat, normal, headline or groupchat, not ${type}`,
          );
        const fromJid = jidArg('from', from);
        const toJid = jidArg('to', to);
        const children: XmlElement[] = [];
        if (subject !== '') children.push(element('subject', [], [cdata(subject)]));
        children.push(element('body', [], [cdata(body)]));
        server.node.route(
          fromJid,
          toJid,
          element(
            'message',
            [
              ['type', type],
              ['from', fromJid.toString()],
              ['to', toJid.toString()],
            ],
            children,
          ),
        );
        return true;
      },
    },
    {
      name: 'send_stanza',
      desc: 'Send a stanza; provide From JID and valid To JID',
      args: [
        ['from', 'binary'],
        ['to', 'binary'],
        ['stanza', 'binary'],
      ],
      result: { name: 'res', type: 'rescode' },
      policy: 'admin',
      changes: true,
      run: ({ from, to, stanza }: Record<string, string>) => {
        const fromJid = jidArg('from', from);
        const toJid = jidArg('to', to);
        const el = parse_element(stanza);
        if (el[0] !== 'xmlelement') throw new CommandError('send_stanza: stanza is not valid XML');
        const attrs = el[2].filter(([k]) => k !== 'from' && k !== 'to');
        attrs.push(['from', fromJid.toString()], ['to', toJid.toString()]);
        server.node.route(fromJid, toJid, [el[0], el[1], attrs, el[3]]);
        return true;
      },
    },
    {
      name: 'get_last',
      desc: 'Get last activity information (timestamp and status)',
      args: [
        ['user', 'binary'],
        ['host', 'binary'],
      ],
      result: {
        name: 'last_activity',
        type: 'tuple',
        elements: strings('timestamp', 'status'),
      },
      policy: 'admin',
      // ejabberd >= 17.04: the status tells ONLINE, the stored logout (or "Registered but didn't login",
      // which mod_last stores at registration), or NOT FOUND for an account that does not exist; the
      // first and the last with the current time in microseconds, as ejabberd prints them.
      run: async ({ user, host }: { user: string; host: string }) => {
        needHost(host);
        const account = jidArg('user', `${user}@${host}`);
        if (sm.get_user_resources(account.luser, account.lserver).length > 0)
          return { timestamp: nowMicros(), status: 'ONLINE' };
        if (!(await auth.user_exists(account.luser, account.lserver)))
          return { timestamp: nowMicros(), status: 'NOT FOUND' };
        const last = await server.storage.last.get(account.luser, account.lserver);
        if (last === undefined) return { timestamp: nowMicros(), status: 'NOT FOUND' };
        return {
          timestamp: new Date(last.seconds * 1000).toISOString().replace(/\.\d+Z$/, 'Z'),
          status: last.status,
        };
      },
    },
    {
      name: 'set_last',
      desc: 'Set last activity information',
      args: [
        ['user', 'binary'],
        ['host', 'binary'],
        ['timestamp', 'integer'],
        ['status', 'binary'],
      ],
      result: { name: 'res', type: 'rescode' },
      policy: 'admin',
      changes: true,
      run: async ({
        user,
        host,
        timestamp,
        status,
      }: {
        user: string;
        host: string;
        timestamp: number;
        status: string;
      }) => {
        await needUser(user, host);
        await server.storage.last.set(nodeprep(user), nameprep(host), { seconds: timestamp, status });
        return true;
      },
    },
    {
      name: 'get_presence',
      desc: 'Retrieve the resource with highest priority, and its presence (show and status message)',
      args: [
        ['user', 'binary'],
        ['host', 'binary'],
      ],
      // mod_xmlrpc's document names the host `server`.
      args_rename: { server: 'host' },
      result: {
        name: 'presence',
        type: 'tuple',
        elements: strings('jid', 'show', 'status'),
      },
      policy: 'admin',
      run: ({ user, host }: { user: string; host: string }) => {
        needHost(host);
        const account = jidArg('user', `${user}@${host}`);
        const best = sm
          .get_user_sessions(account.luser, account.lserver)
          .filter((s) => s.priority !== undefined && s.presence !== undefined)
          .sort((a, b) => (b.priority ?? 0) - (a.priority ?? 0) || b.sid.time - a.sid.time)[0];
        if (best?.presence === undefined) return { jid: account.toString(), show: 'unavailable', status: '' };
        return {
          jid: best.jid.toString(),
          show: presenceText(best.presence, 'show') || 'available',
          status: presenceText(best.presence, 'status'),
        };
      },
    },
    {
      name: 'ban_account',
      desc: 'Ban an account: kick sessions and set random password',
      args: [
        ['user', 'binary'],
        ['host', 'binary'],
        ['reason', 'binary'],
      ],
      result: { name: 'res', type: 'rescode' },
      policy: 'admin',
      changes: true,
      run: async ({ user, host, reason }: { user: string; host: string; reason: string }) => {
        await needUser(user, host);
        await auth.set_password(user, host, randomBytes(24).toString('base64url'));
        for (const s of [...sm.get_user_sessions(nodeprep(user), nameprep(host))])
          s.process.kick?.('not-authorized', reason === '' ? 'Account banned' : reason);
        server.log.warning(`account ${user}@${host} banned: ${reason}`);
        return true;
      },
    },
  ];
}

/** `value` parsed as a JID; a CommandError (invalid) naming the argument otherwise. */
export function jidArg(name: string, value: string) {
  try {
    return parse(value);
  } catch {
    throw new CommandError(`argument ${name} is not a valid JID: ${value}`);
  }
}

/** The text of a presence's `show` or `status` child, '' when it has none. */
export function presenceText(presence: XmlElement, name: string): string {
  const child = presence[3].find((c): c is XmlElement => c[0] === 'xmlelement' && c[1] === name);
  return child === undefined ? '' : child[3].map((c) => (c[0] === 'xmlcdata' ? c[1] : '')).join('');
}
