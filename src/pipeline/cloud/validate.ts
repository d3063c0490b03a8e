/**
 * Step 2, validate: checks the whole dataset (every bad row reported) and splits it into
 * row shards plus the shard list the Distributed Map reads.
 *
 * IAM (the validate function): s3:GetObject on datasets/*, s3:GetObject + s3:PutObject on
 * runs/*, s3:PutObject on shards/*.
 */
import { parseDataset } from '../../data/index.ts';
import { DatasetChangedError } from '../../errors.ts';
import { putJson, type ObjectStore } from '../../storage/object-store.ts';
import { keys } from '../layout.ts';
import { advanceRun } from '../run-record.ts';
import { log } from '../../util/log.ts';
import { activeRun, embeddingIdOf, embeddingsStored, sha256, type ShardRef, type StepInput } from './common.ts';

/**
 * Validates the whole dataset (every bad row reported) and splits it into row shards.
 * `datasetBytes`, when the caller has already read the dataset, saves a second download; they
 * are used only if their sha256 is the run's. Bytes read from the store must have it too.
 * When the run's embeddings are already stored (a run with other training options embedded
 * the same content), nothing is split: the run is EMBEDDED at once and `embeddingsReady`
 * tells the state machine to skip the embedding map.
 */
export async function validateAndSplit(store: ObjectStore, input: StepInput & { datasetBytes?: Uint8Array }): Promise<{ runId: string; shards: ShardRef[]; embeddingsReady: boolean }> {
  const run = await activeRun(store, input);
  const given = input.datasetBytes;
  const bytes = given && sha256(given) === run.datasetSha256 ? given : await store.get(run.datasetKey);
  if (bytes !== given && sha256(bytes) !== run.datasetSha256) {
    throw new DatasetChangedError(`${run.datasetKey} no longer holds the bytes of run ${run.runId} (sha256 ${run.datasetSha256.slice(0, 16)}...); this run stops and the new content gets its own run.`);
  }
  const data = parseDataset(bytes, run.datasetKey, run.options.dataset);
  const counts = { rows: data.counts.rows, positives: data.counts.positives, negatives: data.counts.negatives };
  const embeddingId = embeddingIdOf(run);
  if (await embeddingsStored(store, run)) {
    log('info', `run ${run.runId}: embeddings ${embeddingId} are already stored; reusing them (no embedding step)`);
    await advanceRun(store, run.runId, { state: 'EMBEDDED', counts, embeddingId, embeddingsReused: true }, input.owner);
    return { runId: run.runId, shards: [], embeddingsReady: true };
  }
  const shards: ShardRef[] = [];
  const size = run.options.shardSize;
  for (let start = 0, index = 0; start < data.pairs.length; start += size, index++) {
    const rows = data.pairs.slice(start, start + size);
    const key = keys.rowShard(run.runId, index);
    await store.put(key, rows.map((r) => JSON.stringify({ sentence1: r.sentence1, sentence2: r.sentence2, label: r.label, line: r.line })).join('\n') + '\n');
    shards.push({ index, key, count: rows.length });
  }
  // The Distributed Map reads this list (ItemReader) rather than passing it through state.
  await putJson(store, keys.shardList(run.runId), shards);
  await advanceRun(store, run.runId, { state: 'VALIDATED', counts, shards: shards.length, embeddingId }, input.owner);
  return { runId: run.runId, shards, embeddingsReady: false };
}
