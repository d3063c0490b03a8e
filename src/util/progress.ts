import cliProgress from 'cli-progress';

/**
 * A progress bar on stderr; in logs (stderr not a terminal) a line per 10 % and at least one
 * every {@link LOG_EVERY_MS}; nothing when logging is silenced.
 */
export interface Progress {
  increment(by?: number): void;
  stop(): void;
}

/** The longest a log goes without a progress line while work advances. */
export const LOG_EVERY_MS = 10_000;

/**
 * cli-progress's bar, whose redraw timer never keeps the process alive: a bar left running (a
 * caller that forgot `stop()`, an error thrown half-way) used to hold `simpair run` at the
 * prompt after its last line, in a terminal only (issue 19).
 */
class DetachedBar extends cliProgress.SingleBar {
  override render(): void {
    super.render();
    (this as unknown as { timer: NodeJS.Timeout | null }).timer?.unref();
  }
}

/** Bars drawing now: stopped on exit, so the cursor and line wrapping come back. */
const drawing = new Set<DetachedBar>();
let exitHookInstalled = false;

function stopAll(): void {
  for (const bar of drawing) bar.stop();
  drawing.clear();
}

/**
 * Starts a bar for `total` units of `label` work. Uses cli-progress, which draws only on a TTY.
 * The bar stops itself when the work is done (`total` reached); `stop()` ends it earlier.
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
  const bar = new DetachedBar(
    {
      stream: process.stderr,
      format: `${label.padEnd(10)} [{bar}] {percentage}% | {value}/{total} ${unit} | {eta_formatted} left`,
      hideCursor: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', stopAll);
  }
  bar.start(total, 0);
  drawing.add(bar);
  let done = 0;
  const stop = () => {
    if (!drawing.delete(bar)) return;
    bar.stop();
  };
  return {
    increment: (by = 1) => {
      if (!drawing.has(bar)) return;
      done += by;
      bar.increment(by);
      if (done >= total) stop();
    },
    stop,
  };
}

/** Progress for logs: a line each time another tenth of the work is done, and at least every {@link LOG_EVERY_MS} while it advances. */
function lineProgress(label: string, total: number, unit: string): Progress {
  let done = 0;
  let reported = 0;
  const started = Date.now();
  let lastLine = started;
  return {
    increment(by = 1) {
      done += by;
      const tenth = Math.min(10, Math.floor((done / total) * 10));
      const now = Date.now();
      if (tenth > reported || (now - lastLine >= LOG_EVERY_MS && done < total)) {
        reported = tenth;
        lastLine = now;
        process.stderr.write(`simpair: ${label}: ${Math.floor((Math.min(done, total) / total) * 100)}% (${done}/${total} ${unit}, ${((now - started) / 1000).toFixed(0)} s)\n`);
      }
    },
    stop() {},
  };
}
