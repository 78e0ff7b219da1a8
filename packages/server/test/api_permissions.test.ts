import { describe, expect, it } from 'vitest';
import {
  allowing_permission,
  type Caller,
  token_user,
  what_matches,
} from '../src/commands/api_permissions.js';
import { ipInNetworks, parseCidr } from '../src/config/acl.js';
import { defaultConfig } from '../src/config/defaults.js';
import { parseConfig } from '../src/config/load.js';

const admin = { luser: 'admin', lserver: 'localhost' };
const bob = { luser: 'bob', lserver: 'localhost' };

describe('the default api_permissions', () => {
  const config = parseConfig('acl:\n  admin: {user: [admin@localhost]}\n');

  it('ejabberdctl may run every command, start and stop included, without credentials', () => {
    const ctl: Caller = { frontend: 'ejabberd_ctl' };
    expect(allowing_permission(config, 'status', ctl)).toBe('console commands');
    expect(allowing_permission(config, 'stop', ctl)).toBe('console commands');
    expect(allowing_permission(config, 'register', ctl)).toBe('console commands');
  });

  it('over HTTP and XML-RPC only an authenticated admin, and never start or stop', () => {
    expect(
      allowing_permission(config, 'register', { frontend: 'mod_http_api', ip: '203.0.113.9', user: admin }),
    ).toBe('admin access');
    expect(
      allowing_permission(config, 'status', { frontend: 'ejabberd_xmlrpc', ip: '::1', user: admin }),
    ).toBe('admin access');
    expect(
      allowing_permission(config, 'stop', { frontend: 'mod_http_api', ip: '127.0.0.1', user: admin }),
    ).toBe(undefined);
    expect(allowing_permission(config, 'start', { frontend: 'ejabberd_xmlrpc', user: admin })).toBe(
      undefined,
    );
  });

  it('refuses a non-admin account, and a caller without credentials even on loopback', () => {
    expect(
      allowing_permission(config, 'status', { frontend: 'mod_http_api', ip: '127.0.0.1', user: bob }),
    ).toBe(undefined);
    expect(allowing_permission(config, 'status', { frontend: 'mod_http_api', ip: '127.0.0.1' })).toBe(
      undefined,
    );
    expect(allowing_permission(config, 'status', { frontend: 'ejabberd_xmlrpc', ip: '::1' })).toBe(undefined);
    expect(allowing_permission(config, 'status', { frontend: 'mod_http_api' })).toBe(undefined);
  });

  it('without an admin acl, nobody may call over HTTP', () => {
    const bare = defaultConfig();
    expect(
      allowing_permission(bare, 'status', { frontend: 'mod_http_api', ip: '127.0.0.1', user: admin }),
    ).toBe(undefined);
    expect(allowing_permission(bare, 'status', { frontend: 'ejabberd_ctl' })).toBe('console commands');
  });
});

