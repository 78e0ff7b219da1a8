import type { Mechanism } from './client.js';

/** Everything one run is told, with the defaults filled in. */
export interface LoadOptions {
  host: string;
  port: number;
  domain: string;
  users: number;
  userPrefix: string;
  /** The number of the first account (`load1` with the defaults). */
  first: number;
  password: string;
  resource: string;
  tls: boolean;
  mechanism: Mechanism;
  register: boolean;
  /** Register the accounts, then stop (so a measured run starts from a server that did nothing else). */
  registerOnly: boolean;
  /** Seconds of measured messaging, after `warmup` seconds of unmeasured messaging. */
  duration: number;
  warmup: number;
  /** Seconds to wait, once sending stops, for the messages still in flight. */
  drain: number;
  /** Closed loop: messages in flight per client (Infinity: no limit, with `rate`). */
  window: number;
  /** Open loop: messages per second over all clients (0: closed loop only). */
  rate: number;
  /** Seconds after which an undelivered message counts as an error (and frees its window slot). */
  messageTimeout: number;
  pid: number | undefined;
  label: string;
  out: string | undefined;
  connectConcurrency: number;
  /** Seconds one client may take to log in (or register). */
  loginTimeout: number;
  /** Seconds the whole login phase (and the registration phase) may take. */
  loginPhaseTimeout: number;
  /** Seconds the whole run may take before it reports what it has and stops. */
  maxTime: number;
  seed: number;
}

export const USAGE = `usage: node bench/load/dist/cli.js [options]

server
  --host H                 address to connect to (127.0.0.1)
  --port P                 c2s port (5222)
  --domain D               XMPP domain of the accounts (localhost)
  --tls on|off             STARTTLS before authenticating (off)
  --mechanism M            SCRAM-SHA-1 or PLAIN (SCRAM-SHA-1)
  --pid PID                server process: its resident memory and CPU time are read from /proc/PID
accounts
  --users N                clients, one account each (1000)
  --user-prefix S          accounts are S<first>..S<first+N-1> (load)
  --first K                number of the first account (1)
  --password S             password of every account (load-secret)
  --register               create the accounts first by in-band registration (existing ones are fine)
  --register-only          only that: register the accounts and stop
  --resource S             resource every client binds (load)
load
  --duration S             seconds of measured messaging (30)
  --warmup S               seconds of messaging before measuring (3)
  --window W               messages in flight per client: closed loop (1; with --rate: unlimited)
  --rate R                 messages per second over all clients: open loop (off)
  --drain S                seconds to wait for messages in flight once sending stops (5)
  --message-timeout S      a message undelivered after S seconds is an error (10)
  --connect-concurrency C  logins (and registrations) in flight at once (100)
  --login-timeout S        seconds one client may take to log in (30)
  --login-phase-timeout S  seconds all logins (and all registrations) may take (300)
  --max-time S             hard limit on the whole run (default: phases + 60)
  --seed N                 seed of the partner choice (1)
report
  --label S                name of this run in the table (host:port)
  --out FILE.md            append the table row and the command line to FILE.md`;

type Spec = { key: keyof LoadOptions; kind: 'string' | 'int' | 'number' | 'bool' | 'flag' };

const SPECS: Record<string, Spec> = {
  host: { key: 'host', kind: 'string' },
  port: { key: 'port', kind: 'int' },
  domain: { key: 'domain', kind: 'string' },
  tls: { key: 'tls', kind: 'bool' },
  mechanism: { key: 'mechanism', kind: 'string' },
  pid: { key: 'pid', kind: 'int' },
  users: { key: 'users', kind: 'int' },
  'user-prefix': { key: 'userPrefix', kind: 'string' },
  first: { key: 'first', kind: 'int' },
  password: { key: 'password', kind: 'string' },
  resource: { key: 'resource', kind: 'string' },
  register: { key: 'register', kind: 'flag' },
  'register-only': { key: 'registerOnly', kind: 'flag' },
  duration: { key: 'duration', kind: 'number' },
  warmup: { key: 'warmup', kind: 'number' },
  window: { key: 'window', kind: 'int' },
  rate: { key: 'rate', kind: 'number' },
  drain: { key: 'drain', kind: 'number' },
  'message-timeout': { key: 'messageTimeout', kind: 'number' },
  'connect-concurrency': { key: 'connectConcurrency', kind: 'int' },
  'login-timeout': { key: 'loginTimeout', kind: 'number' },
  'login-phase-timeout': { key: 'loginPhaseTimeout', kind: 'number' },
  'max-time': { key: 'maxTime', kind: 'number' },
  seed: { key: 'seed', kind: 'int' },
  label: { key: 'label', kind: 'string' },
  out: { key: 'out', kind: 'string' },
};

/** Parses `--name value`, `--name=value` and bare flags; throws with a message on anything wrong. */
export function parseOptions(argv: string[]): LoadOptions {
  const given: Record<string, unknown> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${arg}`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const spec = SPECS[name];
    if (spec === undefined) throw new Error(`unknown option --${name}`);
    let value: string | undefined = eq === -1 ? undefined : arg.slice(eq + 1);
    if (spec.kind === 'flag') {
      given[spec.key] = value === undefined ? true : parseBool(name, value);
      continue;
    }
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new Error(`--${name} needs a value`);
    }
    given[spec.key] =
      spec.kind === 'string'
        ? value
        : spec.kind === 'bool'
          ? parseBool(name, value)
          : parseNumber(name, value, spec.kind);
  }
  const o: LoadOptions = {
    host: '127.0.0.1',
    port: 5222,
    domain: 'localhost',
    users: 1000,
    userPrefix: 'load',
    first: 1,
    password: 'load-secret',
    resource: 'load',
    tls: false,
    mechanism: 'SCRAM-SHA-1',
    register: false,
    registerOnly: false,
    duration: 30,
    warmup: 3,
    drain: 5,
    window: given.rate === undefined ? 1 : Number.POSITIVE_INFINITY,
    rate: 0,
    messageTimeout: 10,
    pid: undefined,
    label: '',
    out: undefined,
    connectConcurrency: 100,
    loginTimeout: 30,
    loginPhaseTimeout: 300,
    maxTime: 0,
    seed: 1,
    ...(given as Partial<LoadOptions>),
  };
  if (o.mechanism !== 'SCRAM-SHA-1' && o.mechanism !== 'PLAIN')
    throw new Error(`--mechanism must be SCRAM-SHA-1 or PLAIN, not ${o.mechanism}`);
  if (o.users < 2) throw new Error('--users must be at least 2 (every client needs a partner)');
  if (o.window < 1) throw new Error('--window must be at least 1');
  if (o.connectConcurrency < 1) throw new Error('--connect-concurrency must be at least 1');
  if (o.duration <= 0) throw new Error('--duration must be positive');
  if (o.label === '') o.label = `${o.host}:${o.port}`;
  if (o.maxTime === 0)
    o.maxTime =
      (o.register || o.registerOnly ? o.loginPhaseTimeout : 0) +
      o.loginPhaseTimeout +
      o.warmup +
      o.duration +
      o.drain +
      60;
  return o;
}

function parseBool(name: string, value: string): boolean {
  if (/^(on|true|yes|1)$/i.test(value)) return true;
  if (/^(off|false|no|0)$/i.test(value)) return false;
  throw new Error(`--${name} must be on or off, not ${value}`);
}

function parseNumber(name: string, value: string, kind: 'int' | 'number'): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || (kind === 'int' && !Number.isInteger(n)))
    throw new Error(`--${name} must be a ${kind === 'int' ? 'whole ' : ''}number ≥ 0, not ${value}`);
  return n;
}
