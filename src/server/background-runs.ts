/**
 * What `simpair serve` asks, at shutdown, of a backend that trains in the background (the
 * store backend): which runs are still going, and to record them as FAILED when the operator
 * will not wait (a second SIGINT/SIGTERM), so no run record is left non-terminal.
 */
export interface BackgroundRuns {
  /** Ids of the runs started by this process that have not ended yet. */
  inFlightRuns(): readonly string[];
  /**
   * Records every in-flight run as FAILED with `reason` (e.g. "interrupted: ...") and
   * resolves once the records are written. The runs' own steps are abandoned.
   */
  interruptRuns(reason: string): Promise<void>;
}

/** True when `backend` implements {@link BackgroundRuns}. */
export function hasBackgroundRuns(backend: object): backend is BackgroundRuns {
  const b = backend as Partial<BackgroundRuns>;
  return typeof b.inFlightRuns === 'function' && typeof b.interruptRuns === 'function';
}
