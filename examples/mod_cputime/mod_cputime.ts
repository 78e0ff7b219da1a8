/**
 * mod_cputime: the Developers Guide's first module, line for line. An IQ `get` to the server's JID with
 * a payload in the `ejabberd:cputime` namespace is answered with the CPU time the server process has
 * used, in seconds with three decimals; a `set` is answered `not-allowed`.
 */
import type { Jid } from '@tsjabberd/jid';
import {
  ERR_NOT_ALLOWED,
  type GenModule,
  type Iq,
  type IqDiscipline,
  iq_error,
  iq_result,
} from '@tsjabberd/router';
import { cdata, element } from '@tsjabberd/xml-stanza';

export const NS_CPUTIME = 'ejabberd:cputime';

const DISCIPLINES = ['no_queue', 'one_queue', 'parallel'];

export interface CputimeOptions {
  /** The IQ queueing discipline, as `gen_mod:get_opt(iqdisc, Opts, one_queue)` reads it. */
  iqdisc: IqDiscipline;
}

/** `process_local_iq(From, To, {iq, ID, Type, XMLNS, SubEl})`. */
export function process_local_iq(_from: Jid, _to: Jid, iq: Iq): Iq {
  if (iq.type === 'set') return iq_error(iq, ERR_NOT_ALLOWED);
  const { user, system } = process.cpuUsage(); // microseconds, like statistics(runtime) in milliseconds
  const seconds = ((user + system) / 1e6).toFixed(3);
  return iq_result(iq, [
    element('query', [['xmlns', NS_CPUTIME]], [element('cputime', [], [cdata(seconds)])]),
  ]);
}

export const mod_cputime: GenModule<CputimeOptions> = {
  name: 'mod_cputime',
  options: {
    iqdisc: {
      default: 'one_queue',
      validate(value) {
        if (typeof value === 'string' && DISCIPLINES.includes(value)) return value as IqDiscipline;
        if (Array.isArray(value) && value[0] === 'queues' && Number.isInteger(value[1]) && value[1] > 0) {
          return ['queues', value[1]];
        }
        throw new Error(
          `expected one of ${DISCIPLINES.join(', ')} or ['queues', N], got ${JSON.stringify(value)}`,
        );
      },
    },
  },
  // start(Host, Opts): gen_iq_handler:add_iq_handler(ejabberd_local, Host, ?NS_CPUTIME, ?MODULE, process_local_iq, IQDisc)
  start(_host, opts, ctx) {
    ctx.add_iq_handler('ejabberd_local', NS_CPUTIME, process_local_iq, opts.iqdisc);
  },
  // stop(Host): gen_iq_handler:remove_iq_handler(ejabberd_local, Host, ?NS_CPUTIME)
  stop(host, ctx) {
    ctx.node.gen_iq_handler.remove_iq_handler('ejabberd_local', host, NS_CPUTIME);
  },
};
