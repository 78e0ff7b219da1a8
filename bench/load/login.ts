import { type ServerAddress, XmppConnection } from './client.js';
import type { LoadOptions } from './options.js';

/** Errors counted by what went wrong (the message, so a run's causes can be read at a glance). */
export class ErrorCounts {
  readonly byReason = new Map<string, number>();
  total = 0;

  add(reason: string, n = 1): void {
    if (n <= 0) return;
    const key = reason.length > 100 ? `${reason.slice(0, 97)}...` : reason;
    this.byReason.set(key, (this.byReason.get(key) ?? 0) + n);
    this.total += n;
  }
}

/** A phase's progress, read once a second by the progress line. */
export interface Progress {
  ok: number;
  failed: number;
  /** performance.now() when the phase started, when its last success came, and when it ended. */
  started: number;
  lastOk: number;
  ended: number;
}

export function address(o: LoadOptions): ServerAddress {
  return { host: o.host, port: o.port, domain: o.domain, tls: o.tls };
}

export function userName(o: LoadOptions, i: number): string {
  return `${o.userPrefix}${o.first + i}`;
}

/**
 * Runs `task(i)` for i = 0..n-1, `concurrency` at a time. Each task is given `taskMs` (then its
 * connection is dropped and it counts as failed); no task starts after `phaseMs`, the ones not started
 * by then count as failed too. So the phase ends by itself within phaseMs + taskMs.
 */
async function runBounded(
  n: number,
  o: LoadOptions,
  progress: Progress,
  errors: ErrorCounts,
  task: (i: number, holder: { conn?: XmppConnection }) => Promise<void>,
): Promise<void> {
  const taskMs = o.loginTimeout * 1000;
  const phaseEnd = performance.now() + o.loginPhaseTimeout * 1000;
  let next = 0;
  const runOne = async (i: number): Promise<void> => {
    const holder: { conn?: XmppConnection } = {};
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(`no answer within ${o.loginTimeout} s to ${holder.conn?.waitingFor ?? 'connect'}`),
          ),
        taskMs,
      );
    });
    try {
      await Promise.race([task(i, holder), timeout]);
      progress.ok++;
      progress.lastOk = performance.now();
    } catch (e) {
      progress.failed++;
      errors.add((e as Error).message);
      holder.conn?.destroy((e as Error).message);
    } finally {
      clearTimeout(timer);
    }
  };
  const worker = async (): Promise<void> => {
    while (next < n && performance.now() < phaseEnd) await runOne(next++);
  };
  await Promise.all(Array.from({ length: Math.min(n, o.connectConcurrency) }, worker));
  if (next < n) {
    progress.failed += n - next;
    errors.add(`not attempted: the phase took longer than ${o.loginPhaseTimeout} s`, n - next);
  }
  progress.ended = performance.now();
}

/** XEP-0077 in-band registration of every account, each on a connection of its own; existing ones are fine. */
export async function registerAll(o: LoadOptions, progress: Progress, errors: ErrorCounts): Promise<number> {
  let created = 0;
  await runBounded(o.users, o, progress, errors, async (i, holder) => {
    const conn = XmppConnection.connect(address(o));
    holder.conn = conn;
    await conn.negotiate();
    if ((await conn.register(userName(o, i), o.password)) === 'ok') created++;
    await conn.close();
  });
  return created;
}

/** Logs every client in (SASL, bind, available presence); the slots of the ones that failed stay empty. */
export async function loginAll(
  o: LoadOptions,
  progress: Progress,
  errors: ErrorCounts,
): Promise<(XmppConnection | undefined)[]> {
  const conns: (XmppConnection | undefined)[] = new Array(o.users).fill(undefined);
  await runBounded(o.users, o, progress, errors, async (i, holder) => {
    const conn = XmppConnection.connect(address(o));
    holder.conn = conn;
    const features = await conn.negotiate();
    await conn.login(features, userName(o, i), o.password, o.mechanism, o.resource);
    await conn.presence();
    if (!conn.closed) conns[i] = conn;
  });
  return conns;
}
