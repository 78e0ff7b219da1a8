import { readFileSync } from 'node:fs';

/** What /proc says about the server process at one moment. */
export interface ProcSample {
  /** Resident memory (VmRSS), KiB. */
  rssKiB: number;
  /** User + system CPU time so far, seconds. */
  cpuSeconds: number;
  /** When (performance.now(), ms). */
  at: number;
}

/** Linux's USER_HZ: /proc/<pid>/stat counts CPU time in these ticks (100 on every mainstream kernel). */
const CLOCK_TICKS = 100;

/** Reads /proc/<pid>/status and /proc/<pid>/stat; throws if the process is gone (or this is not Linux). */
export function sampleProcess(pid: number): ProcSample {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rss = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (rss === null) throw new Error(`no VmRSS in /proc/${pid}/status (a zombie?)`);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
  return { rssKiB: Number(rss[1]), cpuSeconds: ticks / CLOCK_TICKS, at: performance.now() };
}

/** CPU used between two samples, in % of one core (up to 100 × cores). */
export function cpuPercent(from: ProcSample, to: ProcSample): number {
  const seconds = (to.at - from.at) / 1000;
  return seconds <= 0 ? Number.NaN : (100 * (to.cpuSeconds - from.cpuSeconds)) / seconds;
}