describe('configured api_permissions', () => {
  const config = parseConfig(
    [
      'hosts: [localhost, other.test]',
      'acl:',
      '  admin: {user: [admin@localhost]}',
      '  monitors: {ip: 192.0.2.0/24}',
      '  blocked_monitor: {ip: 192.0.2.66}',
      'access_rules:',
      '  c2s: allow',
      '  monitoring:',
      '    - deny: blocked_monitor',
      '    - allow: monitors',
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
      '    from: mod_http_api',
      '    who:',
      '      ip: [10.0.0.0/8, "2001:db8::/32"]',
      '    what:',
      '      - status',
      '      - connected_users_number',
      '  "own roster":',
      '    who:',
      '      user: bob@localhost',
      '    what: get_roster',
      '  "carol anywhere":',
      '    who:',
      '      user: carol',
      '    what: [get_vcard]',
      '  "monitoring":',
      '    from: [mod_http_api, ejabberd_xmlrpc]',
      '    who:',
      '      access: monitoring',
      '    what: [stats]',
      '  "inline deny":',
      '    who:',
      '      access:',
      '        - deny:',
      '            ip: 10.9.0.0/16',
      '        - allow:',
      '            ip: 10.0.0.0/8',
      '    what: [uptime]',
    ].join('\n'),
  );

  it('loopback without credentials may run anything but start and stop', () => {
    for (const ip of ['127.0.0.1', '127.3.2.1', '::1', '::ffff:127.0.0.1']) {
      expect(allowing_permission(config, 'register', { frontend: 'mod_http_api', ip })).toBe('admin access');
    }
    expect(allowing_permission(config, 'register', { frontend: 'mod_http_api', ip: '198.51.100.1' })).toBe(
      undefined,
    );
    expect(allowing_permission(config, 'register', { frontend: 'mod_http_api', ip: '::2' })).toBe(undefined);
  });

  it('"!stop" and "!start" leave those out; ejabberdctl still may', () => {
    expect(allowing_permission(config, 'stop', { frontend: 'mod_http_api', ip: '127.0.0.1' })).toBe(
      undefined,
    );
    expect(
      allowing_permission(config, 'start', { frontend: 'ejabberd_xmlrpc', ip: '::1', user: admin }),
    ).toBe(undefined);
    expect(allowing_permission(config, 'stop', { frontend: 'ejabberd_ctl' })).toBe('console commands');
  });

  it('the admin acl from any address', () => {
    expect(
      allowing_permission(config, 'register', {
        frontend: 'ejabberd_xmlrpc',
        ip: '198.51.100.1',
        user: admin,
      }),
    ).toBe('admin access');
  });

  it('public commands by address, only the listed ones, only from the listed front end', () => {
    const http = (ip: string): Caller => ({ frontend: 'mod_http_api', ip });
    expect(allowing_permission(config, 'status', http('10.20.30.40'))).toBe('public commands');
    expect(allowing_permission(config, 'connected_users_number', http('2001:db8:5::1'))).toBe(
      'public commands',
    );
    expect(allowing_permission(config, 'status', http('::ffff:10.1.1.1'))).toBe('public commands');
    expect(allowing_permission(config, 'register', http('10.20.30.40'))).toBe(undefined);
    expect(allowing_permission(config, 'status', http('11.0.0.1'))).toBe(undefined);
    expect(allowing_permission(config, 'status', http('2001:db9::1'))).toBe(undefined);
    expect(allowing_permission(config, 'status', { frontend: 'ejabberd_xmlrpc', ip: '10.20.30.40' })).toBe(
      undefined,
    );
  });

  it('from: ejabberd_ctl entries do not apply to the HTTP front ends', () => {
    expect(
      allowing_permission(config, 'register', { frontend: 'mod_http_api', ip: '198.51.100.1', user: bob }),
    ).toBe(undefined);
  });

  it('user: one account (user@host), or a user name on every served host', () => {
    expect(allowing_permission(config, 'get_roster', { frontend: 'mod_http_api', user: bob })).toBe(
      'own roster',
    );
    expect(
      allowing_permission(config, 'get_roster', {
        frontend: 'mod_http_api',
        user: { ...bob, lserver: 'other.test' },
      }),
    ).toBe(undefined);
    expect(allowing_permission(config, 'register', { frontend: 'mod_http_api', user: bob })).toBe(undefined);
    expect(allowing_permission(config, 'get_roster', { frontend: 'mod_http_api', ip: '198.51.100.1' })).toBe(
      undefined,
    );
    const carol = (lserver: string): Caller => ({
      frontend: 'ejabberd_xmlrpc',
      user: { luser: 'carol', lserver },
    });
    expect(allowing_permission(config, 'get_vcard', carol('localhost'))).toBe('carol anywhere');
    expect(allowing_permission(config, 'get_vcard', carol('other.test'))).toBe('carol anywhere');
    expect(allowing_permission(config, 'get_vcard', carol('elsewhere.test'))).toBe(undefined);
  });

  it('access: a named rule, whose acls see the caller address', () => {
    const from = (ip: string): Caller => ({ frontend: 'ejabberd_xmlrpc', ip });
    expect(allowing_permission(config, 'stats', from('192.0.2.10'))).toBe('monitoring');
    expect(allowing_permission(config, 'stats', from('192.0.2.66'))).toBe(undefined);
    expect(allowing_permission(config, 'stats', from('198.51.100.1'))).toBe(undefined);
    expect(allowing_permission(config, 'stats', { frontend: 'ejabberd_ctl' })).toBe('console commands');
  });

  it('access: inline rules, the first matching one decides', () => {
    const from = (ip: string): Caller => ({ frontend: 'mod_http_api', ip });
    expect(allowing_permission(config, 'uptime', from('10.1.0.1'))).toBe('inline deny');
    expect(allowing_permission(config, 'uptime', from('10.9.0.1'))).toBe(undefined);
    expect(allowing_permission(config, 'uptime', from('172.16.0.1'))).toBe(undefined);
  });
});

