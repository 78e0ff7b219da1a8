export { type CliArgs, component_args, run_component } from './cli.js';
export {
  Component,
  type ComponentEvents,
  type ComponentOptions,
  handshake_digest,
  random_secret,
} from './component.js';
