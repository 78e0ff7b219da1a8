/**
 * The roster commands of ejabberd's mod_admin_extra (get_roster, add_rosteritem, delete_rosteritem,
 * link_contacts, unlink_contacts) and of mod_xmlrpc (get_roster_with_presence).
 *
 * They write the rosters in storage, as mod_admin_extra does, and then do what mod_roster does after a
 * client's roster set: push the changed item to the user's resources that requested the roster
 * (RFC 6121 2.1.6, with `ver` when mod_roster's `versioning` is on), through mod_roster's own
 * `push_roster_item`. link_contacts also lets each side see the other online: it sends a presence
 * probe from each account to the other, which the contact's sessions answer (now that the roster says
 * `both`) with their current presence, as after a subscription approval (RFC 6121 3.1.5); unlink_contacts
 * sends the unavailable presence a removal implies (RFC 6121 2.5.2).
 *
 * Each change queues behind any other change to the same roster (`server.rosters`, which mod_roster
 * uses too), so a client's roster set at the same moment is neither lost nor interleaved.
 */
import type { Jid } from '@tsjabberd/jid';
import { element, type XmlElement } from '@tsjabberd/xml-stanza';
import { push_roster_item } from '../modules/mod_roster.js';
import type { TsjabberdServer } from '../server.js';
import type { RosterItem, Subscription } from '../storage/storage.js';
import { jidArg, presenceText } from './admin.js';
import { type Command, CommandError, strings } from './ejabberd_commands.js';

const SUBSCRIPTIONS: Subscription[] = ['none', 'to', 'from', 'both'];

