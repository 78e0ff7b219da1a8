import { Element } from 'ltx';
import type { XmlAttr, XmlElement, XmlNode } from './types.js';

/**
 * Conversion to and from ltx's `Element` (the model of xmpp.js), so code written for xmpp.js works
 * beside ours. ltx keeps attributes in an object: order survives, duplicates cannot exist.
 */
export function to_ltx(el: XmlElement): Element {
  const attrs: Record<string, string> = {};
  for (const [key, value] of el[2]) attrs[key] = value;
  const out = new Element(el[1], attrs);
  for (const child of el[3]) {
    if (child[0] === 'xmlcdata') out.t(child[1]);
    else out.cnode(to_ltx(child));
  }
  return out;
}

/** The tuple of an ltx `Element`; adjacent text children are merged, empty ones dropped. */
export function from_ltx(el: Element): XmlElement {
  const attrs: XmlAttr[] = [];
  for (const key of Object.keys(el.attrs)) {
    const value = el.attrs[key];
    if (value !== undefined && value !== null) attrs.push([key, String(value)]);
  }
  const children: XmlNode[] = [];
  for (const child of el.children) {
    if (typeof child === 'string') {
      if (child === '') continue;
      const last = children[children.length - 1];
      if (last !== undefined && last[0] === 'xmlcdata') last[1] += child;
      else children.push(['xmlcdata', child]);
    } else {
      children.push(from_ltx(child as Element));
    }
  }
  return ['xmlelement', el.name, attrs, children];
}
