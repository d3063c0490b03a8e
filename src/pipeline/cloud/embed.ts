/**
 * Step 3, embed (one Distributed Map item): tokenizes and embeds one row shard with BERT
 * into one embedding shard (safetensors) plus a sidecar.
 *
 * IAM (the embedding function): s3:GetObject on runs/* and shards/*, s3:PutObject on
 * embeddings/*, read of the model source (encoders/* when it is in the bucket).
 */
import type { BertEmbedder } from '../../embedder/bert-embedder.ts';
import { writeEmbeddingShard } from '../../embeddings/index.ts';
import { SimpairError } from '../../errors.ts';
import { resolveModelSource } from '../../model-source/index.ts';
import { putJson, type ObjectStore } from '../../storage/object-store.ts';
import { PairTokenizer } from '../../tokenizer/pair-tokenizer.ts';
import { embedPairs } from '../embed-pairs.ts';
import { meanPooledSentenceEmbeddings } from '../../embedder/pooled-embeddings.ts';
import { ENCODER_BASELINE_MAX_TOKENS } from '../encoder-baseline.ts';
import { keys } from '../layout.ts';
import type { RunOptions } from '../run-options.ts';
import { log } from '../../util/log.ts';
import { activeRun, embeddingIdOf, sidecarKey, type ShardRef, type ShardSidecar, type StepInput } from './common.ts';

/** Tokenizer and embedder per model source, kept for the life of a Lambda container. */
const embedderCache = new Map<string, Promise<{ tokenizer: PairTokenizer; embedder: BertEmbedder; modelId: string }>>();

async function loadEmbedder(source: string, padding: RunOptions['padding']) {
  const cacheKey = `${padding}:${source}`;
  let entry = embedderCache.get(cacheKey);
  if (!entry) {
    entry = (async () => {
      // Imported here, not at the top: the training container runs trainRun from this module and
      // must not load onnxruntime-node (not installed in its image).
      const { BertEmbedder } = await import('../../embedder/bert-embedder.ts');
      const resolved = await resolveModelSource(source);
      return {
        tokenizer: await PairTokenizer.fromDir(resolved.dir),
        embedder: await BertEmbedder.load(resolved.dir, { onnxFile: resolved.onnxFile, padding: padding === 'masked' ? 'dynamic' : 'max-length' }),
        modelId: resolved.modelId };
    })();
    embedderCache.set(cacheKey, entry);
    entry.catch(() => embedderCache.delete(cacheKey));
  }
  return entry;
}

/**
 * Embeds one row shard into one embedding shard (safetensors) plus a sidecar, under the run's
 * embedding id. A shard whose sidecar is already there (a retried map item, a resumed run, a
 * run with the same embeddings id) is not embedded again.
 */
export async function embedShard(store: ObjectStore, input: StepInput & { shard: ShardRef }): Promise<{ runId: string; index: number; count: number }> {
  const run = await activeRun(store, input);
  const embeddingId = embeddingIdOf(run);
  if (await store.exists(sidecarKey(embeddingId, input.shard.index))) {
    log('info', `run ${run.runId}: embedding shard ${input.shard.index} of ${embeddingId} is already stored; not embedding it again`);
    return { runId: run.runId, index: input.shard.index, count: input.shard.count };
  }
  const text = Buffer.from(await store.get(input.shard.key)).toString('utf8');
  const rows = text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { sentence1: string; sentence2: string; label: number });
  if (rows.length !== input.shard.count) {
    throw new SimpairError(`Row shard ${input.shard.key} holds ${rows.length} rows, the map item says ${input.shard.count}; re-run the validate step.`);
  }
  const { tokenizer, embedder, modelId } = await loadEmbedder(run.options.modelSource, run.options.padding ?? 'max-length');
  const emb = await embedPairs(tokenizer, embedder, rows.map((r) => [r.sentence1, r.sentence2] as const), { maxLen: run.options.maxLen, batchSize: 32 });
  const prefix = keys.embeddings(embeddingId);
  // Each row's two mean-pooled sentence vectors beside its tokens: the training step scores the
  // encoder baseline with them, and the pooled head takes them as its second input.
  const pooled = await pooledVectors(tokenizer, embedder, rows);
  const info = await writeEmbeddingShard(store, prefix, input.shard.index, emb, rows.map((r) => r.label), { dtype: run.options.dtype, pooled });
  const sidecar: ShardSidecar = { ...info, runId: run.runId, embeddingId, modelId, tokenizerSha256: tokenizer.sha256, hidden: embedder.hidden };
  // Written after the shard it describes: a sidecar present means its shard is complete.
  await putJson(store, sidecarKey(embeddingId, input.shard.index), sidecar);
  return { runId: run.runId, index: input.shard.index, count: rows.length };
}

/** `[rows, 2, hidden]`: each row's two mean-pooled sentence vectors, as `simpair run --head pooled` stores them. */
async function pooledVectors(tokenizer: PairTokenizer, embedder: BertEmbedder, rows: readonly { sentence1: string; sentence2: string }[]): Promise<Float32Array> {
  const pooled = await meanPooledSentenceEmbeddings(tokenizer, embedder, rows.flatMap((r) => [r.sentence1, r.sentence2]), { maxTokens: ENCODER_BASELINE_MAX_TOKENS });
  const out = new Float32Array(rows.length * 2 * pooled.hidden);
  for (let i = 0; i < 2 * rows.length; i++) out.set(pooled.vector(i), i * pooled.hidden);
  return out;
}
