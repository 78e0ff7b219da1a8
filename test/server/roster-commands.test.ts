import { get_attr_s, get_subtag, get_tag_cdata, type XmlElement } from '@tsjabberd/xml-stanza';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandError, type EjabberdCommands } from '../../packages/server/src/commands/ejabberd_commands.js';
import { commandsFor } from '../../packages/server/src/control.js';
import { startTestServer, type TestServer } from './helpers.js';
import type { RawClient } from './raw-client.js';

let t: TestServer;
let commands: EjabberdCommands;
let n = 0;

beforeAll(async () => {
  t = await startTestServer();
  commands = commandsFor(t.server);
});
afterAll(async () => {
  await t.stop();
});

/** A new account, named after `prefix`. */
async function account(prefix: string): Promise<string> {
  const u = `${prefix}${++n}`;
  await t.server.auth.try_register(u, 'localhost', 'pw');
  return u;
}

const items = (query: XmlElement | undefined): XmlElement[] =>
  (query?.[3] ?? []).filter((c): c is XmlElement => c[0] === 'xmlelement' && c[1] === 'item');

/** The roster as the client gets it (which also makes the resource receive pushes). */
async function rosterGet(c: RawClient): Promise<XmlElement[]> {
  const result = await c.iq("type='get'", "<query xmlns='jabber:iq:roster'/>");
  expect(c.typeOf(result)).toBe('result');
  return items(get_subtag(result, 'query') as XmlElement);
}

/** Logged in, roster requested, available with `presence` children; waits for its own presence. */
async function online(user: string, resource = 'r', presence = ''): Promise<RawClient> {
  const c = await t.login(user, 'pw', resource);
  await rosterGet(c);
  const mark = c.elements.length;
  c.write(`<presence>${presence}</presence>`);
  await c.until(
    () =>
      c.elements
        .slice(mark)
        .find((e) => e[1] === 'presence' && get_attr_s('from', e[2]) === `${user}@localhost/${resource}`),
    'its own presence',
  );
  return c;
}

/** The roster push about `jid` received after `mark`. */
function push(c: RawClient, jid: string, mark: number): Promise<[XmlElement, XmlElement]> {
  return c.until(() => {
    for (const e of c.elements.slice(mark)) {
      if (e[1] !== 'iq' || c.typeOf(e) !== 'set') continue;
      const query = get_subtag(e, 'query');
      const item = items(query as XmlElement).find((i) => get_attr_s('jid', i[2]) === jid);
      if (query !== false && item !== undefined)
        return [query as XmlElement, item] as [XmlElement, XmlElement];
    }
    return undefined;
  }, `a roster push about ${jid}`);
}

function presenceFrom(c: RawClient, from: string, mark: number): Promise<XmlElement> {
  return c.until(
    () =>
      c.elements
        .slice(mark)
        .find((e) => e[1] === 'presence' && get_attr_s('from', e[2]) === from && c.typeOf(e) === ''),
    `presence from ${from}`,
  );
}

/** 'ok', or the kind of the CommandError followed by its reason when it has one (`not_found:unknown_user`). */
function kindOf(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'ok',
    (e) =>
      e instanceof CommandError
        ? `${e.kind}${e.reason === undefined ? '' : `:${e.reason}`}`
        : `not a CommandError: ${String(e)}`,
  );
}

