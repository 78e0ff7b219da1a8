import type { XmlElement } from '@tsjabberd/xml-stanza';

export type IqType = 'get' | 'set' | 'result' | 'error';

/**
 * ejabberd's `#iq{}` record (jlib.hrl): what an IQ handler receives and returns. `sub_el` is the payload
 * of a request; in a reply it is the list of children to send (`[]` for an empty result).
 */
export interface Iq {
  id: string;
  type: IqType;
  /** The namespace of the payload, which selects the handler. */
  xmlns: string;
  lang: string;
  sub_el: XmlElement | XmlElement[];
}

/**
 * `jlib:iq_query_info(Packet)`: the `#iq{}` of a request, `'reply'` for a result or error, `'invalid'`
 * for an IQ that breaks RFC 6120 section 8.2.3 (no id, an unknown type, or a get/set without exactly
 * one payload element), `'not_iq'` for anything else.
 */
export function iq_query_info(packet: XmlElement): Iq | 'reply' | 'invalid' | 'not_iq' {
  if (packet[1] !== 'iq') return 'not_iq';
  let id: string | undefined;
  let type = '';
  let lang = '';
  for (const [key, value] of packet[2]) {
    if (key === 'id') id = value;
    else if (key === 'type') type = value;
    else if (key === 'xml:lang') lang = value;
  }
  if (type === 'result' || type === 'error') return id === undefined ? 'invalid' : 'reply';
  if ((type !== 'get' && type !== 'set') || id === undefined) return 'invalid';
  let payload: XmlElement | undefined;
  for (const child of packet[3]) {
    if (child[0] !== 'xmlelement') continue;
    if (payload !== undefined) return 'invalid';
    payload = child;
  }
  if (payload === undefined) return 'invalid';
  let xmlns = '';
  for (const [key, value] of payload[2]) if (key === 'xmlns') xmlns = value;
  return { id, type, xmlns, lang, sub_el: payload };
}

/** `sub_el` as a list: one element (a tuple tagged 'xmlelement') or already a list of them. */
export function sub_els(sub_el: XmlElement | XmlElement[]): XmlElement[] {
  return sub_el[0] === 'xmlelement' ? [sub_el as XmlElement] : (sub_el as XmlElement[]);
}

/** `jlib:iq_to_xml(IQ)`: the `<iq/>` element of an `#iq{}` (a reply, usually). */
export function iq_to_xml(iq: Iq): XmlElement {
  const children = sub_els(iq.sub_el);
  return [
    'xmlelement',
    'iq',
    [
      ['id', iq.id],
      ['type', iq.type],
    ],
    children,
  ];
}

/** A result for `iq` carrying `children` (`jlib:iq_to_xml` of `IQ#iq{type = result, sub_el = ...}`). */
export function iq_result(iq: Iq, children: XmlElement[] = []): Iq {
  return { ...iq, type: 'result', sub_el: children };
}

/** An error reply for `iq`: the request's payload followed by the `<error/>`, as ejabberd answers. */
export function iq_error(iq: Iq, error: XmlElement): Iq {
  return { ...iq, type: 'error', sub_el: [...sub_els(iq.sub_el), error] };
}
