/**
 * mod_vcard (XEP-0054 vcard-temp): each user's vCard, kept as XML text in `env.storage.vcard`. Anyone may
 * read a user's vCard (an empty `<vCard/>` when none was stored); only the user may replace it. The
 * server's own JID answers with the server's vCard (the `vcard` option, or one naming tsjabberd), so
 * disco#info on the server lists vcard-temp.
 *
 * Differences from ejabberd: no XEP-0055 user directory (the `search`, `host`, `matches`, `name`,
 * `allow_return_all` options), no cache options. A set addressed to another user is `forbidden`
 * (ejabberd stores it as the sender's own vCard, whatever the `to`); the `vcard_iq_set` hook does not
 * exist yet. A get for an account that does not exist is `service-unavailable` (RFC 6121 8.5.1) rather
 * than an empty vCard. A vCard whose text could not be read back (a namespace prefix declared outside
 * it) is refused with `bad-request` instead of being stored broken.
 */
import type { Jid } from '@tsjabberd/jid';
import { type GenModule, type Iq, iq_error, iq_result, stanza_error } from '@tsjabberd/router';
import { element_to_string, is_xml_name, type XmlElement } from '@tsjabberd/xml-stanza';
import { parse_element } from '@tsjabberd/xml-stream';
import type { ServerEnv } from './env.js';

export const NS_VCARD = 'vcard-temp';

/** Where the server's default vCard points: the server package. */
export const TSJABBERD_URL = 'https://www.npmjs.com/package/@tsjabberd/server';

export interface VcardOptions {
  /**
   * ejabberd's `vcard`: the server's vCard as YAML, field names in lower case (`fn`, `url`, `desc`,
   * `nickname`, `adr: [{work: true, street: ...}]`, ...). Undefined: a vCard naming tsjabberd.
   */
  vcard: XmlElement | undefined;
}

/**
 * The `vcard` option as a `<vCard/>` element: each key becomes an upper-case element; a string (or
 * number) its text, a map its children, a list repeated elements, `true` an empty element (`work: true`
 * is `<WORK/>`), `false` nothing.
 */
export function vcard_from_yaml(value: unknown): XmlElement {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`expected a map of vCard fields (fn, url, desc, ...), got ${JSON.stringify(value)}`);
  }
  return ['xmlelement', 'vCard', [['xmlns', NS_VCARD]], fields(value as Record<string, unknown>, 'vcard')];
}

function fields(map: Record<string, unknown>, path: string): XmlElement[] {
  const out: XmlElement[] = [];
  for (const [key, value] of Object.entries(map)) {
    const name = key.toUpperCase();
    if (!is_xml_name(name) || name.includes(':'))
      throw new Error(`${path}: '${key}' is not a vCard field name`);
    for (const item of Array.isArray(value) ? value : [value]) {
      const at = `${path}.${key}`;
      if (typeof item === 'string' || typeof item === 'number') {
        out.push(['xmlelement', name, [], [['xmlcdata', String(item)]]]);
      } else if (item === true) {
        out.push(['xmlelement', name, [], []]);
      } else if (item === false) {
        // an absent flag
      } else if (typeof item === 'object' && item !== null && !Array.isArray(item)) {
        out.push(['xmlelement', name, [], fields(item as Record<string, unknown>, at)]);
      } else {
        throw new Error(`${at}: expected text, true/false, a map or a list, got ${JSON.stringify(item)}`);
      }
    }
  }
  return out;
}

/** The server's vCard when the `vcard` option is not set. */
function default_server_vcard(): XmlElement {
  const text = (name: string, value: string): XmlElement => ['xmlelement', name, [], [['xmlcdata', value]]];
  return [
    'xmlelement',
    'vCard',
    [['xmlns', NS_VCARD]],
    [
      text('FN', 'tsjabberd'),
      text('URL', TSJABBERD_URL),
      text('DESC', 'XMPP server in TypeScript, after ejabberd'),
    ],
  ];
}

function empty_vcard(): XmlElement {
  return ['xmlelement', 'vCard', [['xmlns', NS_VCARD]], []];
}

/** Whether `from` is the owner of the account `to` (same bare JID). */
function is_owner(from: Jid, to: Jid): boolean {
  return from.luser === to.luser && from.lserver === to.lserver;
}

export function mod_vcard(env: ServerEnv): GenModule<VcardOptions> {
  return {
    name: 'mod_vcard',
    options: {
      vcard: { default: undefined, validate: vcard_from_yaml },
    },
    start(_host, opts, ctx) {
      const server_vcard = opts.vcard ?? default_server_vcard();

      ctx.add_iq_handler('ejabberd_local', NS_VCARD, (_from, _to, iq) => {
        if (iq.type === 'set')
          return iq_error(iq, stanza_error('not-allowed', "The server's vCard cannot be changed"));
        return iq_result(iq, [server_vcard]);
      });

      const get = async (from: Jid, to: Jid, iq: Iq): Promise<Iq> => {
        const stored = await env.storage.vcard.get(to.luser, to.lserver);
        if (stored === undefined) {
          if (!(await env.auth.user_exists(to.luser, to.lserver))) {
            ctx.log.debug(`mod_vcard: vCard of ${to.toString()} asked by ${from.toString()}: no such user`);
            return iq_error(iq, stanza_error('service-unavailable'));
          }
          return iq_result(iq, [empty_vcard()]);
        }
        const vcard = parse_element(stored);
        if (vcard[0] === 'error') {
          ctx.log.error(
            `mod_vcard: the stored vCard of ${to.toString()} is not well-formed (${vcard[1].reason}); answered internal-server-error to ${from.toString()}`,
          );
          return iq_error(iq, stanza_error('internal-server-error', 'The stored vCard cannot be read'));
        }
        return iq_result(iq, [vcard]);
      };

      const set = async (from: Jid, to: Jid, iq: Iq): Promise<Iq> => {
        if (!is_owner(from, to)) {
          ctx.log.info(`mod_vcard: ${from.toString()} may not set the vCard of ${to.toString()}: forbidden`);
          return iq_error(iq, stanza_error('forbidden', "Only the owner may change a user's vCard"));
        }
        const vcard = iq.sub_el as XmlElement;
        if (vcard[1] !== 'vCard') {
          ctx.log.debug(`mod_vcard: ${from.toString()} sent <${vcard[1]}/> instead of <vCard/>: bad-request`);
          return iq_error(iq, stanza_error('bad-request', 'The payload must be <vCard/>'));
        }
        let xml: string;
        try {
          xml = element_to_string(vcard);
        } catch (e) {
          return iq_error(iq, stanza_error('bad-request', e instanceof Error ? e.message : String(e)));
        }
        // What is stored must read back: a prefix declared outside the vCard would not.
        const back = parse_element(xml);
        if (back[0] === 'error') {
          ctx.log.info(
            `mod_vcard: the vCard of ${from.toString()} is not self-contained (${back[1].reason}): bad-request`,
          );
          return iq_error(iq, stanza_error('bad-request', `The vCard cannot be stored: ${back[1].reason}`));
        }
        await env.storage.vcard.set(to.luser, to.lserver, xml);
        ctx.log.debug(`mod_vcard: stored the vCard of ${to.toString()} (${xml.length} characters)`);
        return iq_result(iq);
      };

      ctx.add_iq_handler('ejabberd_sm', NS_VCARD, (from, to, iq) =>
        iq.type === 'set' ? set(from, to, iq) : get(from, to, iq),
      );
    },
  };
}