describe('link_contacts / unlink_contacts', () => {
  it('link_contacts puts each in the other roster as both, pushes it and shows each other online', async () => {
    const a = await account('link');
    const b = await account('link');
    const ca = await online(a, 'ra', '<show>away</show>');
    const cb = await online(b, 'rb');
    const ma = ca.elements.length;
    const mb = cb.elements.length;
    expect(
      await commands.execute('link_contacts', {
        jid1: `${a}@localhost`,
        nick1: 'Ann',
        jid2: `${b}@localhost`,
        nick2: 'Ben',
      }),
    ).toBe(true);
    const [queryA, itemA] = await push(ca, `${b}@localhost`, ma);
    expect(get_attr_s('subscription', itemA[2])).toBe('both');
    expect(get_attr_s('name', itemA[2])).toBe('Ben');
    expect(get_attr_s('ask', itemA[2])).toBe('');
    expect(get_attr_s('ver', queryA[2])).not.toBe(''); // mod_roster versioning is on by default
    const [, itemB] = await push(cb, `${a}@localhost`, mb);
    expect(get_attr_s('subscription', itemB[2])).toBe('both');
    expect(get_attr_s('name', itemB[2])).toBe('Ann');
    // Each sees the other online, without any subscription handshake.
    expect(
      get_tag_cdata(get_subtag(await presenceFrom(cb, `${a}@localhost/ra`, mb), 'show') as XmlElement),
    ).toBe('away');
    await presenceFrom(ca, `${b}@localhost/rb`, ma);
    // The rosters a client fetches, and the command's view.
    const rosterA = await rosterGet(ca);
    expect(rosterA.map((i) => [get_attr_s('jid', i[2]), get_attr_s('subscription', i[2])])).toEqual([
      [`${b}@localhost`, 'both'],
    ]);
    const rosterB = await rosterGet(cb);
    expect(rosterB.map((i) => [get_attr_s('jid', i[2]), get_attr_s('subscription', i[2])])).toEqual([
      [`${a}@localhost`, 'both'],
    ]);
    expect(await commands.execute('get_roster', { user: a, host: 'localhost' })).toEqual([
      { jid: `${b}@localhost`, nick: 'Ben', subscription: 'both', ask: 'none', group: '' },
    ]);
    // A presence change now reaches the contact through the ordinary broadcast.
    const mb2 = cb.elements.length;
    ca.write('<presence><status>back</status></presence>');
    const update = await presenceFrom(cb, `${a}@localhost/ra`, mb2);
    expect(get_tag_cdata(get_subtag(update, 'status') as XmlElement)).toBe('back');

    const ma2 = ca.elements.length;
    const mb3 = cb.elements.length;
    expect(
      await commands.execute('unlink_contacts', { jid1: `${a}@localhost`, jid2: `${b}@localhost` }),
    ).toBe(true);
    expect(get_attr_s('subscription', (await push(ca, `${b}@localhost`, ma2))[1][2])).toBe('remove');
    expect(get_attr_s('subscription', (await push(cb, `${a}@localhost`, mb3))[1][2])).toBe('remove');
    await cb.until(
      () =>
        cb.elements
          .slice(mb3)
          .find(
            (e) =>
              e[1] === 'presence' &&
              get_attr_s('from', e[2]) === `${a}@localhost/ra` &&
              cb.typeOf(e) === 'unavailable',
          ),
      'unavailable presence from the unlinked contact',
    );
    expect(await rosterGet(ca)).toEqual([]);
    expect(await rosterGet(cb)).toEqual([]);
    expect(await commands.execute('get_roster', { user: b, host: 'localhost' })).toEqual([]);
  });

  it('link_contacts works for offline users: the roster is there at the next login', async () => {
    const a = await account('off');
    const b = await account('off');
    await commands.execute('link_contacts', {
      jid1: `${a}@localhost`,
      nick1: '',
      jid2: `${b}@localhost`,
      nick2: 'B',
    });
    const c = await t.login(b, 'pw', 'later');
    const roster = await rosterGet(c);
    expect(roster.map((i) => [get_attr_s('jid', i[2]), get_attr_s('subscription', i[2])])).toEqual([
      [`${a}@localhost`, 'both'],
    ]);
  });

  it('refuses unknown accounts (not_found, unknown_user) and bad JIDs (invalid), changing nothing; deleting an absent item succeeds', async () => {
    const a = await account('err');
    const link = (jid2: string) =>
      commands.execute('link_contacts', { jid1: `${a}@localhost`, nick1: '', jid2, nick2: '' });
    expect(await kindOf(link('nobody@localhost'))).toBe('not_found:unknown_user');
    expect(await kindOf(link('someone@elsewhere.example'))).toBe('not_found:unknown_user');
    expect(await kindOf(link('no body@localhost'))).toBe('invalid');
    expect(await kindOf(link('localhost'))).toBe('invalid');
    expect(
      await kindOf(commands.execute('unlink_contacts', { jid1: 'ghost@localhost', jid2: `${a}@localhost` })),
    ).toBe('not_found:unknown_user');
    expect(
      await kindOf(commands.execute('get_roster_with_presence', { user: 'ghost', server: 'localhost' })),
    ).toBe('not_found:unknown_user');
    expect(await kindOf(commands.execute('get_roster', { user: 'ghost', host: 'localhost' }))).toBe(
      'not_found:unknown_user',
    );
    // An item that is not in the roster: the roster is already as asked, so it succeeds (as in ejabberd),
    // logged, and the roster stays empty.
    expect(
      await kindOf(
        commands.execute('delete_rosteritem', {
          localuser: a,
          localhost: 'localhost',
          user: 'x',
          host: 'example.com',
        }),
      ),
    ).toBe('ok');
    expect(
      t.log.lines.some((l) =>
        l.includes(`delete_rosteritem: x@example.com was not in the roster of ${a}@localhost`),
      ),
    ).toBe(true);
    // An unknown local account is still refused.
    expect(
      await kindOf(
        commands.execute('delete_rosteritem', {
          localuser: 'ghost',
          localhost: 'localhost',
          user: a,
          host: 'localhost',
        }),
      ),
    ).toBe('not_found:unknown_user');
    expect(await t.server.auth.user_exists('ghost', 'localhost')).toBe(false);
    expect(await commands.execute('get_roster', { user: a, host: 'localhost' })).toEqual([]);
  });
});

