/**
 * mod_echo, unchanged, as an XEP-0114 external component of any XMPP server:
 *
 *   node examples/mod_echo/dist/component.js --host 127.0.0.1 --port 5275 --domain echo.localhost --secret s3cret
 *
 * The server must have a component entry for the domain with the same secret (Prosody:
 * `Component "echo.localhost" component_secret = "s3cret"`; ejabberd: an ejabberd_service listener).
 * mod_echo registers the route for its `host` option, so it is given the component's domain.
 */
import { Component, component_args, run_component } from '@tsjabberd/component';
import { mod_echo } from './mod_echo.js';

const args = component_args(
  process.argv.slice(2),
  'usage: component.js --host HOST --port PORT --domain DOMAIN --secret SECRET [--tls] [--retry-auth]',
);
const component = new Component(args);
await component.start_module(mod_echo, { host: component.domain });
run_component(component, `${args.host}:${args.port}`);
