import { type ChildProcess, spawn } from 'node:child_process';
import type { Logger } from '@tsjabberd/router';

/**
 * ejabberd's `extauth` (`auth_method: external`): a pool of `extauth_pool_size` instances of
 * `extauth_program`, each asked one request at a time over its stdin/stdout.
 *
 * `extauth_program` is a command line, as ejabberd's `open_port({spawn, Program}, ...)` takes it: it is
 * split on spaces (no shell, no quoting: the first word is the executable, the others its arguments).
 *
 * The protocol: a request is a 2-byte big-endian length followed by `auth:User:Server:Password`,
 * `isuser:User:Server`, `setpass:User:Server:Password`, `tryregister:User:Server:Password`,
 * `removeuser:User:Server` or `removeuser3:User:Server:Password`; the answer is a 2-byte length (2) and
 * a 2-byte big-endian result, 1 for success and 0 for failure. Anything else (another length, another
 * value, bytes beyond the answer), an exit or no answer within `extauth_timeout` seconds is a failure:
 * the request is refused, logged (program, request kind and user, never the password) and the
 * instance is replaced.
 */

export type ExtauthCommand = 'auth' | 'isuser' | 'setpass' | 'tryregister' | 'removeuser' | 'removeuser3';

export interface ExtauthOptions {
  /** `extauth_program`: the command line. */
  program: string;
  /** `extauth_pool_size` (default 1). */
  poolSize?: number;
  /** `extauth_timeout` in seconds (default 10). */
  timeout?: number;
  log?: Logger;
}

interface Request {
  command: ExtauthCommand;
  user: string;
  server: string;
  password?: string;
  resolve: (ok: boolean) => void;
}

const RESTART_BACKOFF_MS = [0, 100, 500, 1000, 2000, 5000];

