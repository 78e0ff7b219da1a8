/**
 * The command-line side of an example component: `--host 127.0.0.1 --port 5275 --domain echo.localhost
 * --secret s3cret [--tls] [--retry-auth]`, then runs until SIGINT/SIGTERM, logging what happens.
 */
import { parseArgs } from 'node:util';
import { consoleLogger } from '@tsjabberd/router';
import type { Component, ComponentOptions } from './component.js';

export interface CliArgs extends ComponentOptions {
  /** What else the command accepted (`--option value`), for the module's options. */
  values: Record<string, string | boolean | undefined>;
}

/** Reads the standard options (exits with a usage message if one is missing). */
export function component_args(argv: string[], usage: string): CliArgs {
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '5275' },
      domain: { type: 'string' },
      secret: { type: 'string' },
      tls: { type: 'boolean', default: false },
      'retry-auth': { type: 'boolean', default: false },
    },
    strict: false,
  });
  if (typeof values.domain !== 'string' || typeof values.secret !== 'string') {
    process.stderr.write(`${usage}\n`);
    process.exit(64);
  }
  return {
    host: String(values.host),
    port: Number(values.port),
    domain: values.domain,
    secret: values.secret,
    tls: values.tls === true,
    retryOnAuthError: values['retry-auth'] === true,
    log: consoleLogger(),
    values,
  };
}

/** Logs the component's events and stops it cleanly on SIGINT/SIGTERM. */
export function run_component(component: Component, where: string): void {
  component.on('online', () => console.log(`${component.domain}: online at ${where}`));
  component.on('offline', (reason) => console.log(`${component.domain}: offline (${reason})`));
  component.on('reconnecting', (delay, attempt) =>
    console.log(`${component.domain}: reconnecting in ${delay} ms (attempt ${attempt})`),
  );
  component.on('error', (e) => {
    console.error(`${component.domain}: ${e.message}`);
    if (!component.online && e.condition !== undefined) process.exitCode = 1;
  });
  const stop = () => {
    component.stop().then(() => process.exit());
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  component.start().catch(() => {
    process.exit(1);
  });
}
