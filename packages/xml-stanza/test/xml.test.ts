import { describe, expect, it } from 'vitest';
import {
  append_subtags,
  cdata,
  crypt,
  crypt_text,
  element,
  element_to_string,
  from_ltx,
  get_attr,
  get_attr_s,
  get_cdata,
  get_path_s,
  get_subtag,
  get_subtags,
  get_tag_attr,
  get_tag_attr_s,
  get_tag_cdata,
  is_cdata,
  is_element,
  is_xml_name,
  remove_cdata,
  remove_tag_attr,
  replace_tag_attr,
  to_ltx,
  type XmlElement,
} from '../src/index.js';

// The guide's example stanza: <message to='test@conference.example.org' type='groupchat'><body>test</body></message>
const message: XmlElement = [
  'xmlelement',
  'message',
  [
    ['to', 'test@conference.example.org'],
    ['type', 'groupchat'],
  ],
  [
    ['xmlcdata', '\n  '],
    ['xmlelement', 'body', [], [['xmlcdata', 'test']]],
    ['xmlcdata', '\n'],
  ],
];

describe('element_to_string', () => {
  it('serialises the guide example', () => {
    expect(element_to_string(message)).toBe(
      "<message to='test@conference.example.org' type='groupchat'>\n  <body>test</body>\n</message>",
    );
  });

  it('writes an element without children as an empty-element tag', () => {
    expect(element_to_string(element('presence'))).toBe('<presence/>');
    expect(element_to_string(element('a', [['b', '']]))).toBe("<a b=''/>");
  });

  it('escapes &, < and > in text and leaves quotes alone', () => {
    expect(element_to_string(element('b', [], [cdata(`a & b < c > d "e" 'f'`)]))).toBe(
      `<b>a &amp; b &lt; c &gt; d "e" 'f'</b>`,
    );
  });

  it('escapes both quotes and whitespace controls in attribute values', () => {
    expect(element_to_string(element('a', [['v', `&<>"'\t\n\r`]]))).toBe(
      "<a v='&amp;&lt;&gt;&quot;&apos;&#x9;&#xA;&#xD;'/>",
    );
  });

  it('keeps a carriage return in text as a character reference', () => {
    expect(element_to_string(element('a', [], [cdata('x\r\ny')]))).toBe('<a>x&#xD;\ny</a>');
  });

  it('passes non-ASCII and astral characters through unchanged', () => {
    const text = 'Grüße, 日本語, 😀 𝄞';
    expect(element_to_string(element('bødy', [['xml:lang', 'dé']], [cdata(text)]))).toBe(
      `<bødy xml:lang='dé'>${text}</bødy>`,
    );
  });

  it('replaces characters XML cannot carry with U+FFFD', () => {
    expect(element_to_string(element('a', [['k', 'x\u0000y']], [cdata('\u0001\uFFFE\uD800z')]))).toBe(
      "<a k='x\uFFFDy'>\uFFFD\uFFFD\uFFFDz</a>",
    );
  });

  it('refuses names that are not XML names', () => {
    expect(() => element_to_string(element('1a'))).toThrow(/element name "1a"/);
    expect(() => element_to_string(element('a b'))).toThrow(TypeError);
    expect(() => element_to_string(element('a', [['b c', '1']]))).toThrow(/attribute name "b c" of <a>/);
    expect(() => element_to_string(element(''))).toThrow(TypeError);
  });

  it('refuses duplicate attributes', () => {
    expect(() =>
      element_to_string(
        element('a', [
          ['x', '1'],
          ['x', '2'],
        ]),
      ),
    ).toThrow(/duplicate attribute 'x' on <a>/);
  });

  it('serialises nested children in order', () => {
    const el = element(
      'iq',
      [['type', 'result']],
      [element('query', [['xmlns', 'jabber:iq:roster']], [element('item', [['jid', 'a@b']])])],
    );
    expect(element_to_string(el)).toBe(
      "<iq type='result'><query xmlns='jabber:iq:roster'><item jid='a@b'/></query></iq>",
    );
  });
});

describe('crypt', () => {
  it('encodes every XML special character', () => {
    expect(crypt(`<a href="x">Tom & 'Jerry'</a>`)).toBe(
      '&lt;a href=&quot;x&quot;&gt;Tom &amp; &apos;Jerry&apos;&lt;/a&gt;',
    );
  });
  it('returns a string without special characters as it is', () => {
    expect(crypt('plain text é')).toBe('plain text é');
  });
  it('crypt_text escapes only what text needs', () => {
    expect(crypt_text(`"'&<>`)).toBe(`"'&amp;&lt;&gt;`);
  });
});

describe('remove_cdata and cdata getters', () => {
  it('remove_cdata keeps only the elements', () => {
    expect(remove_cdata(message[3])).toEqual([['xmlelement', 'body', [], [['xmlcdata', 'test']]]]);
  });
  it('get_cdata concatenates the character data of a list', () => {
    expect(get_cdata([cdata('a'), element('x'), cdata('b')])).toBe('ab');
    expect(get_cdata([])).toBe('');
  });
  it('get_tag_cdata reads an element', () => {
    expect(get_tag_cdata(get_subtag(message, 'body') as XmlElement)).toBe('test');
    expect(get_tag_cdata(element('x'))).toBe('');
  });
});

