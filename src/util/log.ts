/**
 * Minimal structured logger to stderr (stdout is kept for results, e.g. `--json`).
 * Level from SIMPAIR_LOG_LEVEL: silent | error | warn | info (default) | debug.
 */
const LEVELS = { silent: 0, error: 1, warn: 2, info: 3, debug: 4 } as const;
type Level = Exclude<keyof typeof LEVELS, 'silent'>;

function enabled(level: Level): boolean {
  const configured = (process.env.SIMPAIR_LOG_LEVEL ?? 'info') as keyof typeof LEVELS;
  return LEVELS[level] <= (LEVELS[configured] ?? LEVELS.info);
}

/** Writes `simpair: message` to stderr, or one JSON line when SIMPAIR_LOG_FORMAT=json (Lambda). */
export function log(level: Level, message: string, fields: Record<string, unknown> = {}): void {
  if (!enabled(level)) return;
  if (process.env.SIMPAIR_LOG_FORMAT === 'json') {
    process.stderr.write(JSON.stringify({ level, message, ...fields, timestamp: new Date().toISOString() }) + '\n');
  } else {
    const extra = Object.keys(fields).length ? ' ' + JSON.stringify(fields) : '';
    process.stderr.write(`simpair: ${message}${extra}\n`);
  }
}
