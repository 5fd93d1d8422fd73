/** Severity of a log line; a logger drops lines below its threshold. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/**
 * Structured logging for the core: a message for humans plus optional fields. Services receive a
 * logger from the composition root; none of them writes to the console on its own.
 */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** A logger that drops everything (tests, CLI commands whose output is data). */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Writes one line per entry (`time level message {fields}`) to a stream, stderr by default. */
export function createStreamLogger(
  level: LogLevel = 'info',
  write: (line: string) => void = (line) => process.stderr.write(line),
): Logger {
  const log = (at: LogLevel) => (message: string, fields?: Record<string, unknown>) => {
    if (order[at] < order[level]) return;
    const extra = fields && Object.keys(fields).length > 0 ? ` ${safeJson(fields)}` : '';
    write(`${new Date().toISOString()} ${at.padEnd(5)} ${message}${extra}\n`);
  };
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

/** A logger that keeps every entry in memory: for tests that assert what was logged. */
export function createMemoryLogger(): Logger & { entries: { level: LogLevel; message: string; fields?: Record<string, unknown> }[] } {
  const entries: { level: LogLevel; message: string; fields?: Record<string, unknown> }[] = [];
  const log = (level: LogLevel) => (message: string, fields?: Record<string, unknown>) => {
    entries.push({ level, message, fields });
  };
  return { entries, debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

/** Errors do not serialize with JSON.stringify; keep their name, message and stack. */
function safeJson(fields: Record<string, unknown>): string {
  try {
    return JSON.stringify(fields, (_key, value: unknown) =>
      value instanceof Error ? { name: value.name, message: value.message, stack: value.stack } : value,
    );
  } catch {
    return '{"unserializable":true}';
  }
}
