import type { XmlAttr, XmlElement, XmlNode } from './types.js';

/** `{value, Val}` or `false`, as ejabberd's `get_attr` answers. */
export type AttrLookup = ['value', string] | false;

/** `remove_cdata(ECList) -> EList`: the elements of a child list, without its character data. */
export function remove_cdata(children: readonly XmlNode[]): XmlElement[] {
  const out: XmlElement[] = [];
  for (const child of children) if (child[0] === 'xmlelement') out.push(child);
  return out;
}

/** `get_cdata(ECList)`: the character data of a child list, concatenated. */
export function get_cdata(children: readonly XmlNode[]): string {
  let text = '';
  for (const child of children) if (child[0] === 'xmlcdata') text += child[1];
  return text;
}

/** `get_tag_cdata(El)`: the character data directly inside an element. */
export function get_tag_cdata(el: XmlElement): string {
  return get_cdata(el[3]);
}

/** `get_attr(Name, Attrs)`: `['value', Val]` or `false`. */
export function get_attr(name: string, attrs: readonly XmlAttr[]): AttrLookup {
  for (const attr of attrs) if (attr[0] === name) return ['value', attr[1]];
  return false;
}

/** `get_attr_s(Name, Attrs)`: the value, or `''` when absent. */
export function get_attr_s(name: string, attrs: readonly XmlAttr[]): string {
  for (const attr of attrs) if (attr[0] === name) return attr[1];
  return '';
}

/** `get_tag_attr(Name, El)`: `['value', Val]` or `false`. */
export function get_tag_attr(name: string, el: XmlElement): AttrLookup {
  return get_attr(name, el[2]);
}

/** `get_tag_attr_s(Name, El)`: the value, or `''` when absent. */
export function get_tag_attr_s(name: string, el: XmlElement): string {
  return get_attr_s(name, el[2]);
}

/** `get_subtag(El, Name)`: the first child element called `Name`, or `false`. */
export function get_subtag(el: XmlElement, name: string): XmlElement | false {
  for (const child of el[3]) if (child[0] === 'xmlelement' && child[1] === name) return child;
  return false;
}

/** `get_subtags(El, Name)`: every child element called `Name`, in document order. */
export function get_subtags(el: XmlElement, name: string): XmlElement[] {
  const out: XmlElement[] = [];
  for (const child of el[3]) if (child[0] === 'xmlelement' && child[1] === name) out.push(child);
  return out;
}

/** A step of `get_path_s`: `['elem', Name]`, `['attr', Name]` or `'cdata'`. */
export type PathItem = ['elem', string] | ['attr', string] | 'cdata';

/**
 * `get_path_s(El, Path)`: walk `Path` from `El`. An empty path gives `El`; `['elem', Name]` steps into
 * the first such child (a missing child gives `''`); `['attr', Name]` gives the attribute value (or `''`);
 * `'cdata'` gives the element's character data. A step after an attribute or cdata finds nothing: `''`.
 */
export function get_path_s(el: XmlElement, path: readonly PathItem[]): string | XmlElement {
  let current: string | XmlElement = el;
  for (const item of path) {
    if (typeof current === 'string') return '';
    if (item === 'cdata') {
      current = get_tag_cdata(current);
    } else if (item[0] === 'elem') {
      const sub = get_subtag(current, item[1]);
      if (sub === false) return '';
      current = sub;
    } else {
      current = get_tag_attr_s(item[1], current);
    }
  }
  return current;
}
