import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/**
 * Black-box check of what a user installs: plain Node (no TypeScript, no vitest resolution) imports each
 * package by its published name and finds the ejabberd names. Runs against the build (`npm run build`).
 */
function exportsOf(pkg: string): string[] {
  const out = execFileSync(
    process.execPath,
    ['--input-type=module', '-e', `console.log(JSON.stringify(Object.keys(await import('${pkg}'))))`],
    {
      encoding: 'utf8',
    },
  );
  return JSON.parse(out) as string[];
}

describe('published entry points', () => {
  it('@tsjabberd/xml-stanza exports the xml module', () => {
    expect(exportsOf('@tsjabberd/xml-stanza')).toEqual(
      expect.arrayContaining([
        'element_to_string',
        'crypt',
        'remove_cdata',
        'get_path_s',
        'get_cdata',
        'get_tag_cdata',
        'get_attr',
        'get_attr_s',
        'get_tag_attr',
        'get_tag_attr_s',
        'get_subtag',
        'to_ltx',
        'from_ltx',
      ]),
    );
  });

  it('@tsjabberd/xml-stream exports xml_stream and parse_element', () => {
    expect(exportsOf('@tsjabberd/xml-stream')).toEqual(
      expect.arrayContaining(['xml_stream', 'parse_element', 'XmlStream']),
    );
  });

  it('@tsjabberd/jid exports the jlib names', () => {
    expect(exportsOf('@tsjabberd/jid')).toEqual(
      expect.arrayContaining(['make', 'string_to_jid', 'jid_to_string', 'tolower', 'remove_resource']),
    );
  });

  it('a stanza parsed by the built package round-trips through element_to_string', () => {
    const script = `
      import { parse_element } from '@tsjabberd/xml-stream';
      import { element_to_string } from '@tsjabberd/xml-stanza';
      console.log(element_to_string(parse_element("<message to='a@b'><body>x &amp; é</body></message>")));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(out.trim()).toBe("<message to='a@b'><body>x &amp; é</body></message>");
  });
});
