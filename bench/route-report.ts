/** The routing suite's tables (written to bench/results/ by report.ts's writeResults). */
import { type Machine, markdownDocument } from './report.js';

/** One throughput task: operations (messages delivered, IQs answered) per second. */
export interface RateRow {
  suite: string;
  task: string;
  /** Operations per timed call (one call routes a batch and waits for it). */
  ops: number;
  samples: number;
  /** Per timed call. */
  medianMs: number;
  meanMs: number;
  /** Relative margin of error of the mean, in percent. */
  rme: number;
  /** From the median. */
  opsPerSec: number;
  /** From the median, in microseconds. */
  usPerOp: number;
  /** The baseline's time per operation divided by this task's: above 1 is faster than the baseline. */
  ratio: number;
  baseline: string;
  note?: string;
}

/** One step of a memory measurement. */
export interface MemoryRow {
  step: string;
  /** heapUsed after minus before, after full garbage collections. */
  bytes: number;
  /** Per session, or per IQ: see the table's `per`. */
  each: number;
  note?: string;
}

export interface MemoryTable {
  title: string;
  /** The last column's header: `bytes/session`, `bytes/IQ`. */
  per: string;
  rows: MemoryRow[];
}

function fixed(x: number, digits: number): string {
  return Number.isFinite(x) ? x.toFixed(digits) : '-';
}

function thousands(x: number): string {
  return x < 10 ? x.toFixed(2) : Math.round(x).toLocaleString('en-US');
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

const RATE_HEADER = [
  'task',
  'per second',
  'µs each',
  'vs baseline',
  'batch',
  'median ms',
  '± rme',
  'samples',
];

function rateCells(r: RateRow): string[] {
  return [
    r.task + (r.note ? ` (${r.note})` : ''),
    thousands(r.opsPerSec),
    fixed(r.usPerOp, r.usPerOp < 10 ? 3 : 1),
    r.task === r.baseline ? '1.00 (baseline)' : `${fixed(r.ratio, 2)}×`,
    r.ops.toLocaleString('en-US'),
    fixed(r.medianMs, r.medianMs < 10 ? 3 : 1),
    `${fixed(r.rme, 1)}%`,
    String(r.samples),
  ];
}

function memoryHeader(t: MemoryTable): string[] {
  return ['step', 'heap delta', t.per];
}

function memoryCells(r: MemoryRow): string[] {
  return [r.step + (r.note ? ` (${r.note})` : ''), mib(r.bytes), fixed(r.each, 0)];
}

/** Columns padded; the first left-aligned, the others right-aligned. */
function aligned(header: string[], rows: string[][]): string[] {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  const line = (r: string[]) =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
}

function markdown(header: string[], rows: string[][]): string[] {
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ];
}

function bySuite(rows: RateRow[]): Map<string, RateRow[]> {
  const out = new Map<string, RateRow[]>();
  for (const r of rows) {
    const list = out.get(r.suite);
    if (list === undefined) out.set(r.suite, [r]);
    else list.push(r);
  }
  return out;
}

/** Plain-text tables for the console. */
export function textTables(rates: RateRow[], memory: MemoryTable[]): string {
  const out: string[] = [];
  for (const [suite, rows] of bySuite(rates))
    out.push('', suite, ...aligned(RATE_HEADER, rows.map(rateCells)));
  for (const t of memory) out.push('', t.title, ...aligned(memoryHeader(t), t.rows.map(memoryCells)));
  return out.join('\n');
}

export function markdownReport(
  m: Machine,
  intro: string[],
  rates: RateRow[],
  memory: MemoryTable[],
  summary: string[],
  checks: string[],
): string {
  const tables: string[] = [];
  for (const [suite, rows] of bySuite(rates)) {
    tables.push('', `### ${suite}`, '', ...markdown(RATE_HEADER, rows.map(rateCells)));
  }
  for (const t of memory)
    tables.push('', `### ${t.title}`, '', ...markdown(memoryHeader(t), t.rows.map(memoryCells)));
  return markdownDocument('Routing benchmark', m, intro, summary, tables, checks);
}
