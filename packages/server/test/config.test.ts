import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { accessAllows, matchAcl, shaperFor } from '../src/config/acl.js';
import { defaultConfig, httpListenerDefaults } from '../src/config/defaults.js';
import { ConfigError, loadConfig, parseConfig } from '../src/config/load.js';
import type { ServerConfig } from '../src/config/types.js';

const EXAMPLE = fileURLToPath(new URL('../tsjabberd.example.yml', import.meta.url));

/** The ConfigError `parseConfig(text)` throws (source `tsjabberd.yml`). */
function configError(text: string): ConfigError {
  try {
    parseConfig(text, 'tsjabberd.yml');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

function expectError(text: string, key: string, line: number, column: number, reason: string | RegExp): void {
  const err = configError(text);
  expect({ key: err.key, line: err.line, column: err.column }).toEqual({ key, line, column });
  if (typeof reason === 'string') expect(err.reason).toBe(reason);
  else expect(err.reason).toMatch(reason);
  expect(err.message).toBe(`tsjabberd.yml:${line}:${column}: ${key === '' ? '' : `${key}: `}${err.reason}`);
}

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

describe('embedded defaults', () => {
  it('loadConfig() without a path is the embedded configuration', async () => {
    const config = await loadConfig();
    expect(config).toEqual(defaultConfig());
    expect(config.source).toBeUndefined();
    expect(config.hosts).toEqual(['localhost']);
    expect(config.loglevel).toBe('info');
    expect(config.certfiles).toEqual([]);
    expect(config.data_dir).toBe('./data');
    expect(config.auth_method).toBe('internal');
    expect(config.auth_password_format).toBe('scram');
    expect(Object.keys(config.modules).sort()).toEqual([
      'mod_announce',
      'mod_blocking',
      'mod_disco',
      'mod_last',
      'mod_offline',
      'mod_ping',
      'mod_private',
      'mod_roster',
      'mod_vcard',
      'mod_version',
    ]);
    expect(config.modules.mod_roster).toEqual({ versioning: true });
  });

  it('one c2s listener on [::]:5222 with STARTTLS offered, shaped by c2s_shaper, access c2s', async () => {
    const [c2s, ...others] = (await loadConfig()).listen;
    expect(others).toEqual([]);
    expect(c2s).toEqual({
      port: 5222,
      ip: '::',
      module: 'ejabberd_c2s',
      tls: false,
      starttls: true,
      starttls_required: false,
      max_stanza_size: 262144,
      shaper: 'c2s_shaper',
      access: 'c2s',
      max_fsm_queue: 10000,
      allow_unencrypted_plain: false,
      negotiation_timeout: 30,
    });
  });

  it('c2s_shaper is the normal shaper (3000 B/s, 20000-byte burst) for everybody; c2s allows all', async () => {
    const config = await loadConfig();
    expect(config.shaper.normal).toEqual({ rate: 3000, burst_size: 20000 });
    expect(config.shaper_rules).toEqual({ c2s_shaper: [['normal', 'all']] });
    expect(config.access_rules).toEqual({ c2s: [['allow', 'all']], announce: [['allow', 'admin']] });
    expect(shaperFor(config, 'c2s_shaper', 'alice', 'localhost')).toEqual({ rate: 3000, burst_size: 20000 });
    expect(accessAllows(config, 'c2s', 'alice', 'localhost')).toBe(true);
  });

  it('each call returns a fresh object', () => {
    const a = defaultConfig();
    a.hosts.push('example.org');
    a.listen[0].port = 1;
    expect(defaultConfig().hosts).toEqual(['localhost']);
    expect(defaultConfig().listen[0].port).toBe(5222);
  });

  it('an empty file, or one with only comments, is the defaults', () => {
    expect(parseConfig('')).toEqual(defaultConfig());
    expect(parseConfig('# nothing here\n', 'x.yml')).toEqual({ ...defaultConfig(), source: 'x.yml' });
  });

  it('options left out of a file keep their defaults; the ones given replace them', () => {
    const config = parseConfig('hosts: [Example.ORG, chat.example.org]\nloglevel: debug\n');
    expect(config.hosts).toEqual(['example.org', 'chat.example.org']);
    expect(config.loglevel).toBe('debug');
    expect(config.listen).toEqual(defaultConfig().listen);
    expect(config.shaper_rules).toEqual(defaultConfig().shaper_rules);
  });

  it('top-level max_stanza_size, max_fsm_queue and negotiation_timeout are defaults for listeners', () => {
    const noListen = parseConfig('max_stanza_size: 65536\nmax_fsm_queue: 500\nnegotiation_timeout: 5\n');
    expect(noListen.listen[0]).toMatchObject({
      max_stanza_size: 65536,
      max_fsm_queue: 500,
      negotiation_timeout: 5,
    });
    const config = parseConfig(
      [
        'max_stanza_size: 65536',
        'negotiation_timeout: 2.5',
        'listen:',
        '  - port: 5222',
        '    module: ejabberd_c2s',
        '  - port: 5223',
        '    module: ejabberd_c2s',
        '    tls: true',
        '    max_stanza_size: infinity',
      ].join('\n'),
    );
    expect(config.listen.map((l) => l.max_stanza_size)).toEqual([65536, Number.POSITIVE_INFINITY]);
    expect(config.listen.map((l) => l.negotiation_timeout)).toEqual([2.5, 2.5]);
    expect(config.listen.map((l) => l.max_fsm_queue)).toEqual([10000, 10000]);
  });

  it('a listener written in the file takes ejabberd defaults: shaper none, access all, STARTTLS offered', () => {
    const [l] = parseConfig('listen:\n  - port: 5333\n    module: ejabberd_c2s\n').listen;
    expect(l).toMatchObject({
      port: 5333,
      ip: '::',
      shaper: 'none',
      access: 'all',
      starttls: true,
      tls: false,
    });
  });

  it('starttls_required implies starttls; tls: true turns STARTTLS off', () => {
    const config = parseConfig(
      'listen:\n  - {port: 5222, module: ejabberd_c2s, starttls_required: true}\n  - {port: 5223, module: ejabberd_c2s, tls: true}\n',
    );
    expect(config.listen[0]).toMatchObject({ starttls: true, starttls_required: true, tls: false });
    expect(config.listen[1]).toMatchObject({ starttls: false, starttls_required: false, tls: true });
  });
});

describe('the example file', () => {
  it('loads, with every option it shows', async () => {
    const config = await loadConfig(EXAMPLE);
    expect(config.source).toBe(EXAMPLE);
    expect(config.hosts).toEqual(['localhost']);
    expect(config.listen).toEqual(defaultConfig().listen);
    expect(config.acl).toEqual({
      admin: { user: ['admin@localhost'] },
      loopback: { ip: ['127.0.0.0/8', '::1/128'] },
      blocked: { user: [] },
    });
    expect(config.api_permissions).toEqual(defaultConfig().api_permissions);
    expect(config.api_tokens).toEqual([]);
    expect(config.access_rules).toEqual({
      c2s: [
        ['deny', 'blocked'],
        ['allow', 'all'],
      ],
      announce: [['allow', 'admin']],
    });
    expect(config.shaper_rules).toEqual({
      c2s_shaper: [
        ['none', 'admin'],
        ['normal', 'all'],
      ],
    });
    expect(config.shaper).toEqual(defaultConfig().shaper);
    const { acl, access_rules, shaper_rules, source, ...rest } = config;
    const { acl: _a, access_rules: _r, shaper_rules: _s, ...defaults } = defaultConfig();
    expect(rest).toEqual(defaults);
  });

  it('its admin is unshaped, everybody else gets the normal shaper', async () => {
    const config = await loadConfig(EXAMPLE);
    expect(shaperFor(config, 'c2s_shaper', 'admin', 'localhost')).toBeUndefined();
    expect(shaperFor(config, 'c2s_shaper', 'alice', 'localhost')).toEqual({ rate: 3000, burst_size: 20000 });
  });

  it('loadConfig reads a file from disk and names it in errors', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tsjabberd-config-'));
    dirs.push(dir);
    const file = join(dir, 'tsjabberd.yml');
    await writeFile(file, 'hosts:\n  - example.org\nlisten:\n  - port: abc\n    module: ejabberd_c2s\n');
    await expect(loadConfig(file)).rejects.toThrow(
      `${file}:4:11: listen[0].port: expected a port number (1-65535), got "abc"`,
    );
    await writeFile(file, 'hosts:\n  - example.org\n');
    expect((await loadConfig(file)).hosts).toEqual(['example.org']);
  });

  it('a config file that does not exist is an error naming it', async () => {
    const file = join(tmpdir(), 'tsjabberd-no-such-dir', 'tsjabberd.yml');
    const err = await loadConfig(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err).toMatchObject({ source: file, key: '', line: 0, column: 0 });
    expect((err as Error).message).toMatch(new RegExp(`^${file}: cannot read the config file: ENOENT`));
  });
});

describe('validation errors name the option, line and column', () => {
  it('the message reads file:line:column: key: reason', () => {
    const err = configError(
      'hosts:\n  - localhost\nlisten:\n  -\n    port: 5222\n    module: ejabberd_c2s\n  - port: "abc"\n    module: ejabberd_c2s\n',
    );
    expect(err.message).toBe(
      'tsjabberd.yml:7:11: listen[1].port: expected a port number (1-65535), got "abc"',
    );
    expect(err).toMatchObject({ key: 'listen[1].port', line: 7, column: 11, source: 'tsjabberd.yml' });
  });

  it('without a source, <config> stands for the file', () => {
    expect(() => parseConfig('foo: 1\n')).toThrow(/^<config>:1:1: foo: unknown option "foo"/);
  });

  it('unknown top-level option, with a suggestion for a typo', () => {
    expectError(
      'hosts: [localhost]\nlistne: []\n',
      'listne',
      2,
      1,
      'unknown option "listne" (did you mean "listen"?)',
    );
    expectError(
      '\n\nsql_type: pgsql\n',
      'sql_type',
      3,
      1,
      /^unknown option "sql_type"; known options: hosts, loglevel/,
    );
  });

  it('ejabberd\'s old "access" section is refused with a pointer to access_rules', () => {
    expectError('access:\n  c2s:\n    all: allow\n', 'access', 1, 1, /use access_rules and shaper_rules/);
  });

  it('unknown listener option', () => {
    expectError(
      'listen:\n  - port: 5222\n    module: ejabberd_c2s\n    protocol_options: [no_sslv3]\n',
      'listen[0].protocol_options',
      4,
      5,
      /^unknown option "protocol_options"; known options: port, ip, module/,
    );
    expectError(
      'listen:\n  - port: 5222\n    module: ejabberd_c2s\n    starttls_requird: true\n',
      'listen[0].starttls_requird',
      4,
      5,
      'unknown option "starttls_requird" (did you mean "starttls_required"?)',
    );
  });

  it('bad ports: not a number, out of range, missing, used twice', () => {
    const listen = (port: string) => `listen:\n  - module: ejabberd_c2s\n    port: ${port}\n`;
    const reason = (got: string) => `expected a port number (1-65535), got ${got}`;
    expectError(listen('abc'), 'listen[0].port', 3, 11, reason('"abc"'));
    expectError(listen('0'), 'listen[0].port', 3, 11, reason('0'));
    expectError(listen('65536'), 'listen[0].port', 3, 11, reason('65536'));
    expectError(listen('52.22'), 'listen[0].port', 3, 11, reason('52.22'));
    expectError(listen(''), 'listen[0].port', 3, 11, reason('nothing'));
    expectError('listen:\n  - module: ejabberd_c2s\n', 'listen[0]', 2, 5, 'missing port');
    expectError(
      'listen:\n  - {port: 5222, module: ejabberd_c2s}\n  - {port: 5222, module: ejabberd_c2s, ip: 127.0.0.1}\n',
      'listen[1].port',
      3,
      12,
      '127.0.0.1 port 5222 is already used by listen[0]',
    );
  });

  it('other listener values', () => {
    const listener = (extra: string) => `listen:\n  - port: 5222\n    module: ejabberd_c2s\n    ${extra}\n`;
    expectError(listener('ip: localhost'), 'listen[0].ip', 4, 9, /^expected an IP address/);
    expectError(listener('tls: yes'), 'listen[0].tls', 4, 10, 'expected true or false, got "yes"');
    expectError(listener('max_stanza_size: -1'), 'listen[0].max_stanza_size', 4, 22, /got -1$/);
    expectError(listener('negotiation_timeout: 0'), 'listen[0].negotiation_timeout', 4, 26, /seconds/);
    expectError(
      listener('starttls: false\n    starttls_required: true'),
      'listen[0].starttls',
      4,
      15,
      'cannot be false when starttls_required is true',
    );
    expectError(
      listener('tls: true\n    starttls_required: true'),
      'listen[0].starttls_required',
      5,
      24,
      /tls: true/,
    );
    expectError(
      'listen:\n  - port: 5269\n    module: ejabberd_s2s_in\n',
      'listen[0].module',
      3,
      13,
      'only ejabberd_c2s, ejabberd_service, ejabberd_http and ejabberd_xmlrpc are supported so far, got "ejabberd_s2s_in"',
    );
    expectError('listen:\n  - port: 5222\n', 'listen[0]', 2, 5, 'missing module (ejabberd_c2s)');
    expectError('listen: {port: 5222}\n', 'listen', 1, 9, 'expected a list of listeners, got a mapping');
  });

  it('bad hosts', () => {
    expectError(
      'hosts:\n  - localhost\n  - "bad host"\n',
      'hosts[1]',
      3,
      5,
      '"bad host" is not a valid domain name',
    );
    expectError('hosts:\n  - "a..b"\n', 'hosts[0]', 2, 5, '"a..b" is not a valid domain name');
    expectError('hosts: []\n', 'hosts', 1, 8, 'expected at least one host');
    expectError('hosts: localhost\n', 'hosts', 1, 8, /^expected a list of domain names/);
    expectError('hosts: [a.org, A.org]\n', 'hosts[1]', 1, 16, 'host "a.org" is listed twice');
  });

  it('a shaper rule naming an undefined shaper', () => {
    expectError(
      'shaper:\n  normal: 1000\nshaper_rules:\n  c2s_shaper:\n    - none: admin\n    - slow\n',
      'shaper_rules.c2s_shaper[0]',
      5,
      13,
      'acl "admin" is not defined (define it under acl:, or use all or none)',
    );
    expectError(
      'shaper:\n  normal: 1000\nshaper_rules:\n  c2s_shaper:\n    - normal: all\n    - slow\n',
      'shaper_rules.c2s_shaper[1]',
      6,
      7,
      'shaper "slow" is not defined (define it under shaper:, or use none)',
    );
    expectError(
      'shaper_rules:\n  c2s_shaper: {turbo: all}\n',
      'shaper_rules.c2s_shaper',
      2,
      16,
      'shaper "turbo" is not defined (define it under shaper:, or use none)',
    );
  });

  it('an access rule naming an undefined acl, or with a verdict other than allow/deny', () => {
    expectError(
      'access_rules:\n  c2s:\n    - deny: blocked\n    - allow\n',
      'access_rules.c2s[0]',
      3,
      13,
      'acl "blocked" is not defined (define it under acl:, or use all or none)',
    );
    expectError(
      'access_rules:\n  c2s:\n    maybe: all\n',
      'access_rules.c2s',
      3,
      5,
      'expected allow or deny, got "maybe"',
    );
  });

  it('a listener naming an undefined shaper or access rule', () => {
    const listener = (extra: string) => `listen:\n  - port: 5222\n    module: ejabberd_c2s\n    ${extra}\n`;
    expectError(
      listener('shaper: c2s_shapr'),
      'listen[0].shaper',
      4,
      13,
      '"c2s_shapr" is neither a shaper_rules entry nor a shaper (nor none)',
    );
    expectError(
      listener('access: c2'),
      'listen[0].access',
      4,
      13,
      'access rule "c2" is not defined (define it under access_rules:, or use all)',
    );
    expectError(
      `shaper_rules:\n  max_user_sessions: 10\n${listener('shaper: max_user_sessions')}`,
      'listen[0].shaper',
      6,
      13,
      'shaper_rules.max_user_sessions holds numbers (10), not shapers',
    );
  });

  it('sections that break the default listener or the default shaper_rules say so', () => {
    expectError(
      'shaper_rules:\n  s2s_shaper: fast\n',
      'shaper_rules',
      1,
      1,
      /^the default listener uses shaper c2s_shaper: "c2s_shaper" is neither/,
    );
    expectError('access_rules: {}\n', 'access_rules', 1, 1, /^the default listener uses access c2s:/);
    expectError(
      'shaper:\n  slow: 100\n',
      'shaper',
      1,
      1,
      /^the default shaper_rules.c2s_shaper uses shaper "normal"/,
    );
  });

  it('bad shapers', () => {
    expectError('shaper:\n  normal: fast\n', 'shaper.normal', 2, 11, /^expected a rate in bytes per second/);
    expectError('shaper:\n  normal: {rate: 0}\n', 'shaper.normal.rate', 2, 18, /got 0$/);
    expectError(
      'shaper:\n  normal: {burst_size: 10}\n',
      'shaper.normal',
      2,
      11,
      'missing rate (bytes per second)',
    );
    expectError(
      'shaper:\n  normal: {rate: 10, burst: 100}\n',
      'shaper.normal.burst',
      2,
      22,
      'unknown option "burst" (did you mean "burst_size"?)',
    );
    expectError('shaper:\n  none: 10\n', 'shaper.none', 2, 3, /built in/);
  });

  it('bad acls', () => {
    expectError(
      'acl:\n  local:\n    resource_regexp: ""\n',
      'acl.local.resource_regexp',
      3,
      5,
      /not supported yet/,
    );
    expectError(
      'acl:\n  bad:\n    user_regexp: "(unclosed"\n',
      'acl.bad.user_regexp',
      3,
      18,
      /not a valid regular expression/,
    );
    expectError(
      'acl:\n  bad:\n    node_regexp: "^a"\n',
      'acl.bad.node_regexp',
      3,
      18,
      /user pattern: server pattern/,
    );
    expectError(
      'acl:\n  admin:\n    user: ["bad user@localhost"]\n',
      'acl.admin.user',
      3,
      12,
      /not a valid user/,
    );
    expectError('acl:\n  all: all\n', 'acl.all', 2, 3, /built in/);
  });

  it('auth_method, auth_password_format, loglevel, modules', () => {
    expectError('auth_method: ldap\n', 'auth_method', 1, 14, 'expected internal or external, got "ldap"');
    expectError('auth_method: [internal, sql]\n', 'auth_method', 1, 25, /got "sql"/);
    expectError('auth_password_format: plain\n', 'auth_password_format', 1, 23, /only scram/);
    expectError(
      'loglevel: verbose\n',
      'loglevel',
      1,
      11,
      'expected debug, info, warning or error, got "verbose"',
    );
    expectError('modules:\n  mod_ping: true\n', 'modules.mod_ping', 2, 13, /^expected a mapping of options/);
    expectError('modules: [mod_ping]\n', 'modules', 1, 10, /^expected a mapping of module names/);
  });

  it('auth_method: external and the extauth options', () => {
    expectError('auth_method: external\n', 'auth_method', 1, 1, /external needs extauth_program/);
    expectError(
      'auth_method: [internal, external]\n',
      'auth_method',
      1,
      25,
      /only one authentication method/,
    );
    expectError('extauth_program: 42\n', 'extauth_program', 1, 18, /expected a command line/);
    expectError('extauth_program: "  "\n', 'extauth_program', 1, 18, /expected a command line/);
    expectError('extauth_pool_size: 0\n', 'extauth_pool_size', 1, 20, 'expected a positive integer, got 0');
    expectError('extauth_pool_size: 1.5\n', 'extauth_pool_size', 1, 20, /expected a positive integer/);
    expectError('extauth_timeout: 0\n', 'extauth_timeout', 1, 18, /expected seconds/);
    expectError('extauth_timeout: soon\n', 'extauth_timeout', 1, 18, /expected seconds/);
  });

  it('YAML syntax errors carry a line and column too', () => {
    const err = configError('hosts:\n  - localhost\nlisten:\n  - port: [5222\n');
    expect(err.key).toBe('');
    expect(err.line).toBeGreaterThanOrEqual(4);
    expect(err.message).toMatch(/^tsjabberd\.yml:\d+:\d+: YAML syntax error: /);
    expectError('hosts: [localhost]\nloglevel: info\n  bad: indent\n', '', 2, 11, /^YAML syntax error: /);
    expectError(
      'hosts: [localhost]\nloglevel: info\nloglevel: debug\n',
      '',
      3,
      1,
      'YAML syntax error: an option is given twice (map keys must be unique)',
    );
    expectError('- hosts\n', '', 1, 1, 'expected a mapping of options (hosts, listen, ...), got a list');
  });
});

describe('config values', () => {
  it('auth_method: external with extauth_program, extauth_pool_size and extauth_timeout', () => {
    const config = parseConfig(
      'auth_method: external\nextauth_program: /usr/bin/python3 /etc/auth.py\nextauth_pool_size: 3\nextauth_timeout: 2.5\n',
    );
    expect(config.auth_method).toBe('external');
    expect(config.extauth_program).toBe('/usr/bin/python3 /etc/auth.py');
    expect(config.extauth_pool_size).toBe(3);
    expect(config.extauth_timeout).toBe(2.5);
    const defaults = parseConfig('auth_method: [external]\nextauth_program: auth\n');
    expect(defaults.extauth_pool_size).toBe(1);
    expect(defaults.extauth_timeout).toBe(10);
    expect(parseConfig('auth_method: internal\n').auth_method).toBe('internal');
  });

  it("ejabberd's rule spellings: scalar, mapping, list with bare heads, lists of acls", () => {
    const config = parseConfig(
      [
        'acl:',
        '  admin: {user: [Admin@Localhost, root]}',
        '  friends: {server: Example.ORG}',
        '  everybody: all',
        '  nobody: none',
        'access_rules:',
        '  c2s: allow',
        '  staff: {deny: nobody, allow: [admin, friends]}',
        '  register:',
        '    - deny: [admin]',
        '    - allow',
        'shaper_rules:',
        '  c2s_shaper: normal',
        '  max_user_offline_messages:',
        '    - 5000: admin',
        '    - 100',
        '  max_user_sessions: infinity',
      ].join('\n'),
    );
    expect(config.acl).toEqual({
      admin: { user: ['admin@localhost', 'root'] },
      friends: { server: ['example.org'] },
      everybody: { all: true },
      nobody: {},
      loopback: { ip: ['127.0.0.0/8', '::1/128'] },
    });
    expect(config.access_rules).toEqual({
      c2s: [['allow', 'all']],
      staff: [
        ['deny', 'nobody'],
        ['allow', 'admin'],
        ['allow', 'friends'],
      ],
      register: [
        ['deny', 'admin'],
        ['allow', 'all'],
      ],
    });
    expect(config.shaper_rules).toEqual({
      c2s_shaper: [['normal', 'all']],
      max_user_offline_messages: [
        ['5000', 'admin'],
        ['100', 'all'],
      ],
      max_user_sessions: [['infinity', 'all']],
    });
  });

  it('modules keep their options as plain values; YAML anchors and aliases resolve', () => {
    const config = parseConfig(
      [
        'modules:',
        '  mod_ping: &ping {send_pings: true, ping_interval: 60, timeout_action: kill}',
        '  mod_echo:',
        '  mod_muc:',
        '    access_create: muc_create',
        '    default_room_options: {persistent: true, members: [a, b]}',
        '  mod_ping_copy: *ping',
        'acl:',
        '  admin: {user: &admins [root, Boss@localhost]}',
        '  moderators: {user: *admins}',
      ].join('\n'),
    );
    expect(config.modules).toEqual({
      mod_ping: { send_pings: true, ping_interval: 60, timeout_action: 'kill' },
      mod_echo: {},
      mod_muc: {
        access_create: 'muc_create',
        default_room_options: { persistent: true, members: ['a', 'b'] },
      },
      mod_ping_copy: { send_pings: true, ping_interval: 60, timeout_action: 'kill' },
    });
    expect(config.acl.moderators).toEqual({ user: ['root', 'boss@localhost'] });
  });

  it('YAML merge keys are refused by name', () => {
    expectError(
      'listen:\n  - &c2s {port: 5222, module: ejabberd_c2s}\n  - {<<: *c2s, port: 5223}\n',
      'listen[1]',
      3,
      6,
      'YAML merge keys (<<) are not supported; repeat the options',
    );
  });

  it('loglevel accepts ejabberd names and numbers', () => {
    expect(parseConfig('loglevel: 5').loglevel).toBe('debug');
    expect(parseConfig('loglevel: notice').loglevel).toBe('info');
    expect(parseConfig('loglevel: critical').loglevel).toBe('error');
  });

  it('auth_method may be a one-item list, as in ejabberd', () => {
    expect(parseConfig('auth_method: [internal]\n').auth_method).toBe('internal');
  });

  it('certfiles and data_dir are kept as written', () => {
    const config = parseConfig('certfiles:\n  - /etc/ssl/a.pem\n  - b.pem\ndata_dir: /var/lib/tsjabberd\n');
    expect(config.certfiles).toEqual(['/etc/ssl/a.pem', 'b.pem']);
    expect(config.data_dir).toBe('/var/lib/tsjabberd');
  });
});

describe('acl, access and shaper matching', () => {
  const config: ServerConfig = parseConfig(
    [
      'hosts: [a.test, b.test]',
      'shaper:',
      '  normal: {rate: 1000, burst_size: 5000}',
      '  fast: 50000',
      'acl:',
      '  admin: {user: [root@a.test]}',
      '  bob_anywhere: {user: bob}',
      '  remote: {server: remote.test}',
      '  blocked: {user: [mallory@a.test]}',
      '  everybody: all',
      'access_rules:',
      '  c2s:',
      '    - deny: blocked',
      '    - allow: all',
      '  admins_only: {allow: admin}',
      '  denied_first:',
      '    - deny: everybody',
      '    - allow: admin',
      'shaper_rules:',
      '  c2s_shaper:',
      '    - none: admin',
      '    - fast: remote',
      '    - normal',
      '  admins_fast: {fast: admin}',
    ].join('\n'),
  );

  it('matchAcl: user@host, user on any served host, server, all, none, undefined', () => {
    expect(matchAcl(config, 'admin', 'root', 'a.test')).toBe(true);
    expect(matchAcl(config, 'admin', 'root', 'b.test')).toBe(false);
    expect(matchAcl(config, 'bob_anywhere', 'bob', 'a.test')).toBe(true);
    expect(matchAcl(config, 'bob_anywhere', 'bob', 'b.test')).toBe(true);
    expect(matchAcl(config, 'bob_anywhere', 'bob', 'elsewhere.test')).toBe(false);
    expect(matchAcl(config, 'bob_anywhere', 'alice', 'a.test')).toBe(false);
    expect(matchAcl(config, 'remote', 'anyone', 'remote.test')).toBe(true);
    expect(matchAcl(config, 'remote', '', 'remote.test')).toBe(true);
    expect(matchAcl(config, 'everybody', 'x', 'y.test')).toBe(true);
    expect(matchAcl(config, 'all', 'x', 'y.test')).toBe(true);
    expect(matchAcl(config, 'none', 'root', 'a.test')).toBe(false);
    expect(matchAcl(config, 'undefined_acl', 'root', 'a.test')).toBe(false);
    expect(matchAcl(config, 'constructor', 'root', 'a.test')).toBe(false);
  });

  it('accessAllows: the first matching rule decides, no match denies, all/none built in', () => {
    expect(accessAllows(config, 'c2s', 'alice', 'a.test')).toBe(true);
    expect(accessAllows(config, 'c2s', 'mallory', 'a.test')).toBe(false);
    expect(accessAllows(config, 'c2s', 'mallory', 'b.test')).toBe(true);
    expect(accessAllows(config, 'admins_only', 'root', 'a.test')).toBe(true);
    expect(accessAllows(config, 'admins_only', 'alice', 'a.test')).toBe(false);
    expect(accessAllows(config, 'denied_first', 'root', 'a.test')).toBe(false);
    expect(accessAllows(config, 'all', 'anyone', 'a.test')).toBe(true);
    expect(accessAllows(config, 'none', 'root', 'a.test')).toBe(false);
    expect(accessAllows(config, 'no_such_rule', 'root', 'a.test')).toBe(false);
    expect(accessAllows(config, 'toString', 'root', 'a.test')).toBe(false);
  });

  it('shaperFor: the first matching shaper rule; none, no match or unknown means unlimited', () => {
    expect(shaperFor(config, 'c2s_shaper', 'root', 'a.test')).toBeUndefined();
    expect(shaperFor(config, 'c2s_shaper', 'x', 'remote.test')).toEqual({ rate: 50000, burst_size: 50000 });
    expect(shaperFor(config, 'c2s_shaper', 'alice', 'a.test')).toEqual({ rate: 1000, burst_size: 5000 });
    expect(shaperFor(config, 'admins_fast', 'alice', 'a.test')).toBeUndefined();
    expect(shaperFor(config, 'admins_fast', 'root', 'a.test')).toEqual({ rate: 50000, burst_size: 50000 });
    expect(shaperFor(config, 'none', 'alice', 'a.test')).toBeUndefined();
    expect(shaperFor(config, 'no_such_rule', 'alice', 'a.test')).toBeUndefined();
  });

  it('shaperFor: a shaper name used directly', () => {
    expect(shaperFor(config, 'normal', 'alice', 'a.test')).toEqual({ rate: 1000, burst_size: 5000 });
    const direct = parseConfig(
      'shaper: {normal: 1000, slow: 10}\nlisten:\n  - {port: 5222, module: ejabberd_c2s, shaper: slow}\n',
    );
    expect(shaperFor(direct, direct.listen[0].shaper, 'alice', 'localhost')).toEqual({
      rate: 10,
      burst_size: 10,
    });
  });
});

describe('ejabberd_service listeners (XEP-0114)', () => {
  const service = (extra: string) =>
    `listen:\n  - port: 8888\n    ip: 127.0.0.1\n    module: ejabberd_service\n${extra}`;

  it('reads hosts with their passwords, in ejabberd layout, with the defaults', () => {
    const config = parseConfig(
      service(
        '    check_from: false\n    max_stanza_size: 65536\n    hosts:\n      echo.localhost:\n        password: secret\n      Muc.Localhost:\n        password: other\n',
      ),
    );
    expect(config.listen).toHaveLength(1);
    expect(config.listen[0]).toMatchObject({
      port: 8888,
      ip: '127.0.0.1',
      module: 'ejabberd_service',
      hosts: { 'echo.localhost': 'secret', 'muc.localhost': 'other' },
      check_from: false,
      max_stanza_size: 65536,
      shaper: 'none',
      access: 'all',
      tls: false,
      starttls: false,
    });
  });

  it('a listener password applies to hosts without their own, or to any domain without hosts', () => {
    const [withHosts] = parseConfig(
      service(
        '    password: shared\n    hosts:\n      a.localhost:\n      b.localhost:\n        password: own\n',
      ),
    ).listen;
    expect(withHosts).toMatchObject({
      hosts: { 'a.localhost': 'shared', 'b.localhost': 'own' },
      password: 'shared',
    });
    const [global] = parseConfig(service('    password: shared\n')).listen;
    expect(global).toMatchObject({ hosts: {}, password: 'shared', check_from: true });
  });

  it('refuses a missing password, a bad or served domain, c2s options and unknown host options', () => {
    expectError(
      service('    hosts:\n      echo.localhost:\n'),
      'listen[0].hosts.echo.localhost',
      6,
      7,
      'missing password (give it here, or a password for the whole listener)',
    );
    expectError(
      service(''),
      'listen[0]',
      2,
      5,
      'missing password (hosts: {domain: {password: ...}}, or password)',
    );
    expectError(
      service('    hosts:\n      "bad domain!":\n        password: x\n'),
      'listen[0].hosts.bad domain!',
      6,
      7,
      '"bad domain!" is not a valid domain name',
    );
    expectError(
      service('    hosts:\n      localhost:\n        password: x\n'),
      'listen[0].hosts.localhost',
      6,
      7,
      'localhost is served by this server (hosts); a component cannot take it',
    );
    expectError(
      service('    hosts:\n      echo.localhost:\n        passwd: x\n'),
      'listen[0].hosts.echo.localhost.passwd',
      7,
      9,
      'unknown option "passwd" (did you mean "password"?)',
    );
    expectError(
      service('    password: x\n    starttls: true\n'),
      'listen[0].starttls',
      6,
      5,
      /^unknown option "starttls"/,
    );
    expectError(
      service('    password: x\n    check_from: maybe\n'),
      'listen[0].check_from',
      6,
      17,
      /true or false/,
    );
  });
});

describe('pattern acls (user_regexp, server_regexp, node_regexp and their _glob forms)', () => {
  const config = parseConfig(
    [
      'hosts: [a.test, b.test]',
      'acl:',
      '  local:',
      '    user_regexp: ""',
      '  testers:',
      '    user_regexp: "^test[0-9]+$"',
      '  a_admins:',
      '    user_regexp:',
      '      "^adm": a.test',
      '  partners:',
      '    server_regexp: "\\\\.partner\\\\.org$"',
      '  ops:',
      '    node_regexp:',
      '      "^op-": "^(a|b)\\\\.test$"',
      '  globbed:',
      '    user_glob: ["bot-*", "q?"]',
      '    server_glob: "*.example.net"',
      '    node_glob:',
      '      "[ab]x": "*.test"',
    ].join('\n'),
  );

  it('user_regexp "" is ejabberd\'s local: every user of a served host, no server, no anonymous caller', () => {
    expect(matchAcl(config, 'local', 'alice', 'a.test')).toBe(true);
    expect(matchAcl(config, 'local', 'alice', 'remote.example')).toBe(false);
    expect(matchAcl(config, 'local', '', 'a.test')).toBe(false);
    expect(matchAcl(config, 'local', '', '')).toBe(false);
  });

  it('user_regexp searches the name; with a server, only on that host', () => {
    expect(matchAcl(config, 'testers', 'test12', 'b.test')).toBe(true);
    expect(matchAcl(config, 'testers', 'test', 'b.test')).toBe(false);
    expect(matchAcl(config, 'a_admins', 'admin', 'a.test')).toBe(true);
    expect(matchAcl(config, 'a_admins', 'admin', 'b.test')).toBe(false);
  });

  it('server_regexp matches any user of a matching server, and the server itself', () => {
    expect(matchAcl(config, 'partners', 'x', 'chat.partner.org')).toBe(true);
    expect(matchAcl(config, 'partners', '', 'chat.partner.org')).toBe(true);
    expect(matchAcl(config, 'partners', 'x', 'partner.org.evil')).toBe(false);
  });

  it('node_regexp needs both halves', () => {
    expect(matchAcl(config, 'ops', 'op-1', 'b.test')).toBe(true);
    expect(matchAcl(config, 'ops', 'op-1', 'c.test')).toBe(false);
    expect(matchAcl(config, 'ops', 'dev-1', 'a.test')).toBe(false);
  });

  it('globs are whole-name shell patterns', () => {
    expect(matchAcl(config, 'globbed', 'bot-7', 'a.test')).toBe(true);
    expect(matchAcl(config, 'globbed', 'a-bot-7', 'a.test')).toBe(false);
    expect(matchAcl(config, 'globbed', 'qa', 'a.test')).toBe(true);
    expect(matchAcl(config, 'globbed', 'qaa', 'a.test')).toBe(false);
    expect(matchAcl(config, 'globbed', 'anyone', 'chat.example.net')).toBe(true);
    expect(matchAcl(config, 'globbed', 'ax', 'b.test')).toBe(true);
    expect(matchAcl(config, 'globbed', 'cx', 'b.test')).toBe(false);
  });

  it('access rules use them like any acl', () => {
    const withRules = parseConfig(
      [
        'acl:',
        '  local:',
        '    user_regexp: ""',
        'access_rules:',
        '  c2s: allow',
        '  local_only:',
        '    - allow: local',
      ].join('\n'),
    );
    expect(accessAllows(withRules, 'local_only', 'alice', 'localhost')).toBe(true);
    expect(accessAllows(withRules, 'local_only', 'alice', 'elsewhere.example')).toBe(false);
  });
});

describe('ip acls', () => {
  it('loads ip networks (a bare address is one host) and matches them only when an address is given', () => {
    const config = parseConfig(
      [
        'acl:',
        '  office: {ip: [10.1.0.0/16, "2001:db8::/32", 192.0.2.7]}',
        '  lan: {ip: 192.168.0.0/24, user: [bob@localhost]}',
        'access_rules:',
        '  c2s: allow',
        '  from_office: {allow: office}',
      ].join('\n'),
    );
    expect(config.acl.office).toEqual({ ip: ['10.1.0.0/16', '2001:db8::/32', '192.0.2.7/32'] });
    expect(config.acl.lan).toEqual({ ip: ['192.168.0.0/24'], user: ['bob@localhost'] });
    // Predefined, since the file does not define it.
    expect(config.acl.loopback).toEqual({ ip: ['127.0.0.0/8', '::1/128'] });
    expect(matchAcl(config, 'office', '', '', '10.1.200.3')).toBe(true);
    expect(matchAcl(config, 'office', '', '', '10.2.0.1')).toBe(false);
    expect(matchAcl(config, 'office', '', '', '2001:db8:1::5')).toBe(true);
    expect(matchAcl(config, 'office', '', '', '192.0.2.7')).toBe(true);
    expect(matchAcl(config, 'office', '', '', '192.0.2.8')).toBe(false);
    expect(matchAcl(config, 'office', '', '', '::ffff:10.1.0.1')).toBe(true);
    // Existing callers pass no address: an ip entry matches nobody, other entries work as before.
    expect(matchAcl(config, 'office', 'alice', 'localhost')).toBe(false);
    expect(matchAcl(config, 'lan', 'bob', 'localhost')).toBe(true);
    expect(matchAcl(config, 'lan', 'alice', 'localhost', '192.168.0.9')).toBe(true);
    expect(matchAcl(config, 'loopback', '', '', '127.0.0.1')).toBe(true);
    expect(matchAcl(config, 'loopback', '', '', '::1')).toBe(true);
    expect(matchAcl(config, 'loopback', '', '', '::ffff:127.0.0.1')).toBe(true);
    expect(matchAcl(config, 'loopback', '', '', '192.0.2.1')).toBe(false);
    expect(matchAcl(config, 'loopback', '', '', 'not-an-ip')).toBe(false);
    expect(accessAllows(config, 'from_office', '', '', '10.1.0.1')).toBe(true);
    expect(accessAllows(config, 'from_office', '', '')).toBe(false);
  });

  it('a file may redefine loopback', () => {
    const config = parseConfig('acl:\n  loopback: {ip: 127.0.0.1}\n');
    expect(config.acl.loopback).toEqual({ ip: ['127.0.0.1/32'] });
    expect(matchAcl(config, 'loopback', '', '', '127.0.0.2')).toBe(false);
  });

  it('bad networks are refused at their position', () => {
    expectError(
      'acl:\n  office:\n    ip: 10.0.0.0/33\n',
      'acl.office.ip',
      3,
      9,
      '"10.0.0.0/33" is not an IP network (such as 127.0.0.0/8, ::1/128 or a bare address)',
    );
    expectError(
      'acl:\n  office:\n    ip:\n      - 10.0.0.0/8\n      - 300.1.2.3\n',
      'acl.office.ip',
      5,
      9,
      /"300.1.2.3" is not an IP network/,
    );
    expectError('acl:\n  office:\n    ip: "::1/129"\n', 'acl.office.ip', 3, 9, /not an IP network/);
    expectError('acl:\n  office:\n    ip: 10.0.0.0/x\n', 'acl.office.ip', 3, 9, /not an IP network/);
    expectError('acl:\n  office:\n    ipp: 10.0.0.0/8\n', 'acl.office.ipp', 3, 5, /did you mean "ip"/);
  });
});

describe('api_permissions', () => {
  it('defaults to ctl for anyone and admin accounts everywhere but start and stop', () => {
    const config = parseConfig('hosts: [localhost]\n');
    expect(config.api_permissions).toEqual({
      'console commands': { from: ['ejabberd_ctl'], who: [{ kind: 'all' }], what: ['*'] },
      'admin access': { who: [{ kind: 'acl', acl: 'admin' }], what: ['*', '!stop', '!start'] },
    });
  });

  it("loads ejabberd's layout: from, who (all, ip, acl, user, access inline or named), what", () => {
    const config = parseConfig(
      [
        'acl:',
        '  admin: {user: [admin@localhost]}',
        'access_rules:',
        '  c2s: allow',
        '  api_rule: {allow: admin}',
        'api_permissions:',
        '  "console commands":',
        '    from: ejabberd_ctl',
        '    who: all',
        '    what: "*"',
        '  "admin access":',
        '    who:',
        '      access:',
        '        allow:',
        '          - acl: loopback',
        '          - acl: admin',
        '    what:',
        '      - "*"',
        '      - "!stop"',
        '      - "!start"',
        '  "public commands":',
        '    from: [mod_http_api, ejabberd_xmlrpc]',
        '    who:',
        '      ip: 127.0.0.1/8',
        '    what:',
        '      - status',
        '      - connected_users_number',
        '  "named":',
        '    who:',
        '      - access: api_rule',
        '      - user: [Bob@Localhost]',
        '      - admin',
        '    what: [status]',
      ].join('\n'),
    );
    expect(Object.keys(config.api_permissions)).toEqual([
      'console commands',
      'admin access',
      'public commands',
      'named',
    ]);
    expect(config.api_permissions['console commands']).toEqual({
      from: ['ejabberd_ctl'],
      who: [{ kind: 'all' }],
      what: ['*'],
    });
    expect(config.api_permissions['admin access']).toEqual({
      who: [
        {
          kind: 'access',
          rules: [
            {
              verdict: 'allow',
              who: [
                { kind: 'acl', acl: 'loopback' },
                { kind: 'acl', acl: 'admin' },
              ],
            },
          ],
        },
      ],
      what: ['*', '!stop', '!start'],
    });
    expect(config.api_permissions['public commands']).toEqual({
      from: ['mod_http_api', 'ejabberd_xmlrpc'],
      who: [{ kind: 'ip', ip: '127.0.0.1/8' }],
      what: ['status', 'connected_users_number'],
    });
    expect(config.api_permissions.named).toEqual({
      who: [
        { kind: 'access', rule: 'api_rule' },
        { kind: 'user', user: 'bob@localhost' },
        { kind: 'acl', acl: 'admin' },
      ],
      what: ['status'],
    });
  });

  it('adds "console commands" when the file has none, as ejabberd does; accepts the old list layout', () => {
    const config = parseConfig(
      'acl:\n  admin: {user: [admin]}\napi_permissions:\n  "admin access":\n    - who:\n      - admin\n    - what:\n      - "*"\n',
    );
    expect(config.api_permissions).toEqual({
      'console commands': { from: ['ejabberd_ctl'], who: [{ kind: 'all' }], what: ['*'] },
      'admin access': { who: [{ kind: 'acl', acl: 'admin' }], what: ['*'] },
    });
  });

  it('refuses oauth, command tags, unknown front ends and undefined names, at their position', () => {
    const perm = (body: string) => `api_permissions:\n  p:\n${body}`;
    expectError(
      perm('    who:\n      oauth:\n        scope: ejabberd:admin\n    what: "*"\n'),
      'api_permissions.p.who.oauth',
      4,
      7,
      'oauth is not supported (tsjabberd has no OAuth tokens); use api_tokens, or user, acl or access with HTTP Basic auth',
    );
    expectError(
      perm('    who: all\n    what: "[tag:accounts]"\n'),
      'api_permissions.p.what',
      4,
      11,
      /^command tags \(\[tag:accounts\]\) are not supported/,
    );
    expectError(
      perm('    from: ejabberd_web_admin\n    who: all\n    what: "*"\n'),
      'api_permissions.p.from',
      3,
      11,
      'unknown front end "ejabberd_web_admin"; expected ejabberd_ctl, mod_http_api, ejabberd_xmlrpc',
    );
    expectError(
      perm('    who: {acl: admins}\n    what: "*"\n'),
      'api_permissions.p.who.acl',
      3,
      16,
      'acl "admins" is not defined (define it under acl:, or use all or none)',
    );
    expectError(
      perm('    who: {access: api}\n    what: "*"\n'),
      'api_permissions.p.who.access',
      3,
      19,
      'access rule "api" is not defined (define it under access_rules:, or use all or none)',
    );
    expectError(
      perm('    who: {ip: 127.0.0.1/40}\n    what: "*"\n'),
      'api_permissions.p.who.ip',
      3,
      15,
      /not an IP network/,
    );
    expectError(
      perm('    who: {access: {permit: all}}\n    what: "*"\n'),
      'api_permissions.p.who.access',
      3,
      20,
      'expected allow or deny, got "permit"',
    );
    expectError(perm('    what: "*"\n'), 'api_permissions.p', 2, 3, /^missing who/);
    expectError(perm('    who: all\n'), 'api_permissions.p', 2, 3, /^missing what/);
    expectError(
      perm('    who: all\n    what: "*"\n    where: here\n'),
      'api_permissions.p.where',
      5,
      5,
      /^unknown option "where"/,
    );
    expectError(
      perm('    who: all\n    what: "st op"\n'),
      'api_permissions.p.what',
      4,
      11,
      /not a command name/,
    );
  });
});

describe('api_tokens', () => {
  it('loads tokens and the accounts they act as (prepared)', () => {
    const config = parseConfig(
      [
        'hosts: [example.org]',
        'api_tokens:',
        '  - token: "0123456789abcdefghij"',
        '    user: Admin@Example.ORG',
        '  - {token: "another-secret-of-enough-length", user: ops@example.org}',
      ].join('\n'),
    );
    expect(config.api_tokens).toEqual([
      { token: '0123456789abcdefghij', user: { luser: 'admin', lserver: 'example.org' } },
      { token: 'another-secret-of-enough-length', user: { luser: 'ops', lserver: 'example.org' } },
    ]);
    expect(parseConfig('').api_tokens).toEqual([]);
  });

  it('refuses short or repeated tokens, and accounts not served here', () => {
    expectError(
      'api_tokens:\n  - token: short\n    user: admin@localhost\n',
      'api_tokens[0].token',
      2,
      12,
      'too short (5 characters); use at least 20, such as the output of "openssl rand -hex 32"',
    );
    expectError(
      'api_tokens:\n  - token: "0123456789abcdefghij"\n    user: admin@elsewhere.test\n',
      'api_tokens[0].user',
      3,
      11,
      'elsewhere.test is not served here (hosts: localhost)',
    );
    expectError(
      'api_tokens:\n  - token: "0123456789abcdefghij"\n    user: admin\n',
      'api_tokens[0].user',
      3,
      11,
      '"admin" is not an account (user@host)',
    );
    expectError(
      'api_tokens:\n  - {token: "0123456789abcdefghij", user: a@localhost}\n  - {token: "0123456789abcdefghij", user: b@localhost}\n',
      'api_tokens[1].token',
      3,
      13,
      'the same token as api_tokens[0]',
    );
    expectError('api_tokens:\n  - token: "0123456789abcdefghij"\n', 'api_tokens[0]', 2, 5, /^missing user/);
    expectError('api_tokens:\n  - user: a@localhost\n', 'api_tokens[0]', 2, 5, /^missing token/);
  });
});

describe('XML-RPC listeners', () => {
  it('request_handlers may name ejabberd_xmlrpc next to mod_http_api', () => {
    const config = parseConfig(
      [
        'listen:',
        '  - port: 5280',
        '    ip: 127.0.0.1',
        '    module: ejabberd_http',
        '    request_handlers:',
        '      /api: mod_http_api',
        '      /xmlrpc/: ejabberd_xmlrpc',
      ].join('\n'),
    );
    expect(config.listen[0]).toMatchObject({
      module: 'ejabberd_http',
      port: 5280,
      ip: '127.0.0.1',
      request_handlers: { '/api': 'mod_http_api', '/xmlrpc': 'ejabberd_xmlrpc' },
    });
    expectError(
      'listen:\n  - port: 5280\n    module: ejabberd_http\n    request_handlers:\n      /ws: ejabberd_http_ws\n',
      'listen[0].request_handlers./ws',
      5,
      12,
      'only mod_http_api and ejabberd_xmlrpc are supported, got "ejabberd_http_ws"',
    );
  });

  it("ejabberd's standalone ejabberd_xmlrpc listener becomes an HTTP listener serving / with it", () => {
    const config = parseConfig(
      'listen:\n  - port: 4560\n    ip: "::1"\n    module: ejabberd_xmlrpc\n    max_body_size: 65536\n',
    );
    expect(config.listen).toEqual([
      {
        ...httpListenerDefaults(),
        port: 4560,
        ip: '::1',
        module: 'ejabberd_http',
        max_body_size: 65536,
        request_handlers: { '/': 'ejabberd_xmlrpc' },
      },
    ]);
    expect(
      parseConfig('listen:\n  - {port: 4560, module: ejabberd_xmlrpc, tls: true}\n').listen[0],
    ).toMatchObject({
      module: 'ejabberd_http',
      tls: true,
      request_handlers: { '/': 'ejabberd_xmlrpc' },
    });
    expectError(
      'listen:\n  - port: 4560\n    module: ejabberd_xmlrpc\n    access_commands: {}\n',
      'listen[0].access_commands',
      4,
      5,
      /^unknown option "access_commands"/,
    );
    expectError(
      'listen:\n  - port: 4560\n    module: ejabberd_xmlrpc\n    request_handlers: {/: ejabberd_xmlrpc}\n',
      'listen[0].request_handlers',
      4,
      5,
      /^unknown option "request_handlers"/,
    );
  });
});