/** One running instance of the program and its queue. */
class Instance {
  private child: ChildProcess | undefined;
  private buffer = Buffer.alloc(0);
  private current: { request: Request; timer: NodeJS.Timeout } | undefined;
  private readonly queue: Request[] = [];
  /** Consecutive failures: how long the next start waits. */
  private failures = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly pool: Extauth,
    private readonly index: number,
  ) {}

  get load(): number {
    return this.queue.length + (this.current === undefined ? 0 : 1);
  }

  submit(request: Request): void {
    if (this.closed) {
      request.resolve(false);
      return;
    }
    this.queue.push(request);
    this.pump();
  }

  close(): void {
    this.closed = true;
    if (this.restartTimer !== undefined) clearTimeout(this.restartTimer);
    this.kill();
    if (this.current !== undefined) {
      clearTimeout(this.current.timer);
      this.current.request.resolve(false);
      this.current = undefined;
    }
    for (const r of this.queue.splice(0)) r.resolve(false);
  }

  private pump(): void {
    if (this.closed || this.current !== undefined || this.restartTimer !== undefined) return;
    const request = this.queue.shift();
    if (request === undefined) return;
    const child = this.child ?? this.start();
    if (child === undefined) {
      this.current = { request, timer: setTimeout(() => {}, 0) };
      this.fail('the program cannot be started');
      return;
    }
    const parts = [request.command, request.user, request.server];
    if (request.password !== undefined) parts.push(request.password);
    const line = Buffer.from(parts.join(':'), 'utf8');
    const timer = setTimeout(
      () => this.fail(`no answer within ${this.pool.timeoutMs / 1000} s`),
      this.pool.timeoutMs,
    );
    this.current = { request, timer };
    if (line.length > 0xffff) {
      this.fail('the request is too long');
      return;
    }
    const header = Buffer.alloc(2);
    header.writeUInt16BE(line.length);
    this.buffer = Buffer.alloc(0);
    child.stdin?.write(Buffer.concat([header, line]));
  }

  private start(): ChildProcess | undefined {
    const [file, ...args] = this.pool.program.split(' ').filter((w) => w !== '');
    if (file === undefined) return undefined;
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'inherit'] });
    this.child = child;
    child.stdin.on('error', () => {});
    child.on('error', (e) => {
      if (this.child !== child) return;
      this.pool.log?.error(`extauth: ${this.describe()}: ${e.message}`);
      this.child = undefined;
      if (this.current !== undefined) this.fail(`the program failed: ${e.message}`);
    });
    child.stdout.on('data', (chunk: Buffer) => {
      if (this.child !== child) return;
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.onData();
    });
    child.on('exit', (code, signal) => {
      if (this.child !== child) return;
      this.child = undefined;
      const how = signal !== null ? `was killed by ${signal}` : `exited with status ${code}`;
      if (this.current !== undefined) this.fail(`the program ${how}`);
      else if (!this.closed) {
        this.pool.log?.warning(`extauth: ${this.describe()} ${how}; restarting it`);
        this.failures++;
      }
    });
    return child;
  }

  private onData(): void {
    if (this.current === undefined) {
      this.fail('the program wrote without being asked');
      return;
    }
    if (this.buffer.length < 4) return;
    const length = this.buffer.readUInt16BE(0);
    const result = this.buffer.readUInt16BE(2);
    if (length !== 2 || this.buffer.length > 4 || (result !== 0 && result !== 1)) {
      this.fail(`garbage answer (${this.buffer.subarray(0, 16).toString('hex')})`);
      return;
    }
    // Extra bytes may still come in a later chunk: they are caught by the check above on the next
    // request's answer, or as "wrote without being asked".
    const { request, timer } = this.current;
    clearTimeout(timer);
    this.current = undefined;
    this.buffer = Buffer.alloc(0);
    this.failures = 0;
    request.resolve(result === 1);
    this.pump();
  }

  /** Refuses the current request, logs why, kills the instance and starts another after a backoff. */
  private fail(reason: string): void {
    const current = this.current;
    this.current = undefined;
    if (current !== undefined) {
      clearTimeout(current.timer);
      this.pool.log?.error(
        `extauth: ${this.describe()}: ${current.request.command} for user "${current.request.user}@${current.request.server}" refused: ${reason}`,
      );
      current.request.resolve(false);
    } else {
      this.pool.log?.error(`extauth: ${this.describe()}: ${reason}`);
    }
    this.kill();
    if (this.closed) return;
    const delay = RESTART_BACKOFF_MS[Math.min(this.failures, RESTART_BACKOFF_MS.length - 1)];
    this.failures++;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      this.pump();
    }, delay);
  }

  private kill(): void {
    const child = this.child;
    this.child = undefined;
    this.buffer = Buffer.alloc(0);
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      child.stdin?.end();
      child.kill('SIGKILL');
    }
  }

  private describe(): string {
    return `program "${this.pool.program}" (instance ${this.index + 1})`;
  }
}

export class Extauth {
  readonly program: string;
  readonly timeoutMs: number;
  readonly log: Logger | undefined;
  private readonly instances: Instance[];
  private next = 0;

  constructor(opts: ExtauthOptions) {
    this.program = opts.program;
    const size = opts.poolSize ?? 1;
    if (!Number.isSafeInteger(size) || size < 1) throw new RangeError(`invalid extauth_pool_size ${size}`);
    this.timeoutMs = (opts.timeout ?? 10) * 1000;
    this.log = opts.log;
    this.instances = Array.from({ length: size }, (_, i) => new Instance(this, i));
  }

  /** One request; false for a failure of any kind (the program's 0, a crash, a timeout, garbage). */
  call(command: ExtauthCommand, user: string, server: string, password?: string): Promise<boolean> {
    return new Promise((resolve) => {
      // The least busy instance, round-robin among equals.
      let best = this.instances[this.next % this.instances.length];
      for (let i = 0; i < this.instances.length; i++) {
        const candidate = this.instances[(this.next + i) % this.instances.length];
        if (candidate.load < best.load) best = candidate;
      }
      this.next = (this.next + 1) % this.instances.length;
      const request: Request = { command, user, server, resolve };
      if (password !== undefined) request.password = password;
      best.submit(request);
    });
  }

  /** Kills every instance; pending requests are refused. */
  close(): void {
    for (const i of this.instances) i.close();
  }
}
