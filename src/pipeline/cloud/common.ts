/**
 * What every step of a run shares: the map item (ShardRef), the embedding shard's sidecar,
 * the input every step takes, and the read of the run a step works on (which refuses a
 * terminal run or one leased to another owner).
 */
import { createHash } from 'node:crypto';
import { MANIFEST_FILE, type ShardInfo } from '../../embeddings/index.ts';
import { MODEL_FILES } from '../../classifier/model-metadata.ts';
import type { ObjectStore } from '../../storage/object-store.ts';
import { keys } from '../layout.ts';
import { embeddingIdFor } from '../run-ids.ts';
import { assertOwned, getRun, type RunOwner, type RunRecord } from '../run-record.ts';

/** A row shard reference, the item the Distributed Map iterates over. */
export interface ShardRef {
  index: number;
  key: string;
  count: number;
}

/** Sidecar each embedding shard leaves so that finalizing needs no state from the map. */
export interface ShardSidecar extends ShardInfo {
  /** The run that embedded it (any run with the same embedding id may have). */
  runId?: string;
  embeddingId?: string;
  modelId: string;
  tokenizerSha256: string;
  hidden: number;
}

/** Hex SHA-256 of bytes (a dataset's content id). */
export const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** Input every step takes: the run, and in-process the owner holding its lease. */
export interface StepInput {
  runId: string;
  owner?: RunOwner;
}

/** Reads a run a step works on; refuses a terminal run and, with an owner, a run leased to another. */
export async function activeRun(store: ObjectStore, { runId, owner }: StepInput): Promise<RunRecord> {
  const run = await getRun(store, runId);
  assertOwned(run, owner);
  return run;
}

/** The id of the embeddings a run trains on (shared with runs that differ only in training options). */
export const embeddingIdOf = (run: Pick<RunRecord, 'datasetSha256' | 'options'>) => embeddingIdFor(run.datasetSha256, run.options);

/** Where a run's embeddings are stored. */
export const embeddingsPrefixOf = (run: Pick<RunRecord, 'datasetSha256' | 'options'>) => keys.embeddings(embeddingIdOf(run));

/** Key of the sidecar an embedding shard leaves (written after the shard: present means complete). */
export const sidecarKey = (embeddingId: string, index: number) => `${keys.embeddings(embeddingId)}parts/${String(index).padStart(5, '0')}.json`;

/** Whether a run's embeddings are complete in the store (the manifest is written last), so no embedding step needs to run. */
export const embeddingsStored = (store: ObjectStore, run: Pick<RunRecord, 'datasetSha256' | 'options'>) => store.exists(`${embeddingsPrefixOf(run)}${MANIFEST_FILE}`);

/** True when every file of a saved model is in the store (they are written, and on disk fsynced, before the run says TRAINED). */
export async function modelComplete(store: ObjectStore, modelVersion: string): Promise<boolean> {
  const prefix = keys.modelVersion(modelVersion);
  const present = await Promise.all([MODEL_FILES.modelJson, MODEL_FILES.weights, MODEL_FILES.metadata].map((f) => store.exists(`${prefix}${f}`)));
  return present.every(Boolean);
}
