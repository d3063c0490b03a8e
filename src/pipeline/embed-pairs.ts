import type { BertEmbedder, Embeddings } from '../embedder/bert-embedder.ts';
import type { PairTokenizer } from '../tokenizer/pair-tokenizer.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { writeEmbeddingManifest, writeEmbeddingShard } from '../embeddings/index.ts';
import type { EmbeddingManifest, ShardInfo } from '../embeddings/index.ts';
import { startProgress, type Progress } from '../util/progress.ts';

/** A sentence pair with its label, as read from a dataset. */
export interface PairRow {
  readonly sentence1: string;
  readonly sentence2: string;
  readonly label: number;
}

/** Options of {@link embedPairs} and {@link embedPairsToStore}. */
export interface EmbedPairsOptions {
  readonly maxLen: number;
  /** Pairs per BERT call. @default 32 */
  readonly batchSize?: number;
  /** Progress bar to advance by the pairs done. */
  readonly progress?: Progress;
}

/**
 * Tokenizes and embeds pairs batch by batch into one `[pairs.length, maxLen, hidden]` block.
 *
 * @example
 * const emb = await embedPairs(tokenizer, embedder, [['a', 'b']], { maxLen: 32 });
 */
export async function embedPairs(
  tokenizer: PairTokenizer,
  embedder: BertEmbedder,
  pairs: readonly (readonly [string, string])[],
  { maxLen, batchSize = 32, progress }: EmbedPairsOptions,
): Promise<Embeddings> {
  const hidden = embedder.hidden;
  const rowSize = maxLen * hidden;
  const data = new Float32Array(pairs.length * rowSize);
  for (let start = 0; start < pairs.length; start += batchSize) {
    const batch = pairs.slice(start, start + batchSize);
    const emb = await embedder.embed(tokenizer.encodePairs(batch, { maxLen }));
    data.set(emb.data, start * rowSize);
    progress?.increment(batch.length);
  }
  return { data, batchSize: pairs.length, maxLen, hidden };
}

/** Options of {@link embedPairsToStore}. */
export interface EmbedToStoreOptions extends EmbedPairsOptions {
  /** Rows per shard file. Bounds memory: one shard is held at a time. @default 256 */
  readonly shardSize?: number;
  /** @default 'float32' */
  readonly dtype?: 'float32' | 'float16';
  readonly modelId: string;
  readonly datasetSha256: string;
  /** Label of the progress bar. @default 'embed' */
  readonly label?: string;
  /**
   * The two mean-pooled sentence vectors of row `i` of `rows`, stored in the shards beside
   * the token embeddings (for the pooled head). @default undefined (not stored)
   */
  readonly pooled?: (row: number) => readonly [Float32Array, Float32Array];
}

/**
 * Embeds labelled pairs into an embedding store (safetensors shards + manifest.json) under
 * `prefix`, one shard in memory at a time.
 */
export async function embedPairsToStore(
  tokenizer: PairTokenizer,
  embedder: BertEmbedder,
  rows: readonly PairRow[],
  store: ObjectStore,
  prefix: string,
  options: EmbedToStoreOptions,
): Promise<EmbeddingManifest> {
  const { maxLen, batchSize = 32, shardSize = 256, dtype = 'float32', modelId, datasetSha256, label = 'embed' } = options;
  const bar = options.progress ?? startProgress(label, rows.length, 'pairs');
  const shards: ShardInfo[] = [];
  try {
    for (let start = 0, index = 0; start < rows.length; start += shardSize, index++) {
      const part = rows.slice(start, start + shardSize);
      const emb = await embedPairs(
        tokenizer,
        embedder,
        part.map((r) => [r.sentence1, r.sentence2] as const),
        { maxLen, batchSize, progress: bar },
      );
      let pooled: Float32Array | undefined;
      if (options.pooled) {
        const h = embedder.hidden;
        pooled = new Float32Array(part.length * 2 * h);
        part.forEach((_, i) => {
          const [u, v] = options.pooled!(start + i);
          pooled!.set(u, 2 * i * h);
          pooled!.set(v, (2 * i + 1) * h);
        });
      }
      shards.push(await writeEmbeddingShard(store, prefix, index, emb, part.map((r) => r.label), { dtype, ...(pooled ? { pooled } : {}) }));
    }
  } finally {
    if (!options.progress) bar.stop();
  }
  return writeEmbeddingManifest(
    store,
    prefix,
    { modelId, tokenizerSha256: tokenizer.sha256, maxLen, hidden: embedder.hidden, dtype, datasetSha256, padding: embedder.padding },
    shards,
  );
}
