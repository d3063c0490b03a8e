/**
 * The steps of a training run, each callable on its own (a Lambda, the Batch container) or
 * in order in-process (the local flow). CONTRACT FILE: signatures are fixed; bodies land
 * with the core.
 */
import type { ObjectStore } from '../storage/object-store.ts';

export type RunState = 'STARTED' | 'VALIDATED' | 'EMBEDDED' | 'TRAINED' | 'SUCCEEDED' | 'FAILED';

/** What `runs/{id}/status.json` holds. */
export interface RunRecord {
  runId: string;
  datasetKey: string;
  datasetSha256: string;
  state: RunState;
  /** Which step failed and why, when state is FAILED. */
  error?: { step: string; name: string; message: string };
  counts?: { rows: number; positives: number; negatives: number };
  modelVersion?: string;
  metrics?: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
}

/** Options every run carries from the trigger to the trainer. */
export interface RunOptions {
  modelSource: string;
  maxLen: number;
  epochs: number;
  batchSize: number;
  shardSize: number;
  dtype: 'float32' | 'float16';
}

export interface ShardRef {
  index: number;
  key: string;
  count: number;
}

export declare function startRun(
  store: ObjectStore,
  input: { datasetKey: string; options?: Partial<RunOptions> },
): Promise<{ runId: string; duplicate: boolean }>;

export declare function validateAndSplit(
  store: ObjectStore,
  input: { runId: string },
): Promise<{ runId: string; shards: ShardRef[] }>;

export declare function embedShard(
  store: ObjectStore,
  input: { runId: string; shard: ShardRef },
): Promise<{ runId: string; index: number; count: number }>;

export declare function finalizeEmbeddings(store: ObjectStore, input: { runId: string }): Promise<{ runId: string; count: number }>;

export declare function trainRun(store: ObjectStore, input: { runId: string }): Promise<{ runId: string; modelVersion: string }>;

export declare function publishModel(store: ObjectStore, input: { runId: string; modelVersion: string }): Promise<RunRecord>;

export declare function failRun(store: ObjectStore, input: { runId: string; step: string; error: unknown }): Promise<RunRecord>;

export declare function getRun(store: ObjectStore, runId: string): Promise<RunRecord>;
