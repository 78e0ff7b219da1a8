import type { XmlAttr, XmlCdata, XmlElement, XmlNode } from './types.js';

/** Builds `{xmlelement, Name, Attrs, Children}`. */
export function element(name: string, attrs: XmlAttr[] = [], children: XmlNode[] = []): XmlElement {
  return ['xmlelement', name, attrs, children];
}

/** Builds `{xmlcdata, Text}`. */
export function cdata(text: string): XmlCdata {
  return ['xmlcdata', text];
}

export function is_element(node: unknown): node is XmlElement {
  return Array.isArray(node) && node.length === 4 && node[0] === 'xmlelement' && typeof node[1] === 'string';
}

export function is_cdata(node: unknown): node is XmlCdata {
  return Array.isArray(node) && node.length === 2 && node[0] === 'xmlcdata' && typeof node[1] === 'string';
}

/** Like ejabberd's `xml:replace_tag_attr/3`: a copy of `el` whose attribute `name` is `value` (added last if absent). */
export function replace_tag_attr(name: string, value: string, el: XmlElement): XmlElement {
  const attrs = el[2];
  const out: XmlAttr[] = [];
  let replaced = false;
  for (const attr of attrs) {
    if (attr[0] === name) {
      if (!replaced) out.push([name, value]);
      replaced = true;
    } else {
      out.push(attr);
    }
  }
  if (!replaced) out.push([name, value]);
  return ['xmlelement', el[1], out, el[3]];
}

/** Like ejabberd's `xml:remove_tag_attr/2`: a copy of `el` without attribute `name`. */
export function remove_tag_attr(name: string, el: XmlElement): XmlElement {
  return ['xmlelement', el[1], el[2].filter((attr) => attr[0] !== name), el[3]];
}

/** A copy of `el` with `children` appended (ejabberd's `xml:append_subtags/2`). */
export function append_subtags(el: XmlElement, children: XmlNode[]): XmlElement {
  return ['xmlelement', el[1], el[2], el[3].concat(children)];
}
