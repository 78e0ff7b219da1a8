/**
 * mod_echo: the Developers Guide's service example. It registers a domain of its own (`echo.<host>`,
 * option `host`) and sends every packet it receives back to the sender. Stopping it unregisters the
 * route, so the domain disappears from the server.
 */
import type { GenModule, RouteProcess } from '@tsjabberd/router';
import { stanza_type } from '@tsjabberd/router';

export interface EchoOptions {
  /** The service's domain: `gen_mod:get_opt(host, Opts, "echo." ++ Host)`. */
  host: string;
}

export const mod_echo: GenModule<EchoOptions> = {
  name: 'mod_echo',
  options: {
    host: {
      default: (host) => `echo.${host}`,
      validate(value) {
        if (typeof value !== 'string' || value === '')
          throw new Error(`expected a domain name, got ${JSON.stringify(value)}`);
        return value.toLowerCase();
      },
    },
  },
  async start(_host, opts, ctx) {
    // The guide's loop: receive {route, From, To, Packet} -> ejabberd_router:route(To, From, Packet).
    const service: RouteProcess = {
      name: `mod_echo ${opts.host}`,
      route(from, to, packet) {
        // An error is not echoed: two echo services talking to each other would never stop.
        if (stanza_type(packet) === 'error') return;
        ctx.route(to, from, packet);
      },
    };
    await ctx.register_route(opts.host, service);
  },
  // stop: gen_mod unregisters the route the module registered through its context
  // (the guide's `ejabberd_router:unregister_route(Host)` on `stop`).
};
