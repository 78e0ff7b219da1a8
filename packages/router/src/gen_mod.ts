import type { Jid } from '@tsjabberd/jid';
import type { XmlElement } from '@tsjabberd/xml-stanza';
import type { FoldHook, RunHook } from './ejabberd_hooks.js';
import type { EjabberdNode } from './ejabberd_node.js';
import type { IqComponent, IqDiscipline, IqHandler } from './gen_iq_handler.js';
import type { Logger } from './logger.js';
import type { RouteProcess } from './route_table.js';

/** An option a module accepts: its default (fixed or per host) and how a given value is checked. */
export interface ModuleOption<T> {
  default: T | ((host: string) => T);
  /** Returns the value to use, or throws an `Error` saying what is wrong with it. */
  validate?: (value: unknown) => T;
}

/** What a module's `start` may return for gen_mod to register, and remove again on stop. */
export interface ModuleRegistrations {
  hooks?: [hook: string, fn: RunHook | FoldHook, seq: number][];
  iq_handlers?: [component: IqComponent, ns: string, handler: IqHandler, type?: IqDiscipline][];
}

/**
 * A gen_mod module (`-behaviour(gen_mod)`): started and stopped per virtual host, with options.
 * Whatever it registers through its `ModuleContext` (routes, hooks, IQ handlers) is removed by gen_mod
 * when it stops, so a module cannot leave anything behind.
 */
export interface GenModule<O extends object = Record<string, unknown>> {
  readonly name: string;
  /** The options it accepts (ejabberd's `mod_options` and `mod_opt_type`). */
  readonly options?: { [K in keyof O]: ModuleOption<O[K]> };
  /** Modules that must run on the host before this one: `hard` ones are required, `soft` ones advised. */
  depends?(host: string, opts: O): [module: string, kind: 'hard' | 'soft'][];
  start(
    host: string,
    opts: O,
    ctx: ModuleContext,
    // biome-ignore lint/suspicious/noConfusingVoidType: a start that registers nothing returns nothing
  ): void | ModuleRegistrations | Promise<void | ModuleRegistrations>;
  stop?(host: string, ctx: ModuleContext): void | Promise<void>;
}

/**
 * A module's view of the node. Registrations made through it are recorded, so that `stop_module`
 * removes them all, as current ejabberd does for the hooks and handlers a module's start returns.
 */
export class ModuleContext {
  private readonly routes: [domain: string, global: boolean][] = [];
  private readonly hooks: [hook: string, host: string, fn: RunHook | FoldHook, seq: number][] = [];
  private readonly iqHandlers: [component: IqComponent, host: string, ns: string][] = [];

  constructor(
    readonly node: EjabberdNode,
    readonly host: string,
    readonly module: string,
  ) {}

  get log(): Logger {
    return this.node.log;
  }

  /** `ejabberd_router:route(From, To, Packet)`. */
  route(from: Jid, to: Jid, packet: XmlElement): void {
    this.node.ejabberd_router.route(from, to, packet);
  }

  /** `ejabberd_router:register_route(Domain)`, undone on stop. */
  async register_route(domain: string, process: RouteProcess): Promise<void> {
    // Recorded only once it is ours: a refused route (another owner) must not be removed on cleanup.
    await this.node.ejabberd_router.register_route(domain, process);
    this.routes.push([domain, true]);
  }

  /** `ejabberd_router:register_local_route(Domain)`, undone on stop. */
  register_local_route(domain: string, process: RouteProcess): void {
    this.node.ejabberd_router.register_local_route(domain, process);
    this.routes.push([domain, false]);
  }

  /** `ejabberd_hooks:add(Hook, Host, Fun, Seq)` on the module's host (or `host`), undone on stop. */
  add_hook(hook: string, fn: RunHook | FoldHook, seq = 50, host = this.host): void {
    this.node.ejabberd_hooks.add(hook, host, fn, seq);
    this.hooks.push([hook, host, fn, seq]);
  }

  /** `gen_iq_handler:add_iq_handler(Component, Host, NS, ...)` on the module's host, undone on stop. */
  add_iq_handler(component: IqComponent, ns: string, handler: IqHandler, type?: IqDiscipline): void {
    this.node.gen_iq_handler.add_iq_handler(component, this.host, ns, handler, type);
    this.iqHandlers.push([component, this.host, ns]);
  }

  /** Removes everything registered through this context (gen_mod calls it after the module's stop). */
  async unregister_all(): Promise<void> {
    for (const [component, host, ns] of this.iqHandlers.splice(0)) {
      this.node.gen_iq_handler.remove_iq_handler(component, host, ns);
    }
    for (const [hook, host, fn, seq] of this.hooks.splice(0))
      this.node.ejabberd_hooks.delete(hook, host, fn, seq);
    for (const [domain, global] of this.routes.splice(0)) {
      if (global) await this.node.ejabberd_router.unregister_route(domain);
      else this.node.ejabberd_router.unregister_local_route(domain);
    }
  }
}

interface Loaded {
  // biome-ignore lint/suspicious/noExplicitAny: modules of every option type share the table
  module: GenModule<any>;
  opts: Record<string, unknown>;
  ctx: ModuleContext;
}

