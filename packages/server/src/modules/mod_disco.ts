/**
 * mod_disco (XEP-0030): the server JID answers disco#info with its identity, the features of every
 * IQ handler registered on it and those the modules add through the `disco_local_features` hook
 * (fold, acc `string[]`, args `[host]`: features served elsewhere, e.g. mod_blocking's on the user's
 * bare JID), and disco#items with the services (routes) under the host.
 */
import { type GenModule, type Iq, iq_error, iq_result, stanza_error } from '@tsjabberd/router';
import type { XmlElement } from '@tsjabberd/xml-stanza';

export const NS_DISCO_INFO = 'http://jabber.org/protocol/disco#info';
export const NS_DISCO_ITEMS = 'http://jabber.org/protocol/disco#items';

function node(iq: { sub_el: XmlElement | XmlElement[] }): string {
  const sub = iq.sub_el as XmlElement;
  for (const [k, v] of sub[2]) if (k === 'node') return v;
  return '';
}

export const mod_disco: GenModule<{ name: string }> = {
  name: 'mod_disco',
  options: {
    name: {
      default: 'tsjabberd',
      validate(value) {
        if (typeof value !== 'string') throw new Error(`expected a string, got ${JSON.stringify(value)}`);
        return value;
      },
    },
  },
  start(host, opts, ctx) {
    const iqs = ctx.node.gen_iq_handler;
    const info = (iq: Iq, extra: string[] | 'stopped'): Iq => {
      const features = [NS_DISCO_INFO, NS_DISCO_ITEMS, ...iqs.namespaces('ejabberd_local', host)];
      if (Array.isArray(extra)) features.push(...extra.filter((f) => typeof f === 'string'));
      const unique = [...new Set(features)].sort();
      return iq_result(iq, [
        [
          'xmlelement',
          'query',
          [['xmlns', NS_DISCO_INFO]],
          [
            [
              'xmlelement',
              'identity',
              [
                ['category', 'server'],
                ['type', 'im'],
                ['name', opts.name],
              ],
              [],
            ],
            ...unique.map((v): XmlElement => ['xmlelement', 'feature', [['var', v]], []]),
          ],
        ],
      ]);
    };
    ctx.add_iq_handler('ejabberd_local', NS_DISCO_INFO, (_from, _to, iq) => {
      if (iq.type === 'set') return iq_error(iq, stanza_error('not-allowed'));
      if (node(iq) !== '') return iq_error(iq, stanza_error('item-not-found'));
      // ejabberd's disco_local_features: synchronous unless a module answers with a promise.
      const extra = ctx.node.ejabberd_hooks.run_fold<string[]>('disco_local_features', host, [], [host]);
      return extra instanceof Promise ? extra.then((e) => info(iq, e)) : info(iq, extra);
    });
    ctx.add_iq_handler('ejabberd_local', NS_DISCO_ITEMS, (_from, _to, iq) => {
      if (iq.type === 'set') return iq_error(iq, stanza_error('not-allowed'));
      if (node(iq) !== '') return iq_error(iq, stanza_error('item-not-found'));
      const services = ctx.node.ejabberd_router
        .dirty_get_all_routes()
        .filter((d) => d.endsWith(`.${host}`))
        .sort();
      return iq_result(iq, [
        [
          'xmlelement',
          'query',
          [['xmlns', NS_DISCO_ITEMS]],
          services.map((d): XmlElement => ['xmlelement', 'item', [['jid', d]], []]),
        ],
      ]);
    });
  },
};
