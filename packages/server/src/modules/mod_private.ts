/**
 * mod_private (XEP-0049 Private XML Storage, jabber:iq:private): a user stores XML elements on the
 * server, one per namespace, and reads them back; nobody else may touch them. Kept as XML text in
 * `env.storage.private`.
 *
 * The errors are the XEP's: another user's storage is `forbidden` (its preferred condition); a get
 * without a child element is `bad-request` (its "Bad Format"), a set without one `not-acceptable`; a
 * child without a namespace of its own, or in a reserved `jabber:` namespace, is `not-acceptable`.
 *
 * Differences from ejabberd: ejabberd answers `bad-request` to an empty query, silently skips children
 * without a namespace, and accepts `jabber:` namespaces; it also mirrors bookmarks to PEP (XEP-0411),
 * which needs mod_pubsub, not here yet. No cache options. An element whose text could not be read back
 * (a prefix declared outside it) is refused with `bad-request` rather than stored broken.
 */
import type { Jid } from '@tsjabberd/jid';
import { type GenModule, type Iq, iq_error, iq_result, stanza_error } from '@tsjabberd/router';
import { element_to_string, get_attr_s, type XmlAttr, type XmlElement } from '@tsjabberd/xml-stanza';
import { parse_element } from '@tsjabberd/xml-stream';
import type { ServerEnv } from './env.js';

export const NS_PRIVATE = 'jabber:iq:private';

/** The namespace an element of the query is in: its prefix's, or its own default ('' when it has none). */
function namespace_of(el: XmlElement, query: XmlElement): string {
  const colon = el[1].indexOf(':');
  if (colon === -1) return get_attr_s('xmlns', el[2]);
  const decl = `xmlns:${el[1].slice(0, colon)}`;
  return get_attr_s(decl, el[2]) || get_attr_s(decl, query[2]);
}

/**
 * The element with the query's prefix declarations it does not redeclare, so that it means the same
 * once stored on its own or put back in another `<query/>`.
 */
function self_contained(el: XmlElement, query: XmlElement): XmlElement {
  const inherited: XmlAttr[] = query[2].filter(
    ([k]) => k.startsWith('xmlns:') && !el[2].some(([own]) => own === k),
  );
  return inherited.length === 0 ? el : ['xmlelement', el[1], [...el[2], ...inherited], el[3]];
}

/** Whether `from` is the owner of the account `to` (same bare JID). */
function is_owner(from: Jid, to: Jid): boolean {
  return from.luser === to.luser && from.lserver === to.lserver;
}

function query(children: XmlElement[]): XmlElement {
  return ['xmlelement', 'query', [['xmlns', NS_PRIVATE]], children];
}

export function mod_private(env: ServerEnv): GenModule {
  return {
    name: 'mod_private',
    start(_host, _opts, ctx) {
      const handler = async (from: Jid, to: Jid, iq: Iq): Promise<Iq> => {
        if (!is_owner(from, to)) {
          ctx.log.info(
            `mod_private: ${from.toString()} may not ${iq.type} the private storage of ${to.toString()}: forbidden`,
          );
          return iq_error(iq, stanza_error('forbidden', "Only the owner may use a user's private storage"));
        }
        const q = iq.sub_el as XmlElement;
        if (q[1] !== 'query')
          return iq_error(iq, stanza_error('bad-request', 'The payload must be <query/>'));
        const children = q[3].filter((c): c is XmlElement => c[0] === 'xmlelement');
        if (children.length === 0) {
          // XEP-0049: a get without a child element is "Bad Format"; any query needs one ("Not Acceptable").
          ctx.log.debug(`mod_private: ${iq.type} from ${from.toString()} without a child element`);
          return iq.type === 'get'
            ? iq_error(iq, stanza_error('bad-request', 'Name the element to retrieve'))
            : iq_error(iq, stanza_error('not-acceptable', 'There is no element to store'));
        }
        const entries: [ns: string, el: XmlElement][] = [];
        for (const child of children) {
          const ns = namespace_of(child, q);
          if (ns === '' || ns.startsWith('jabber:')) {
            const why = ns === '' ? 'has no namespace of its own' : `is in the reserved namespace ${ns}`;
            ctx.log.info(`mod_private: <${child[1]}/> from ${from.toString()} ${why}: not-acceptable`);
            return iq_error(iq, stanza_error('not-acceptable', `<${child[1]}/> ${why}`));
          }
          entries.push([ns, self_contained(child, q)]);
        }
        return iq.type === 'set' ? set(from, to, iq, entries) : get(from, to, iq, entries);
      };

      const set = async (from: Jid, to: Jid, iq: Iq, entries: [string, XmlElement][]): Promise<Iq> => {
        // One element per namespace: of several in the same namespace, the last one stays.
        const byNs = new Map<string, string>();
        for (const [ns, el] of entries) {
          let xml: string;
          try {
            xml = element_to_string(el);
          } catch (e) {
            return iq_error(iq, stanza_error('bad-request', e instanceof Error ? e.message : String(e)));
          }
          const back = parse_element(xml);
          if (back[0] === 'error') {
            ctx.log.info(
              `mod_private: <${el[1]}/> (${ns}) from ${from.toString()} is not self-contained (${back[1].reason}): bad-request`,
            );
            return iq_error(
              iq,
              stanza_error('bad-request', `<${el[1]}/> cannot be stored: ${back[1].reason}`),
            );
          }
          byNs.delete(ns);
          byNs.set(ns, xml);
        }
        await env.storage.private.set(to.luser, to.lserver, [...byNs]);
        ctx.log.debug(`mod_private: stored ${[...byNs.keys()].join(', ')} for ${to.toString()}`);
        return iq_result(iq);
      };

      const get = async (from: Jid, to: Jid, iq: Iq, entries: [string, XmlElement][]): Promise<Iq> => {
        const found: XmlElement[] = [];
        for (const [ns, asked] of entries) {
          const stored = await env.storage.private.get(to.luser, to.lserver, ns);
          if (stored === undefined) {
            found.push(asked);
            continue;
          }
          const el = parse_element(stored);
          if (el[0] === 'error') {
            ctx.log.error(
              `mod_private: the stored ${ns} element of ${to.toString()} is not well-formed (${el[1].reason}); answered internal-server-error to ${from.toString()}`,
            );
            return iq_error(
              iq,
              stanza_error('internal-server-error', `The stored ${ns} element cannot be read`),
            );
          }
          found.push(el);
        }
        return iq_result(iq, [query(found)]);
      };

      ctx.add_iq_handler('ejabberd_sm', NS_PRIVATE, handler);
    },
  };
}
