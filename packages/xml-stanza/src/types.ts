/**
 * The element/cdata tuple model of ejabberd's `xml` module (Developers Guide, "XML Representation").
 *
 *   XMLElement = {xmlelement, Name, Attrs, [ElementOrCDATA]}
 *   CDATA      = {xmlcdata, string()}
 *
 * Tuples become arrays tagged by their first item, so a stanza reads the same here as in Erlang:
 *   ['xmlelement', 'message', [['to', 'a@b']], [['xmlelement', 'body', [], [['xmlcdata', 'hi']]]]]
 */

/** `{Key, Val}`: attributes keep the order in which they were written. */
export type XmlAttr = [name: string, value: string];

/** `{xmlcdata, Text}`: character data, already unescaped. */
export type XmlCdata = ['xmlcdata', text: string];

/** `{xmlelement, Name, Attrs, Children}`. `Name` is the qualified name as written (`stream:features`). */
export type XmlElement = ['xmlelement', name: string, attrs: XmlAttr[], children: XmlNode[]];

/** `ElementOrCDATA`. */
export type XmlNode = XmlElement | XmlCdata;