/** gen_mod: which modules run on which host, with which options. */
export class GenMod {
  private readonly loaded = new Map<string, Map<string, Loaded>>();

  constructor(private readonly node: EjabberdNode) {}

  /**
   * `gen_mod:start_module(Host, Module, Opts)`: checks the options (unknown ones and invalid values are
   * errors that name the module and the option), requires its hard dependencies to be running, starts
   * it, and registers what its `start` returned.
   */
  async start_module<O extends object>(
    host: string,
    module: GenModule<O>,
    opts: Partial<O> = {},
  ): Promise<O> {
    if (!this.node.hosts.includes(host)) throw new Error(`gen_mod: ${host} is not a host of this server`);
    if (this.is_loaded(host, module.name))
      throw new Error(`gen_mod: ${module.name} is already running on ${host}`);
    const resolved = this.resolve_options(host, module, opts);
    for (const [dep, kind] of module.depends?.(host, resolved) ?? []) {
      if (this.is_loaded(host, dep)) continue;
      if (kind === 'hard')
        throw new Error(`gen_mod: ${module.name} needs ${dep} running on ${host}; start ${dep} first`);
      this.node.log.warning(
        `gen_mod: ${module.name} works better with ${dep}, which is not running on ${host}`,
      );
    }
    const ctx = new ModuleContext(this.node, host, module.name);
    try {
      const registrations = await module.start(host, resolved, ctx);
      for (const [hook, fn, seq] of registrations?.hooks ?? []) ctx.add_hook(hook, fn, seq);
      for (const [component, ns, handler, type] of registrations?.iq_handlers ?? []) {
        ctx.add_iq_handler(component, ns, handler, type);
      }
    } catch (e) {
      await ctx.unregister_all();
      throw new Error(
        `gen_mod: ${module.name} failed to start on ${host}: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    let modules = this.loaded.get(host);
    if (modules === undefined) {
      modules = new Map();
      this.loaded.set(host, modules);
    }
    modules.set(module.name, { module, opts: resolved as Record<string, unknown>, ctx });
    this.node.log.info(`gen_mod: ${module.name} started on ${host}`);
    return resolved;
  }

  /**
   * `gen_mod:stop_module(Host, Module)`: refused while a running module depends on it; otherwise calls
   * its `stop` and removes every route, hook and IQ handler it registered.
   */
  async stop_module(host: string, name: string): Promise<void> {
    const entry = this.loaded.get(host)?.get(name);
    if (entry === undefined) return;
    const dependents = [...(this.loaded.get(host)?.values() ?? [])]
      .filter((l) =>
        (l.module.depends?.(host, l.opts) ?? []).some(([dep, kind]) => dep === name && kind === 'hard'),
      )
      .map((l) => l.module.name);
    if (dependents.length > 0) {
      throw new Error(`gen_mod: cannot stop ${name} on ${host}: ${dependents.join(', ')} depend on it`);
    }
    try {
      await entry.module.stop?.(host, entry.ctx);
    } catch (e) {
      this.node.log.error(
        `gen_mod: ${name} failed to stop cleanly on ${host}: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    await entry.ctx.unregister_all();
    this.loaded.get(host)?.delete(name);
    this.node.log.info(`gen_mod: ${name} stopped on ${host}`);
  }

  /** Stops every module of every host, dependents first. */
  async stop_all(): Promise<void> {
    for (const [host, modules] of this.loaded) {
      for (const name of [...modules.keys()].reverse()) await this.stop_module(host, name);
    }
  }

  /** `gen_mod:is_loaded(Host, Module)`. */
  is_loaded(host: string, name: string): boolean {
    return this.loaded.get(host)?.has(name) ?? false;
  }

  /** `gen_mod:loaded_modules(Host)`. */
  loaded_modules(host: string): string[] {
    return [...(this.loaded.get(host)?.keys() ?? [])];
  }

  /** `gen_mod:get_module_opt(Host, Module, Opt)`. */
  get_module_opt(host: string, name: string, opt: string): unknown {
    return this.loaded.get(host)?.get(name)?.opts[opt];
  }

  private resolve_options<O extends object>(host: string, module: GenModule<O>, opts: Partial<O>): O {
    const spec = (module.options ?? {}) as Record<string, ModuleOption<unknown>>;
    const given = opts as Record<string, unknown>;
    for (const key of Object.keys(given)) {
      if (!(key in spec)) {
        const known = Object.keys(spec);
        throw new Error(
          `gen_mod: ${module.name} has no option '${key}'${known.length === 0 ? '' : ` (it knows: ${known.join(', ')})`}`,
        );
      }
    }
    const out: Record<string, unknown> = {};
    for (const [key, option] of Object.entries(spec)) {
      if (given[key] === undefined) {
        out[key] =
          typeof option.default === 'function'
            ? (option.default as (h: string) => unknown)(host)
            : option.default;
        continue;
      }
      try {
        out[key] = option.validate === undefined ? given[key] : option.validate(given[key]);
      } catch (e) {
        throw new Error(
          `gen_mod: ${module.name} option '${key}': ${e instanceof Error ? e.message : String(e)}`,
        );
      }
    }
    return out as O;
  }
}
