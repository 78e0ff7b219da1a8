#!/usr/bin/env node
/**
 * The end-to-end load generator: N clients log in, send presence, then exchange chat messages with
 * random partners for a fixed time; the figures (logins/s, delivered messages/s, latency, errors, the
 * server's memory per connection) are printed as a markdown table and optionally appended to a file.
 * Works against any XMPP server; see README.md. Every phase is bounded, and so is the whole run.
 */
import type { XmppConnection } from './client.js';
import { ErrorCounts, loginAll, type Progress, registerAll, userName } from './login.js';
import { type LoadOptions, parseOptions, USAGE } from './options.js';
import { cpuPercent, type ProcSample, sampleProcess } from './proc.js';
import { appendRow, markdownTable, type RunResult } from './report.js';
import { Traffic } from './traffic.js';

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** Everything known so far: a run cut short by --max-time still reports it. */
interface State {
  phase: 'start' | 'register' | 'login' | 'messages' | 'closing';
  register: Progress;
  login: Progress;
  traffic?: Traffic;
  before?: ProcSample;
  loggedIn?: ProcSample;
  measureStart?: ProcSample;
  measureEnd?: ProcSample;
  end?: ProcSample;
  /** The generator's own CPU use over the measured interval, % of one core. */
  loadCpu: { from?: NodeJS.CpuUsage; at: number; percent: number };
}

