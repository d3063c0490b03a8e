/**
 * Step 4, finalize: once every embedding shard is there, writes the embedding manifest.
 *
 * IAM (the finalize function): s3:GetObject + s3:PutObject on runs/* and embeddings/*,
 * s3:ListBucket (the shards' sidecars). Not datasets/*: a replaced dataset is caught by the
 * start of its new content (start.ts).
 */
import { writeEmbeddingManifest } from '../../embeddings/index.ts';
import { SimpairError } from '../../errors.ts';
import { getJson, type ObjectStore } from '../../storage/object-store.ts';
import { keys } from '../layout.ts';
import { advanceRun } from '../run-record.ts';
import { activeRun, sidecarKey, type ShardSidecar, type StepInput } from './common.ts';

/**
 * Writes the embedding manifest once every shard is there; fails naming missing shards. Only
 * this run's shard indices (0 .. shards-1, sidecars naming this run) count: a leftover sidecar
 * of an earlier attempt with more shards cannot make a missing shard look present.
 */
export async function finalizeEmbeddings(store: ObjectStore, input: StepInput): Promise<{ runId: string; count: number }> {
  const run = await activeRun(store, input);
  const prefix = keys.embeddings(run.runId);
  const expected = run.shards ?? 0;
  const wanted = new Set(Array.from({ length: expected }, (_, i) => sidecarKey(run.runId, i)));
  const sidecarKeys = (await store.list(`${prefix}parts/`)).filter((k) => wanted.has(k));
  const parts = (await Promise.all(sidecarKeys.map((k) => getJson<ShardSidecar>(store, k)))).filter((p) => (p.runId ?? run.runId) === run.runId);
  parts.sort((a, b) => a.index - b.index);
  if (parts.length !== expected) {
    const have = new Set(parts.map((p) => p.index));
    const missing = Array.from({ length: expected }, (_, i) => i).filter((i) => !have.has(i));
    throw new SimpairError(`Run ${run.runId} has ${parts.length} of ${expected} embedding shards; missing ${missing.slice(0, 10).join(', ')}. Re-run the embedding map.`);
  }
  const first = parts[0];
  const manifest = await writeEmbeddingManifest(
    store,
    prefix,
    {
      modelId: first.modelId,
      tokenizerSha256: first.tokenizerSha256,
      maxLen: run.options.maxLen,
      hidden: first.hidden,
      dtype: run.options.dtype,
      datasetSha256: run.datasetSha256,
      padding: run.options.padding === 'masked' ? 'dynamic' : 'max-length' },
    parts,
  );
  await advanceRun(store, run.runId, { state: 'EMBEDDED' }, input.owner);
  return { runId: run.runId, count: manifest.count };
}
