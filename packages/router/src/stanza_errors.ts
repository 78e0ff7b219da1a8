import type { XmlElement } from '@tsjabberd/xml-stanza';

export const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';

/** RFC 6120 section 8.3.2's error types. */
export type StanzaErrorType = 'auth' | 'cancel' | 'continue' | 'modify' | 'wait';

/** RFC 6120 section 8.3.3's defined conditions, with the type the RFC gives each. */
export const STANZA_ERROR_TYPES = {
  'bad-request': 'modify',
  conflict: 'cancel',
  'feature-not-implemented': 'cancel',
  forbidden: 'auth',
  gone: 'cancel',
  'internal-server-error': 'cancel',
  'item-not-found': 'cancel',
  'jid-malformed': 'modify',
  'not-acceptable': 'modify',
  'not-allowed': 'cancel',
  'not-authorized': 'auth',
  'policy-violation': 'modify',
  'recipient-unavailable': 'wait',
  redirect: 'modify',
  'registration-required': 'auth',
  'remote-server-not-found': 'cancel',
  'remote-server-timeout': 'wait',
  'resource-constraint': 'wait',
  'service-unavailable': 'cancel',
  'subscription-required': 'auth',
  'undefined-condition': 'cancel',
  'unexpected-request': 'wait',
} as const satisfies Record<string, StanzaErrorType>;

export type StanzaErrorCondition = keyof typeof STANZA_ERROR_TYPES;

/**
 * The `<error/>` child of RFC 6120 section 8.3: `type`, the condition element and an optional `<text/>`.
 * The type defaults to the one the RFC gives the condition.
 */
export function stanza_error(
  condition: StanzaErrorCondition,
  text?: string,
  type: StanzaErrorType = STANZA_ERROR_TYPES[condition],
  lang = 'en',
): XmlElement {
  const children: XmlElement[] = [['xmlelement', condition, [['xmlns', NS_STANZAS]], []]];
  if (text !== undefined && text !== '') {
    children.push([
      'xmlelement',
      'text',
      [
        ['xmlns', NS_STANZAS],
        ['xml:lang', lang],
      ],
      [['xmlcdata', text]],
    ]);
  }
  return ['xmlelement', 'error', [['type', type]], children];
}

// The shorthands of ejabberd's jlib.hrl (?ERR_SERVICE_UNAVAILABLE, ...), for the common conditions.
export const ERR_BAD_REQUEST = stanza_error('bad-request');
export const ERR_FEATURE_NOT_IMPLEMENTED = stanza_error('feature-not-implemented');
export const ERR_FORBIDDEN = stanza_error('forbidden');
export const ERR_INTERNAL_SERVER_ERROR = stanza_error('internal-server-error');
export const ERR_ITEM_NOT_FOUND = stanza_error('item-not-found');
export const ERR_NOT_ALLOWED = stanza_error('not-allowed');
export const ERR_REMOTE_SERVER_NOT_FOUND = stanza_error('remote-server-not-found');
export const ERR_RESOURCE_CONSTRAINT = stanza_error('resource-constraint');
export const ERR_SERVICE_UNAVAILABLE = stanza_error('service-unavailable');

/** The `type` attribute of a stanza ('' when absent). */
export function stanza_type(packet: XmlElement): string {
  for (const [key, value] of packet[2]) if (key === 'type') return value;
  return '';
}

/**
 * `jlib:make_error_reply(Packet, Error)`: the packet turned into an error reply, `type='error'`, its
 * `to` and `from` attributes swapped, the original payload kept and the `<error/>` appended
 * (RFC 6120 section 8.3.1).
 */
export function make_error_reply(packet: XmlElement, error: XmlElement): XmlElement {
  const attrs: [string, string][] = [];
  let to: string | undefined;
  let from: string | undefined;
  for (const attr of packet[2]) {
    if (attr[0] === 'to') to = attr[1];
    else if (attr[0] === 'from') from = attr[1];
    else if (attr[0] !== 'type') attrs.push(attr);
  }
  if (from !== undefined) attrs.push(['to', from]);
  if (to !== undefined) attrs.push(['from', to]);
  attrs.push(['type', 'error']);
  return ['xmlelement', packet[1], attrs, [...packet[3], error]];
}

/** The condition of an error stanza's `<error/>` child, for logs and tests ('' when there is none). */
export function error_condition(packet: XmlElement): string {
  for (const child of packet[3]) {
    if (child[0] === 'xmlelement' && child[1] === 'error') {
      for (const c of child[3]) {
        if (c[0] === 'xmlelement' && c[1] !== 'text') return c[1];
      }
    }
  }
  return '';
}
