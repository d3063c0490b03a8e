// Shared by bench/gpu.ts and its child bench/gpu-child.ts (neither can import the other: both
// run at import).

/** Markers the child writes on stderr: after every training step, and `${EPOCH_MARKER} <epoch> <seconds>`. */
export const STEP_MARKER = '@@simpair-gpu-bench step-end';
export const EPOCH_MARKER = '@@simpair-gpu-bench epoch-end';

/** What the child prints (one JSON line on stdout). */
export interface GpuChildResult {
  readonly backend: string;
  readonly package: string;
  readonly tfVersion: string;
  readonly lstmPath: string;
  readonly trainRows: number;
  readonly batchSize: number;
  readonly epochSeconds: number[];
}
