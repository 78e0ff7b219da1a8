export type { AttrLookup, PathItem } from './access.js';
export {
  get_attr,
  get_attr_s,
  get_cdata,
  get_path_s,
  get_subtag,
  get_subtags,
  get_tag_attr,
  get_tag_attr_s,
  get_tag_cdata,
  remove_cdata,
} from './access.js';
export {
  ASCII_CLASS,
  FORBIDDEN_CHAR,
  is_xml_name,
  isNameCharNonAscii,
  isNameStartNonAscii,
  isXmlChar,
  NAME_CHAR,
  NAME_START,
  WHITESPACE,
} from './chars.js';
export {
  append_subtags,
  cdata,
  element,
  is_cdata,
  is_element,
  remove_tag_attr,
  replace_tag_attr,
} from './construct.js';
export { crypt, crypt_text, element_to_string } from './element_to_string.js';
export { from_ltx, to_ltx } from './ltx.js';
export type { XmlAttr, XmlCdata, XmlElement, XmlNode } from './types.js';
