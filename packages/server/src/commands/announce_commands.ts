/**
 * The `announce` command: what an administrator's message to `<host>/announce/online` does
 * (mod_announce's announce_online), from ejabberdctl, mod_http_api or XML-RPC.
 */
import { nameprep } from '@tsjabberd/jid';
import { cdata, element, type XmlElement } from '@tsjabberd/xml-stanza';
import { announce_online } from '../modules/mod_announce.js';
import type { TsjabberdServer } from '../server.js';
import { type Command, CommandError } from './ejabberd_commands.js';

export function announce_commands(server: TsjabberdServer): Command[] {
  return [
    {
      name: 'announce',
      desc: 'Send a message (normal, from the host) to every online resource of a host',
      args: [
        ['host', 'binary'],
        ['subject', 'binary'],
        ['body', 'binary'],
      ],
      result: { name: 'res', type: 'rescode' },
      policy: 'admin',
      changes: true,
      run: ({ host, subject, body }: { host: string; subject: string; body: string }) => {
        let lhost: string;
        try {
          lhost = nameprep(host);
        } catch {
          throw new CommandError(`Unknown virtual host: ${host}`);
        }
        if (!server.config.hosts.includes(lhost)) throw new CommandError(`Unknown virtual host: ${host}`);
        const children: XmlElement[] = [];
        if (subject !== '') children.push(element('subject', [], [cdata(subject)]));
        children.push(element('body', [], [cdata(body)]));
        const sent = announce_online(server.node, [lhost], children);
        server.log.info(`announce: ${sent} sessions of ${lhost} got the announcement`);
        return true;
      },
    },
  ];
}
