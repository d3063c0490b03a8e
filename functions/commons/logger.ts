/** Severity levels, lowest first. */
const LEVELS = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
export type LogLevel = Exclude<keyof typeof LEVELS, 'silent'>;

/** Structured JSON logger: one object per line on stdout, which Lambda's JSON log format keeps as is. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  /** A logger that adds `fields` (e.g. the request id) to every line. */
  child(fields: Record<string, unknown>): Logger;
}

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Name of the handler, on every line. */
  readonly service: string;
  /** @default SIMPAIR_LOG_LEVEL, else AWS_LAMBDA_LOG_LEVEL (set by the function's logging config), else 'info' */
  readonly level?: LogLevel | 'silent';
  /** @default line => process.stdout.write(line) */
  readonly write?: (line: string) => void;
}

/**
 * Creates a JSON logger. Errors in fields are expanded to name and message; their stack is
 * logged (CloudWatch is ours) but never returned to a caller.
 *
 * @example
 * const logger = createLogger({ service: 'predict' });
 * logger.info('Loaded model', { modelVersion });
 */
export function createLogger({ service, level, write = (line) => process.stdout.write(line) }: LoggerOptions, base: Record<string, unknown> = {}): Logger {
  const configured = (level ?? process.env.SIMPAIR_LOG_LEVEL ?? process.env.AWS_LAMBDA_LOG_LEVEL ?? 'info').toLowerCase();
  const threshold = LEVELS[configured as keyof typeof LEVELS] ?? LEVELS.info;
  const emit = (lvl: LogLevel, message: string, fields: Record<string, unknown> = {}): void => {
    if (LEVELS[lvl] < threshold) return;
    const entry = { timestamp: new Date().toISOString(), level: lvl.toUpperCase(), service, message, ...base, ...serialise(fields) };
    write(JSON.stringify(entry) + '\n');
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger({ service, level, write }, { ...base, ...fields }),
  };
}

function serialise(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) {
    out[k] = v instanceof Error ? { name: v.name, message: v.message, stack: v.stack } : v;
  }
  return out;
}
