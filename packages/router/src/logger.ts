/**
 * The log every module writes to. Messages name the JID, the stanza and the reason, as an operator
 * reading them needs. The level comes from `TSJABBERD_LOG` (debug, info, warning, error; default info).
 */
export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warning(message: string): void;
  error(message: string): void;
}

const LEVELS = ['debug', 'info', 'warning', 'error'] as const;
export type LogLevel = (typeof LEVELS)[number];

/** A logger writing `[level] message` lines to stderr, dropping those below `level`. */
export function consoleLogger(level: LogLevel = levelFromEnv()): Logger {
  const min = LEVELS.indexOf(level);
  const write = (at: LogLevel) =>
    LEVELS.indexOf(at) < min ? () => {} : (message: string) => process.stderr.write(`[${at}] ${message}\n`);
  return { debug: write('debug'), info: write('info'), warning: write('warning'), error: write('error') };
}

function levelFromEnv(): LogLevel {
  const v = process.env.TSJABBERD_LOG;
  return (LEVELS as readonly string[]).includes(v ?? '') ? (v as LogLevel) : 'info';
}

/** A logger that keeps its lines, for tests and for the packet trace shown to learners. */
export class MemoryLogger implements Logger {
  readonly lines: string[] = [];
  debug(message: string): void {
    this.lines.push(`[debug] ${message}`);
  }
  info(message: string): void {
    this.lines.push(`[info] ${message}`);
  }
  warning(message: string): void {
    this.lines.push(`[warning] ${message}`);
  }
  error(message: string): void {
    this.lines.push(`[error] ${message}`);
  }
}
