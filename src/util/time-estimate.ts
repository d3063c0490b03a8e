/** Options of {@link estimateTime}. */
export interface TimeEstimateOptions {
  /** Units of work in all (batches of an epoch, pairs to embed). */
  readonly total: number;
  /**
   * Units to time after the first one before estimating. The first unit is left out of the
   * rate: it carries one-off costs (kernel compilation, ONNX Runtime's first run).
   * @default 5
   */
  readonly after?: number;
  /** Called once with the estimate. */
  readonly onEstimate: (estimate: TimeEstimate) => void;
  /** Milliseconds clock. @default performance.now */
  readonly clock?: () => number;
}

/** What {@link estimateTime} reports. */
export interface TimeEstimate {
  /** Seconds per unit, measured after the first unit. */
  readonly secondsPerUnit: number;
  /** Seconds for all `total` units: the time spent so far plus the rest at the measured rate. */
  readonly totalSeconds: number;
  /** Units done when the estimate was made. */
  readonly done: number;
}

/**
 * Times a piece of work as its units complete and reports, once, how long all of it will
 * take: after the first unit plus `after` more (or at the end, if it has fewer units).
 * Feed it with `tick(units)` where a progress bar is advanced.
 *
 * @example
 * const eta = estimateTime({ total: batches, onEstimate: (e) => log('info', `about ${formatDuration(e.totalSeconds)} per epoch`) });
 * eta.tick(); // after every batch
 */
export function estimateTime({ total, after = 5, onEstimate, clock = () => performance.now() }: TimeEstimateOptions): { tick(units?: number): void } {
  const started = clock();
  let done = 0;
  let firstDoneAt: number | undefined;
  let firstDone = 0;
  let reported = false;
  return {
    tick(units = 1) {
      if (reported) return;
      done += units;
      const now = clock();
      if (firstDoneAt === undefined) {
        firstDoneAt = now;
        firstDone = done;
        if (done < total) return;
      }
      if (done - firstDone < after && done < total) return;
      reported = true;
      const timed = done - firstDone;
      const secondsPerUnit = timed > 0 ? (now - firstDoneAt) / 1000 / timed : (now - started) / 1000 / done;
      onEstimate({ secondsPerUnit, totalSeconds: (now - started) / 1000 + Math.max(0, total - done) * secondsPerUnit, done });
    },
  };
}

/**
 * A duration for people: `42 s`, `3 min 20 s`, `1 h 05 min`.
 *
 * @example
 * formatDuration(200); // '3 min 20 s'
 */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.round((s % 3600) / 60)).padStart(2, '0')} min`;
}
