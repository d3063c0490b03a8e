/** Small statistics helpers for the bench figures. */

/** Percentile by linear interpolation between closest ranks (numpy's default). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}

/** Arithmetic mean; NaN for no values. */
export function mean(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length;
}

/**
 * Seconds per epoch without the first epoch when there are several: the first carries
 * one-off costs on both sides (Keras traces its graph, tfjs compiles wasm kernels).
 */
export function steadyEpochSeconds(seconds: readonly number[]): number {
  return seconds.length > 1 ? mean(seconds.slice(1)) : mean(seconds);
}

/** a / b, or undefined when either side is missing or b is 0. */
export function ratio(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return undefined;
  return a / b;
}

/** Mean, sample standard deviation, min and max of a few runs (seeds). */
export interface Spread {
  readonly mean: number;
  /** Sample standard deviation (n - 1); 0 for one value. */
  readonly sd: number;
  readonly min: number;
  readonly max: number;
  readonly n: number;
}

/** The spread of `values`; NaN fields for no values. */
export function spread(values: readonly number[]): Spread {
  const m = mean(values);
  const sd = values.length > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - m) ** 2, 0) / (values.length - 1)) : 0;
  return { mean: m, sd, min: Math.min(...values), max: Math.max(...values), n: values.length };
}