describe('add_rosteritem / delete_rosteritem', () => {
  it('push the change to the online resource that requested the roster', async () => {
    const u = await account('add');
    const c = await online(u);
    let mark = c.elements.length;
    expect(
      await commands.execute('add_rosteritem', {
        localuser: u,
        localhost: 'localhost',
        user: 'friend',
        host: 'example.com',
        nick: 'Friend',
        group: 'Work;Play',
        subs: 'to',
      }),
    ).toBe(true);
    const [query, item] = await push(c, 'friend@example.com', mark);
    expect(get_attr_s('name', item[2])).toBe('Friend');
    expect(get_attr_s('subscription', item[2])).toBe('to');
    expect(item[3].map((g) => get_tag_cdata(g as XmlElement))).toEqual(['Work', 'Play']);
    const ver = get_attr_s('ver', query[2]);
    expect(ver).not.toBe('');
    mark = c.elements.length;
    expect(
      await commands.execute('delete_rosteritem', {
        localuser: u,
        localhost: 'localhost',
        user: 'friend',
        host: 'example.com',
      }),
    ).toBe(true);
    const [query2, removed] = await push(c, 'friend@example.com', mark);
    expect(get_attr_s('subscription', removed[2])).toBe('remove');
    expect(Number(get_attr_s('ver', query2[2]))).toBeGreaterThan(Number(ver));
    expect(await rosterGet(c)).toEqual([]);
  });
});

describe('get_roster_with_presence', () => {
  it('gives an online contact its best resource, show and status; an offline one unavailable', async () => {
    const u = await account('gp');
    const on = await account('gp');
    const off = await account('gp');
    const pending = await account('gp');
    await commands.execute('link_contacts', {
      jid1: `${u}@localhost`,
      nick1: '',
      jid2: `${on}@localhost`,
      nick2: 'On',
    });
    await commands.execute('add_rosteritem', {
      localuser: u,
      localhost: 'localhost',
      user: off,
      host: 'localhost',
      nick: 'Off',
      group: 'G1;G2',
      subs: 'none',
    });
    await online(on, 'low', '<priority>1</priority>');
    await online(on, 'best', '<show>dnd</show><status>in a meeting</status><priority>5</priority>');
    await online(on, 'neg', '<show>chat</show><priority>-1</priority>');
    // A request the user sent and nobody answered yet: ask out.
    const cu = await online(u);
    const mark = cu.elements.length;
    cu.write(`<presence to='${pending}@localhost' type='subscribe'/>`);
    await push(cu, `${pending}@localhost`, mark);
    const result = (await commands.execute('get_roster_with_presence', {
      user: u,
      server: 'localhost',
    })) as Record<string, string>[];
    expect(result).toHaveLength(3);
    expect(result).toEqual(
      expect.arrayContaining([
        {
          jid: `${off}@localhost`,
          resource: '',
          group: 'G1;G2',
          nick: 'Off',
          subscription: 'none',
          pending: 'none',
          show: 'unavailable',
          status: '',
        },
        {
          jid: `${on}@localhost`,
          resource: 'best',
          group: '',
          nick: 'On',
          subscription: 'both',
          pending: 'none',
          show: 'dnd',
          status: 'in a meeting',
        },
        {
          jid: `${pending}@localhost`,
          resource: '',
          group: '',
          nick: '',
          subscription: 'none',
          pending: 'out',
          show: 'unavailable',
          status: '',
        },
      ]),
    );
    // The result format names the tuple's elements in mod_xmlrpc's order.
    const spec = commands.get_command('get_roster_with_presence')?.result;
    expect(
      spec?.type === 'list' && spec.element.type === 'tuple' && spec.element.elements.map((e) => e.name),
    ).toEqual(['jid', 'resource', 'group', 'nick', 'subscription', 'pending', 'show', 'status']);
  });

  it('says available when the best resource has no show', async () => {
    const u = await account('gp');
    const on = await account('gp');
    await commands.execute('link_contacts', {
      jid1: `${u}@localhost`,
      nick1: '',
      jid2: `${on}@localhost`,
      nick2: '',
    });
    await online(on, 'plain');
    expect(
      await commands.execute('get_roster_with_presence', { user: u, server: 'localhost' }),
    ).toMatchObject([{ jid: `${on}@localhost`, resource: 'plain', show: 'available', status: '' }]);
  });
});