async function main(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) return say(USAGE);
  let o: LoadOptions;
  try {
    o = parseOptions(argv);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n\n${USAGE}\n`);
    process.exit(64);
  }
  const command = ['node', 'bench/load/dist/cli.js', ...argv].map(shellQuote).join(' ');
  const errors = new ErrorCounts();
  const s: State = {
    phase: 'start',
    register: { ok: 0, failed: 0, started: 0, lastOk: 0, ended: 0 },
    login: { ok: 0, failed: 0, started: 0, lastOk: 0, ended: 0 },
    loadCpu: { at: 0, percent: Number.NaN },
  };
  const sample = (): ProcSample | undefined => {
    if (o.pid === undefined) return undefined;
    try {
      return sampleProcess(o.pid);
    } catch (e) {
      errors.add(`server process: ${(e as Error).message}`);
      return undefined;
    }
  };

  const finish = (): RunResult => {
    const t = s.traffic;
    // A run cut short by --max-time: measured until now.
    const measured =
      t === undefined
        ? Number.NaN
        : Math.max(0, Math.min(t.measureTo, performance.now()) - t.measureFrom) / 1000;
    const loggedIn = s.login.ok;
    const rss = (p: ProcSample | undefined) => p?.rssKiB ?? Number.NaN;
    const result: RunResult = {
      label: o.label,
      date: new Date().toISOString().slice(0, 16).replace('T', ' '),
      clients: o.users,
      loggedIn,
      loginsPerSecond: loggedIn === 0 ? Number.NaN : loggedIn / ((s.login.lastOk - s.login.started) / 1000),
      load: o.rate > 0 ? `rate ${o.rate}/s` : `window ${o.window}`,
      messagesPerSecond: t === undefined ? Number.NaN : t.deliveredMeasured / measured,
      p50: t?.latency.quantile(0.5) ?? Number.NaN,
      p99: t?.latency.quantile(0.99) ?? Number.NaN,
      errors: errors.total,
      rssBeforeKiB: rss(s.before),
      rssLoggedInKiB: rss(s.loggedIn),
      rssEndKiB: rss(s.end),
      rssPerConnectionKiB: (rss(s.loggedIn) - rss(s.before)) / loggedIn,
      serverCpuPercent:
        s.measureStart && s.measureEnd ? cpuPercent(s.measureStart, s.measureEnd) : Number.NaN,
      loadCpuPercent: s.loadCpu.percent,
      command,
    };
    say('');
    if (t !== undefined)
      say(
        `messages: ${t.sent} sent, ${t.delivered} delivered (${t.deliveredMeasured} in the ${measured.toFixed(1)} s measured), ` +
          `${t.late} late, ${t.stale} from earlier runs ignored${t.skipped > 0 ? `, ${t.skipped} not sent (windows full)` : ''}; latency mean ${t.latency.mean.toFixed(2)} ms, max ${t.latency.max.toFixed(2)} ms`,
      );
    if (errors.total > 0) {
      say(`errors (${errors.total}):`);
      for (const [reason, n] of errors.byReason) say(`  ${n} × ${reason}`);
    }
    say('');
    say(markdownTable(result));
    if (o.out !== undefined) {
      appendRow(o.out, result);
      say(`\n(row appended to ${o.out})`);
    }
    return result;
  };

  const hardStop = setTimeout(() => {
    errors.add(`run stopped by --max-time ${o.maxTime} s during the ${s.phase} phase`);
    finish();
    process.exit(2);
  }, o.maxTime * 1000);

  const runStart = performance.now();
  let lastDelivered = 0;
  const progress = setInterval(() => {
    const at = ((performance.now() - runStart) / 1000).toFixed(0).padStart(4);
    if (s.phase === 'register')
      say(`${at}s register: ${s.register.ok}/${o.users} done, ${s.register.failed} failed`);
    else if (s.phase === 'login')
      say(`${at}s login: ${s.login.ok}/${o.users} logged in, ${s.login.failed} failed`);
    else if (s.phase === 'messages' && s.traffic !== undefined) {
      const t = s.traffic;
      const rate = t.delivered - lastDelivered;
      lastDelivered = t.delivered;
      const stage =
        performance.now() < t.measureFrom
          ? 'warm-up'
          : performance.now() < t.measureTo
            ? 'measuring'
            : 'draining';
      say(
        `${at}s messages (${stage}): ${t.delivered} delivered (${rate}/s), ${t.inFlight} in flight, ${errors.total} errors`,
      );
    }
  }, 1000);

  if (o.registerOnly)
    say(
      `${o.label}: registering ${userName(o, 0)}..${userName(o, o.users - 1)}@${o.domain} on ${o.host}:${o.port}`,
    );
  else
    say(
      `${o.label}: ${o.users} clients ${userName(o, 0)}..${userName(o, o.users - 1)}@${o.domain} on ${o.host}:${o.port}` +
        `${o.tls ? ' with STARTTLS' : ''}, ${o.mechanism}, ${o.rate > 0 ? `${o.rate} msgs/s` : `window ${o.window}`}, ` +
        `${o.warmup} s warm-up + ${o.duration} s measured${o.pid === undefined ? '' : `, server pid ${o.pid}`}`,
    );
  s.before = sample();
  if (o.pid !== undefined && s.before === undefined) {
    process.stderr.write(`cannot read /proc/${o.pid}: is --pid the server's process id?\n`);
    process.exit(1);
  }

  if (o.register || o.registerOnly) {
    s.phase = 'register';
    s.register.started = performance.now();
    const created = await registerAll(o, s.register, errors);
    say(
      `registered ${created} new accounts, ${s.register.ok - created} existed, ${s.register.failed} failed ` +
        `(${((s.register.ended - s.register.started) / 1000).toFixed(1)} s)`,
    );
  }
  if (o.registerOnly) {
    clearInterval(progress);
    clearTimeout(hardStop);
    if (errors.total > 0) for (const [reason, n] of errors.byReason) say(`  ${n} × ${reason}`);
    process.exit(errors.total > 0 ? 1 : 0);
  }
  // Memory per connection is measured from here: what the registration connections left is not counted
  // (but a garbage-collected server may still be giving that memory back: register in a run of its own).
  if (o.register) s.before = sample();

  s.phase = 'login';
  s.login.started = performance.now();
  const conns = await loginAll(o, s.login, errors);
  s.loggedIn = sample();
  const last = (s.login.lastOk - s.login.started) / 1000;
  say(
    `logged in ${s.login.ok}/${o.users} in ${last.toFixed(1)} s (${(s.login.ok / last).toFixed(0)}/s), ` +
      `${s.login.failed} failed; login phase ${((s.login.ended - s.login.started) / 1000).toFixed(1)} s`,
  );

  const active: { conn: XmppConnection; user: string }[] = [];
  conns.forEach((conn, i) => {
    if (conn === undefined) return;
    if (conn.closed) errors.add(`disconnected after logging in: ${conn.closeReason}`);
    else active.push({ conn, user: userName(o, i) });
  });
  if (active.length >= 2) {
    s.phase = 'messages';
    const traffic = new Traffic(o, active, errors);
    s.traffic = traffic;
    await traffic.run({
      measureStart: () => {
        s.measureStart = sample();
        s.loadCpu.from = process.cpuUsage();
        s.loadCpu.at = performance.now();
      },
      measureEnd: () => {
        s.measureEnd = sample();
        const used = process.cpuUsage(s.loadCpu.from);
        s.loadCpu.percent = (100 * (used.user + used.system)) / 1000 / (performance.now() - s.loadCpu.at);
      },
    });
  } else errors.add('messaging skipped: fewer than 2 clients logged in');
  s.end = sample();

  s.phase = 'closing';
  clearInterval(progress);
  await Promise.all(active.map(({ conn }) => conn.close()));
  clearTimeout(hardStop);
  finish();
  process.exit(0);
}

main(process.argv.slice(2)).catch((e: Error) => {
  process.stderr.write(`${e.stack ?? e.message}\n`);
  process.exit(1);
});