describe('what', () => {
  it('"*" takes every command, names take themselves, "!name" leaves one out', () => {
    expect(what_matches(['*'], 'stop')).toBe(true);
    expect(what_matches(['*', '!stop'], 'stop')).toBe(false);
    expect(what_matches(['!stop', '*'], 'stop')).toBe(false);
    expect(what_matches(['*', '!stop'], 'status')).toBe(true);
    expect(what_matches(['status'], 'status')).toBe(true);
    expect(what_matches(['status'], 'stop')).toBe(false);
    expect(what_matches(['!stop'], 'status')).toBe(false);
    expect(what_matches([], 'status')).toBe(false);
  });
});

describe('IP networks', () => {
  it('parses CIDRs and bare addresses, refusing anything else', () => {
    expect(parseCidr('127.0.0.0/8')).toEqual({ address: '127.0.0.0', prefix: 8, family: 'ipv4' });
    expect(parseCidr('::1')).toEqual({ address: '::1', prefix: 128, family: 'ipv6' });
    expect(parseCidr('192.0.2.1')).toEqual({ address: '192.0.2.1', prefix: 32, family: 'ipv4' });
    expect(parseCidr('2001:db8::/32')).toEqual({ address: '2001:db8::', prefix: 32, family: 'ipv6' });
    for (const bad of [
      '10.0.0.0/33',
      '::/129',
      '10.0.0.0/',
      '10.0.0.0/-1',
      'localhost',
      '10.0.0/8',
      '1.2.3.4/8/8',
    ]) {
      expect(parseCidr(bad)).toBeUndefined();
    }
  });

  it('matches IPv4, IPv6 and IPv4-mapped IPv6 addresses', () => {
    const nets = ['127.0.0.0/8', '::1/128', '2001:db8::/32', '192.0.2.7/32'];
    expect(ipInNetworks(nets, '127.255.0.1')).toBe(true);
    expect(ipInNetworks(nets, '128.0.0.1')).toBe(false);
    expect(ipInNetworks(nets, '::1')).toBe(true);
    expect(ipInNetworks(nets, '::2')).toBe(false);
    expect(ipInNetworks(nets, '2001:db8:ffff::1')).toBe(true);
    expect(ipInNetworks(nets, '2001:db9::1')).toBe(false);
    expect(ipInNetworks(nets, '::ffff:127.0.0.1')).toBe(true);
    expect(ipInNetworks(nets, '::FFFF:192.0.2.7')).toBe(true);
    expect(ipInNetworks(nets, '::ffff:192.0.2.8')).toBe(false);
    expect(ipInNetworks(nets, '192.0.2.7')).toBe(true);
    expect(ipInNetworks(nets, 'not an address')).toBe(false);
    expect(ipInNetworks(['0.0.0.0/0'], '203.0.113.1')).toBe(true);
    expect(ipInNetworks(['0.0.0.0/0'], '2001:db8::1')).toBe(false);
  });
});

describe('token_user', () => {
  const config = parseConfig(
    [
      'hosts: [localhost]',
      'api_tokens:',
      '  - {token: "first-token-0123456789", user: admin@localhost}',
      '  - {token: "second-token-abcdefghijklmnop", user: bob@localhost}',
    ].join('\n'),
  );

  it('finds the account of a configured token', () => {
    expect(token_user(config, 'first-token-0123456789')).toEqual(admin);
    expect(token_user(config, 'second-token-abcdefghijklmnop')).toEqual(bob);
  });

  it('refuses unknown tokens, of any length, and the empty token', () => {
    expect(token_user(config, 'first-token-012345678')).toBeUndefined();
    expect(token_user(config, 'first-token-01234567890')).toBeUndefined();
    expect(token_user(config, 'FIRST-TOKEN-0123456789')).toBeUndefined();
    expect(token_user(config, '')).toBeUndefined();
    expect(token_user(defaultConfig(), 'first-token-0123456789')).toBeUndefined();
  });

  it('returns a copy, so a caller cannot change the config', () => {
    const user = token_user(config, 'first-token-0123456789');
    if (user === undefined) throw new Error('expected the token to be found');
    user.luser = 'mallory';
    expect(token_user(config, 'first-token-0123456789')).toEqual(admin);
  });
});
