/** mod_version (XEP-0092): the server JID tells its software name and version, and the OS if asked. */

import os from 'node:os';
import { type GenModule, iq_error, iq_result, stanza_error } from '@tsjabberd/router';
import type { XmlElement } from '@tsjabberd/xml-stanza';

export const NS_VERSION = 'jabber:iq:version';
export const VERSION = '0.1.0';

export const mod_version: GenModule<{ show_os: boolean }> = {
  name: 'mod_version',
  options: {
    show_os: {
      default: true,
      validate(value) {
        if (typeof value !== 'boolean')
          throw new Error(`expected true or false, got ${JSON.stringify(value)}`);
        return value;
      },
    },
  },
  start(_host, opts, ctx) {
    ctx.add_iq_handler('ejabberd_local', NS_VERSION, (_from, _to, iq) => {
      if (iq.type === 'set') return iq_error(iq, stanza_error('not-allowed'));
      const children: XmlElement[] = [
        ['xmlelement', 'name', [], [['xmlcdata', 'tsjabberd']]],
        ['xmlelement', 'version', [], [['xmlcdata', VERSION]]],
      ];
      if (opts.show_os)
        children.push(['xmlelement', 'os', [], [['xmlcdata', `${os.type()} ${os.release()}`]]]);
      return iq_result(iq, [['xmlelement', 'query', [['xmlns', NS_VERSION]], children]]);
    });
  },
};
