/**
 * Step 4, finalize: once every embedding shard is there, writes the embedding manifest.
 *
 * IAM (the finalize function): s3:GetObject + s3:PutObject on runs/* and embeddings/*,
 * s3:ListBucket (the shards' sidecars). Not datasets/*: a replaced dataset is caught by the
 * start of its new content (start.ts).
 */
import { MANIFEST_FILE, writeEmbeddingManifest } from '../../embeddings/index.ts';
import { SimpairError } from '../../errors.ts';
import { getJson, type ObjectStore } from '../../storage/object-store.ts';
import { keys } from '../layout.ts';
import { advanceRun } from '../run-record.ts';
import { activeRun, embeddingIdOf, embeddingsStored, sidecarKey, type ShardSidecar, type StepInput } from './common.ts';

/**
 * Writes the embedding manifest once every shard is there; fails naming missing shards. Only
 * the run's shard indices (0 .. shards-1, sidecars of its embedding id) count: a stray sidecar
 * cannot make a missing shard look present. Embeddings already complete (another run with the
 * same embedding id finalized them) are kept as they are.
 */
export async function finalizeEmbeddings(store: ObjectStore, input: StepInput): Promise<{ runId: string; count: number }> {
  const run = await activeRun(store, input);
  const embeddingId = embeddingIdOf(run);
  const prefix = keys.embeddings(embeddingId);
  if (await embeddingsStored(store, run)) {
    const { count } = await getJson<{ count: number }>(store, `${prefix}${MANIFEST_FILE}`);
    await advanceRun(store, run.runId, { state: 'EMBEDDED' }, input.owner);
    return { runId: run.runId, count };
  }
  const expected = run.shards ?? 0;
  const wanted = new Set(Array.from({ length: expected }, (_, i) => sidecarKey(embeddingId, i)));
  const sidecarKeys = (await store.list(`${prefix}parts/`)).filter((k) => wanted.has(k));
  const parts = (await Promise.all(sidecarKeys.map((k) => getJson<ShardSidecar>(store, k)))).filter((p) => (p.embeddingId ?? embeddingId) === embeddingId);
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