describe('attributes', () => {
  it('get_attr answers {value, Val} or false', () => {
    expect(get_attr('type', message[2])).toEqual(['value', 'groupchat']);
    expect(get_attr('id', message[2])).toBe(false);
  });
  it('get_attr_s answers the value or the empty string', () => {
    expect(get_attr_s('to', message[2])).toBe('test@conference.example.org');
    expect(get_attr_s('id', message[2])).toBe('');
  });
  it('get_tag_attr and get_tag_attr_s read an element', () => {
    expect(get_tag_attr('to', message)).toEqual(['value', 'test@conference.example.org']);
    expect(get_tag_attr('from', message)).toBe(false);
    expect(get_tag_attr_s('type', message)).toBe('groupchat');
    expect(get_tag_attr_s('from', message)).toBe('');
  });
  it('replace_tag_attr replaces in place or appends, without touching the original', () => {
    const replaced = replace_tag_attr('type', 'chat', message);
    expect(replaced[2]).toEqual([
      ['to', 'test@conference.example.org'],
      ['type', 'chat'],
    ]);
    expect(replace_tag_attr('id', '1', message)[2].at(-1)).toEqual(['id', '1']);
    expect(get_tag_attr_s('type', message)).toBe('groupchat');
  });
  it('remove_tag_attr drops the attribute', () => {
    expect(remove_tag_attr('to', message)[2]).toEqual([['type', 'groupchat']]);
    expect(message[2]).toHaveLength(2);
  });
});

describe('subtags', () => {
  const query = element(
    'query',
    [['xmlns', 'jabber:iq:roster']],
    [element('item', [['jid', 'a@b']]), cdata(' '), element('group'), element('item', [['jid', 'c@d']])],
  );
  it('get_subtag finds the first child with the name, or false', () => {
    expect(get_subtag(query, 'item')).toEqual(element('item', [['jid', 'a@b']]));
    expect(get_subtag(query, 'nothing')).toBe(false);
  });
  it('get_subtags finds them all in order', () => {
    expect(get_subtags(query, 'item').map((el) => get_tag_attr_s('jid', el))).toEqual(['a@b', 'c@d']);
    expect(get_subtags(query, 'nothing')).toEqual([]);
  });
  it('append_subtags adds children to a copy', () => {
    const more = append_subtags(element('a'), [element('b'), cdata('t')]);
    expect(element_to_string(more)).toBe('<a><b/>t</a>');
  });
});

describe('get_path_s', () => {
  const iq = element(
    'iq',
    [['type', 'get']],
    [
      element(
        'query',
        [['xmlns', 'ejabberd:cputime']],
        [element('cputime', [['unit', 's']], [cdata('0.120')])],
      ),
    ],
  );
  it('returns the element for an empty path', () => {
    expect(get_path_s(iq, [])).toBe(iq);
  });
  it('follows elem steps and ends at an attribute or cdata', () => {
    expect(get_path_s(iq, [['elem', 'query'], ['elem', 'cputime'], 'cdata'])).toBe('0.120');
    expect(
      get_path_s(iq, [
        ['elem', 'query'],
        ['attr', 'xmlns'],
      ]),
    ).toBe('ejabberd:cputime');
    expect(
      get_path_s(iq, [
        ['elem', 'query'],
        ['elem', 'cputime'],
        ['attr', 'unit'],
      ]),
    ).toBe('s');
    expect(get_path_s(iq, [['elem', 'query']])).toEqual(iq[3][0]);
  });
  it('gives the empty string for a missing step', () => {
    expect(get_path_s(iq, [['elem', 'nothing'], 'cdata'])).toBe('');
    expect(get_path_s(iq, [['attr', 'id']])).toBe('');
    expect(
      get_path_s(iq, [
        ['attr', 'type'],
        ['elem', 'x'],
      ]),
    ).toBe('');
  });
});

describe('constructors and guards', () => {
  it('build the tuples of the guide', () => {
    expect(element('body', [], [cdata('x')])).toEqual(['xmlelement', 'body', [], [['xmlcdata', 'x']]]);
    expect(is_element(message)).toBe(true);
    expect(is_element(cdata('x'))).toBe(false);
    expect(is_cdata(cdata('x'))).toBe(true);
    expect(is_cdata(['xmlcdata'])).toBe(false);
  });
  it('is_xml_name follows the Name production', () => {
    expect(is_xml_name('stream:stream')).toBe(true);
    expect(is_xml_name('_x-1.2')).toBe(true);
    expect(is_xml_name('日本')).toBe(true);
    expect(is_xml_name('\u{10000}a')).toBe(true);
    expect(is_xml_name('-x')).toBe(false);
    expect(is_xml_name('a\u00d7')).toBe(false);
    expect(is_xml_name('')).toBe(false);
  });
});

describe('ltx interop', () => {
  it('converts to an ltx Element and back', () => {
    const ltx = to_ltx(message);
    expect(ltx.name).toBe('message');
    expect(ltx.attrs.to).toBe('test@conference.example.org');
    expect(ltx.getChildText('body')).toBe('test');
    expect(from_ltx(ltx)).toEqual(message);
  });
  it('serialises the same as ltx for a stanza without ambiguity', () => {
    const el = element('message', [['to', 'a@b']], [element('body', [], [cdata('x & y')])]);
    expect(to_ltx(el).toString()).toBe(element_to_string(el).replaceAll("'", '"'));
  });
  it('merges adjacent text children of an ltx element', () => {
    const ltx = to_ltx(element('a'));
    ltx.t('x');
    ltx.t('y');
    ltx.t('');
    expect(from_ltx(ltx)).toEqual(element('a', [], [cdata('xy')]));
  });
});
