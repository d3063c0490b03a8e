import cliProgress from 'cli-progress';

/** A progress bar on stderr; silent when stderr is not a terminal or logging is silenced. */
export interface Progress {
  increment(by?: number): void;
  stop(): void;
}

/**
 * Starts a bar for `total` units of `label` work. Uses cli-progress, which draws only on a TTY.
 *
 * @example
 * const bar = startProgress('embed', pairs.length, 'pairs');
 * bar.increment(32); bar.stop();
 */
export function startProgress(label: string, total: number, unit = 'items'): Progress {
  if (process.env.SIMPAIR_LOG_LEVEL === 'silent' || !process.stderr.isTTY) {
    return { increment() {}, stop() {} };
  }
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${label.padEnd(10)} [{bar}] {percentage}% | {value}/{total} ${unit} | {eta_formatted} left`,
      hideCursor: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  return {
    increment: (by = 1) => bar.increment(by),
    stop: () => bar.stop(),
  };
}