export function roster_commands(server: TsjabberdServer): Command[] {
  const sm = server.node.ejabberd_sm;
  const store = server.storage.roster;

  /** The bare account JID of `value` (named `name` in errors): invalid when it is not one. */
  const accountJid = (name: string, value: string): Jid => {
    const jid = jidArg(name, value);
    if (jid.luser === '') throw new CommandError(`argument ${name} is not an account JID: ${value}`);
    return jid.bare();
  };
  /** `value` as a local account: invalid when not a JID, not_found when no such account is served. */
  const localAccount = async (name: string, value: string): Promise<Jid> => {
    const jid = accountJid(name, value);
    if (
      !server.config.hosts.includes(jid.lserver) ||
      !(await server.auth.user_exists(jid.luser, jid.lserver))
    )
      throw new CommandError(`User ${jid.toString()} does not exist`, 'not_found', 0, 'unknown_user');
    return jid;
  };
  /** `user@host` as a local account; an unknown host is a bad argument, as in the other commands. */
  const needUser = async (user: string, host: string): Promise<Jid> => {
    const jid = accountJid('user', `${user}@${host}`);
    if (!server.config.hosts.includes(jid.lserver)) throw new CommandError(`Unknown virtual host: ${host}`);
    return localAccount('user', jid.toString());
  };
  /** RFC 6121 2.1.6: the change pushed to the owner's interested resources. */
  const push = (owner: Jid, item: RosterItem, version: number, remove = false) =>
    push_roster_item(
      server.node,
      owner.luser,
      owner.lserver,
      item,
      version,
      server.node.gen_mod.get_module_opt(owner.lserver, 'mod_roster', 'versioning') === true,
      remove,
    );
  /** Runs `fn` after every earlier change to `owner`'s roster has finished. */
  const serialize = <T>(owner: Jid, fn: () => Promise<T>): Promise<T> =>
    server.rosters.run(`${owner.luser}@${owner.lserver}`, fn);
  /** Puts `contact` in `owner`'s roster as `both`, keeping its groups if it was there, and pushes it. */
  const link = (owner: Jid, contact: Jid, nick: string) =>
    serialize(owner, async () => {
      const jid = contact.toString();
      const existing = await store.getItem(owner.luser, owner.lserver, jid);
      const item: RosterItem = {
        jid,
        name: nick,
        subscription: 'both',
        ask: 'none',
        groups: existing?.groups ?? [],
        askMessage: '',
        approved: false,
      };
      push(owner, item, await store.put(owner.luser, owner.lserver, item));
    });
  /** Removes `contact` from `owner`'s roster and pushes the removal; the item, if it was there. */
  const unlink = (owner: Jid, contact: Jid): Promise<RosterItem | undefined> =>
    serialize(owner, async () => {
      const jid = contact.toString();
      const existing = await store.getItem(owner.luser, owner.lserver, jid);
      if (existing === undefined) return undefined;
      const version = await store.remove(owner.luser, owner.lserver, jid);
      if (version !== undefined) push(owner, existing, version, true);
      return existing;
    });
  /** Unavailable presence from each available resource of `user` to `contact` (RFC 6121 2.5.2). */
  const sendUnavailable = (user: Jid, contact: Jid) => {
    for (const s of sm.get_user_sessions(user.luser, user.lserver))
      if (s.priority !== undefined)
        server.node.route(s.jid, contact, element('presence', [['type', 'unavailable']], []));
  };

  return [
    {
      name: 'get_roster',
      desc: 'Get list of contacts in a local user roster',
      args: [
        ['user', 'binary'],
        ['host', 'binary'],
      ],
      args_rename: { server: 'host' },
      result: {
        name: 'contacts',
        type: 'list',
        element: {
          name: 'contact',
          type: 'tuple',
          elements: strings('jid', 'nick', 'subscription', 'ask', 'group'),
        },
      },
      policy: 'admin',
      run: async ({ user, host }: { user: string; host: string }) => {
        const owner = await needUser(user, host);
        const items = await store.get(owner.luser, owner.lserver);
        return items.map((i) => ({
          jid: i.jid,
          nick: i.name,
          subscription: i.subscription,
          ask: i.ask,
          group: i.groups.join(';'),
        }));
      },
    },
    {
      name: 'get_roster_with_presence',
      desc: 'Get roster of a local user, with the presence of each contact',
      args: [
        ['user', 'binary'],
        ['host', 'binary'],
      ],
      args_rename: { server: 'host' },
      result: {
        name: 'contacts',
        type: 'list',
        element: {
          name: 'contact',
          type: 'tuple',
          elements: strings('jid', 'resource', 'group', 'nick', 'subscription', 'pending', 'show', 'status'),
        },
      },
      policy: 'admin',
      run: async ({ user, host }: { user: string; host: string }) => {
        const owner = await needUser(user, host);
        const items = await store.get(owner.luser, owner.lserver);
        return items.map((i) => {
          // The contact's available session of highest non-negative priority (the latest on a tie);
          // only local contacts have sessions here.
          let best: ReturnType<typeof sm.get_user_sessions>[number] | undefined;
          let contact: Jid | undefined;
          try {
            contact = jidArg('jid', i.jid);
          } catch {}
          if (contact !== undefined && contact.luser !== '' && server.config.hosts.includes(contact.lserver))
            for (const s of sm.get_user_sessions(contact.luser, contact.lserver)) {
              if (s.priority === undefined || s.priority < 0 || s.presence === undefined) continue;
              if (
                best === undefined ||
                s.priority > (best.priority ?? 0) ||
                (s.priority === best.priority && s.sid.time > best.sid.time)
              )
                best = s;
            }
          return {
            jid: i.jid,
            resource: best?.jid.resource ?? '',
            group: i.groups.join(';'),
            nick: i.name,
            subscription: i.subscription,
            // ejabberd's #roster.ask, which our storage keeps with the same values: in, out, both, none.
            pending: i.ask,
            show:
              best?.presence === undefined
                ? 'unavailable'
                : presenceText(best.presence, 'show') || 'available',
            status: best?.presence === undefined ? '' : presenceText(best.presence, 'status'),
          };
        });
      },
    },
    {
      name: 'add_rosteritem',
      desc: 'Add an item to a user\'s roster (groups separated by ";")',
      args: [
        ['localuser', 'binary'],
        ['localhost', 'binary'],
        ['user', 'binary'],
        ['host', 'binary'],
        ['nick', 'binary'],
        ['group', 'binary'],
        ['subs', 'binary'],
      ],
      result: { name: 'res', type: 'rescode' },
      policy: 'admin',
      changes: true,
      run: async (a: Record<string, string>) => {
        const owner = await needUser(a.localuser, a.localhost);
        if (!SUBSCRIPTIONS.includes(a.subs as Subscription))
          throw new CommandError(`add_rosteritem: subs must be none, to, from or both, not ${a.subs}`);
        const contact = accountJid('user', `${a.user}@${a.host}`).toString();
        const item: RosterItem = {
          jid: contact,
          name: a.nick,
          subscription: a.subs as Subscription,
          ask: 'none',
          groups: [...new Set(a.group.split(';').filter((g) => g !== ''))],
          askMessage: '',
          approved: false,
        };
        await serialize(owner, async () =>
          push(owner, item, await store.put(owner.luser, owner.lserver, item)),
        );
        return true;
      },
    },
    {
      name: 'delete_rosteritem',
      desc: "Delete an item from a user's roster",
      args: [
        ['localuser', 'binary'],
        ['localhost', 'binary'],
        ['user', 'binary'],
        ['host', 'binary'],
      ],
      result: { name: 'res', type: 'rescode' },
      policy: 'admin',
      changes: true,
      run: async (a: Record<string, string>) => {
        const owner = await needUser(a.localuser, a.localhost);
        const contact = accountJid('user', `${a.user}@${a.host}`);
        // As ejabberd: 0 when the item was not there either; the roster is as asked.
        if ((await unlink(owner, contact)) === undefined)
          server.log.info(
            `delete_rosteritem: ${contact.toString()} was not in the roster of ${owner.toString()}`,
          );
        return true;
      },
    },
    {
      name: 'link_contacts',
      desc: "Add each JID to the other's roster with subscription both, without asking either",
      args: [
        ['jid1', 'binary'],
        ['nick1', 'binary'],
        ['jid2', 'binary'],
        ['nick2', 'binary'],
      ],
      result: { name: 'res', type: 'rescode' },
      policy: 'admin',
      changes: true,
      run: async ({ jid1, nick1, jid2, nick2 }: Record<string, string>) => {
        const one = await localAccount('jid1', jid1);
        const two = await localAccount('jid2', jid2);
        if (one.equals(two)) throw new CommandError('link_contacts: jid1 and jid2 are the same account');
        // As mod_admin_extra: nickN is what jidN is called in the other's roster.
        await link(one, two, nick2);
        await link(two, one, nick1);
        // Each side's available sessions answer a probe from the other with their current presence.
        const probe = (): XmlElement => element('presence', [['type', 'probe']], []);
        server.node.route(one, two, probe());
        server.node.route(two, one, probe());
        return true;
      },
    },
    {
      name: 'unlink_contacts',
      desc: "Remove each JID from the other's roster",
      args: [
        ['jid1', 'binary'],
        ['jid2', 'binary'],
      ],
      result: { name: 'res', type: 'rescode' },
      policy: 'admin',
      changes: true,
      run: async ({ jid1, jid2 }: Record<string, string>) => {
        const one = await localAccount('jid1', jid1);
        const two = await localAccount('jid2', jid2);
        if ((await unlink(one, two)) !== undefined) sendUnavailable(two, one);
        if ((await unlink(two, one)) !== undefined) sendUnavailable(one, two);
        return true;
      },
    },
  ];
}
