/**
 * mod_cputime, unchanged, as an XEP-0114 external component: IQs to the component's domain in the
 * `ejabberd:cputime` namespace are answered with this process's CPU time.
 *
 *   node examples/mod_cputime/dist/component.js --host 127.0.0.1 --port 5275 --domain cputime.localhost --secret s3cret [--iqdisc parallel]
 */
import { Component, component_args, run_component } from '@tsjabberd/component';
import type { IqDiscipline } from '@tsjabberd/router';
import { mod_cputime } from './mod_cputime.js';

const args = component_args(
  process.argv.slice(2),
  'usage: component.js --host HOST --port PORT --domain DOMAIN --secret SECRET [--iqdisc one_queue|no_queue|parallel] [--tls]',
);
const component = new Component(args);
const iqdisc = typeof args.values.iqdisc === 'string' ? (args.values.iqdisc as IqDiscipline) : 'one_queue';
await component.start_module(mod_cputime, { iqdisc });
run_component(component, `${args.host}:${args.port}`);
