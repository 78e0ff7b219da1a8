import { appendFileSync, existsSync, statSync } from 'node:fs';

/** One run's figures, as the table shows them. NaN: not measured (no --pid, or nothing delivered). */
export interface RunResult {
  label: string;
  date: string;
  clients: number;
  loggedIn: number;
  loginsPerSecond: number;
  /** `window 1` or `rate 5000/s`. */
  load: string;
  messagesPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
  rssBeforeKiB: number;
  rssLoggedInKiB: number;
  rssEndKiB: number;
  /** (logged in − before) / logged-in clients. */
  rssPerConnectionKiB: number;
  serverCpuPercent: number;
  loadCpuPercent: number;
  command: string;
}

const HEADER = [
  'run',
  'date',
  'clients',
  'load',
  'logins/s',
  'msgs/s',
  'p50 ms',
  'p99 ms',
  'errors',
  'RSS/conn KiB',
  'RSS MiB before → logged in → end',
  'server CPU',
  'load CPU',
  'command',
];

function fmt(n: number, digits = 0): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '–';
}

function percent(n: number): string {
  return Number.isFinite(n) ? `${n.toFixed(0)}%` : '–';
}

function mib(kib: number): string {
  return fmt(kib / 1024, 1);
}

function cells(r: RunResult): string[] {
  return [
    r.label,
    r.date,
    r.loggedIn === r.clients ? String(r.clients) : `${r.loggedIn} of ${r.clients}`,
    r.load,
    fmt(r.loginsPerSecond),
    fmt(r.messagesPerSecond),
    fmt(r.p50, 2),
    fmt(r.p99, 2),
    String(r.errors),
    fmt(r.rssPerConnectionKiB, 1),
    `${mib(r.rssBeforeKiB)} → ${mib(r.rssLoggedInKiB)} → ${mib(r.rssEndKiB)}`,
    percent(r.serverCpuPercent),
    percent(r.loadCpuPercent),
    `\`${r.command}\``,
  ];
}

function row(values: string[]): string {
  return `| ${values.map((v) => v.replace(/\|/g, '\\|')).join(' | ')} |`;
}

/** The markdown table of one run: header, separator, row. */
export function markdownTable(r: RunResult): string {
  return [row(HEADER), row(HEADER.map(() => '---')), row(cells(r))].join('\n');
}

/** Appends the run's row to `file`, with the table header first if the file is new or empty. */
export function appendRow(file: string, r: RunResult): void {
  const fresh = !existsSync(file) || statSync(file).size === 0;
  appendFileSync(
    file,
    `${fresh ? `${row(HEADER)}\n${row(HEADER.map(() => '---'))}\n` : ''}${row(cells(r))}\n`,
  );
}
