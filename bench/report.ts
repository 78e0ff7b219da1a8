/** The machine, the results table, and the files written to bench/results/. */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  v8: string;
  loadAverage: number[];
  date: string;
}

export function machine(): Machine {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    v8: process.versions.v8,
    loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100),
    date: new Date().toISOString(),
  };
}

export interface Row {
  suite: string;
  task: string;
  /** Input bytes per iteration (for the serialisers: bytes written). */
  bytes: number;
  stanzas: number;
  samples: number;
  medianMs: number;
  meanMs: number;
  /** Relative margin of error of the mean, in percent. */
  rme: number;
  /** From the median: MB = 10^6 bytes. */
  mbPerSec: number;
  stanzasPerSec: number;
  /** The baseline's median time divided by this task's: above 1 is faster than the baseline. */
  ratio: number;
  baseline: string;
  note?: string;
}

function fixed(x: number, digits: number): string {
  return Number.isFinite(x) ? x.toFixed(digits) : '-';
}

function thousands(x: number): string {
  return x < 10 ? x.toFixed(2) : Math.round(x).toLocaleString('en-US');
}

const HEADER = ['task', 'MB/s', 'stanzas/s', 'vs baseline', 'median ms', 'mean ms', '± rme', 'samples'];

function cells(r: Row): string[] {
  return [
    r.task + (r.note ? ` (${r.note})` : ''),
    fixed(r.mbPerSec, 1),
    thousands(r.stanzasPerSec),
    r.task === r.baseline ? '1.00 (baseline)' : `${fixed(r.ratio, 2)}×`,
    fixed(r.medianMs, r.medianMs < 10 ? 3 : 1),
    fixed(r.meanMs, r.meanMs < 10 ? 3 : 1),
    `${fixed(r.rme, 1)}%`,
    String(r.samples),
  ];
}

/** A plain-text table for the console. */
export function textTable(rows: Row[]): string {
  const out: string[] = [];
  const all = [HEADER, ...rows.map(cells)];
  const widths = HEADER.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  const line = (r: string[]) =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  let suite = '';
  for (const r of rows) {
    if (r.suite !== suite) {
      suite = r.suite;
      out.push('', suite, line(HEADER), widths.map((w) => '-'.repeat(w)).join('  '));
    }
    out.push(line(cells(r)));
  }
  return out.join('\n');
}

export function markdownTable(rows: Row[]): string {
  const out: string[] = [];
  let suite = '';
  for (const r of rows) {
    if (r.suite !== suite) {
      suite = r.suite;
      out.push(
        '',
        `### ${suite}`,
        '',
        `| ${HEADER.join(' | ')} |`,
        `|${HEADER.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`,
      );
    }
    out.push(`| ${cells(r).join(' | ')} |`);
  }
  return out.join('\n');
}

/** A results document: title, machine, intro, summary, the results (already in Markdown), checks. */
export function markdownDocument(
  title: string,
  m: Machine,
  intro: string[],
  summary: string[],
  results: string[],
  checks: string[],
): string {
  return [
    `# ${title}, ${m.date.slice(0, 10)}`,
    '',
    `- machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}`,
    `- node ${m.node} (V8 ${m.v8}), load average at start ${m.loadAverage.join(' ')}`,
    `- run at ${m.date}`,
    ...intro.map((l) => `- ${l}`),
    '',
    '## Summary',
    '',
    ...summary.map((l) => `- ${l}`),
    '',
    '## Results',
    ...results,
    '',
    '## Checks',
    '',
    ...checks.map((l) => `- ${l}`),
    '',
  ].join('\n');
}

export function markdownReport(
  m: Machine,
  intro: string[],
  rows: Row[],
  summary: string[],
  checks: string[],
): string {
  return markdownDocument('xml-stream parse benchmark', m, intro, summary, [markdownTable(rows)], checks);
}

/** Writes `<suite>-<date>.md` and `.json` to bench/results/ (next to the sources, not to dist/). */
export function writeResults(
  suite: 'parse' | 'route',
  m: Machine,
  markdown: string,
  json: unknown,
): string[] {
  const here = dirname(fileURLToPath(import.meta.url));
  const dir = join(here, here.endsWith('dist') ? '..' : '.', 'results');
  mkdirSync(dir, { recursive: true });
  const base = join(dir, `${suite}-${m.date.slice(0, 10)}`);
  writeFileSync(`${base}.md`, markdown);
  writeFileSync(`${base}.json`, `${JSON.stringify(json, null, 2)}\n`);
  return [`${base}.md`, `${base}.json`];
}
