import cliProgress from 'cli-progress';

/** A progress bar on stderr; a line per 10 % when stderr is not a terminal (logs); nothing when logging is silenced. */
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
  if (process.env.SIMPAIR_LOG_LEVEL === 'silent' || total <= 0) {
    return { increment() {}, stop() {} };
  }
  if (!process.stderr.isTTY) return lineProgress(label, total, unit);
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

/** Progress for logs: one line each time another tenth of the work is done. */
function lineProgress(label: string, total: number, unit: string): Progress {
  let done = 0;
  let reported = 0;
  const started = Date.now();
  return {
    increment(by = 1) {
      done += by;
      const tenth = Math.floor((done / total) * 10);
      if (tenth > reported) {
        reported = tenth;
        const seconds = (Date.now() - started) / 1000;
        process.stderr.write(`simpair: ${label}: ${tenth * 10}% (${done}/${total} ${unit}, ${seconds.toFixed(0)} s)\n`);
      }
    },
    stop() {},
  };
}
