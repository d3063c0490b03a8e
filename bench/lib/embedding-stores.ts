import { join } from 'node:path';
import { BertEmbedder } from '../../src/embedder/index.ts';
import { writeEmbeddingManifest, writeEmbeddingShard, type ShardInfo } from '../../src/embeddings/index.ts';
import { embedPairsToStore, type PairRow } from '../../src/pipeline/embed-pairs.ts';
import { FsObjectStore } from '../../src/storage/fs-object-store.ts';
import { PairTokenizer } from '../../src/tokenizer/index.ts';
import type { BenchContext } from './context.ts';
import { MINILM } from './config.ts';
import { note } from './log.ts';
import { loadMrpc } from './mrpc.ts';

/**
 * How the stored embeddings are padded:
 * - `max-length`: BERT on all maxLen positions, simpair's default (embedPairsToStore);
 * - `dynamic-zeroed`: BERT on each batch up to its longest row (BertEmbedder's 'dynamic'),
 *   then every position past the row's own length set to 0, so a Masking(0) layer sees
 *   exactly the real tokens. BertEmbedder's 'dynamic' alone leaves BERT's output on [PAD]
 *   between a row's end and the batch's longest row; the bench zeroes those itself.
 */
export type StorePadding = 'max-length' | 'dynamic-zeroed';

/** One embedded split on disk. */
export interface StoreInfo {
  /** FsObjectStore root; the manifest is at the root (prefix ''). */
  readonly dir: string;
  readonly rows: number;
  readonly seconds: number;
  readonly pairsPerSecond: number;
  readonly datasetSha256: string;
}

/** Train and test embeddings of MRPC made the same way. */
export interface StoreSet {
  readonly padding: StorePadding;
  readonly modelDir: string;
  readonly maxLen: number;
  readonly hidden: number;
  readonly tokenizerSha256: string;
  readonly train: StoreInfo;
  readonly test: StoreInfo;
}

async function embedZeroed(
  tokenizer: PairTokenizer,
  embedder: BertEmbedder,
  rows: readonly PairRow[],
  store: FsObjectStore,
  meta: { maxLen: number; modelId: string; datasetSha256: string },
): Promise<void> {
  const { maxLen } = meta;
  const shardSize = 256;
  const shards: ShardInfo[] = [];
  for (let start = 0, index = 0; start < rows.length; start += shardSize, index++) {
    const part = rows.slice(start, start + shardSize);
    const hidden = embedder.hidden;
    const data = new Float32Array(part.length * maxLen * hidden);
    for (let b = 0; b < part.length; b += 32) {
      const batch = tokenizer.encodePairs(
        part.slice(b, b + 32).map((r) => [r.sentence1, r.sentence2] as const),
        { maxLen },
      );
      const emb = await embedder.embed(batch);
      for (let r = 0; r < batch.batchSize; r++) {
        // positions >= the row's real length: zeros, not BERT's output on [PAD]
        emb.data.fill(0, r * maxLen * hidden + batch.lengths[r] * hidden, (r + 1) * maxLen * hidden);
      }
      data.set(emb.data, b * maxLen * hidden);
    }
    shards.push(await writeEmbeddingShard(store, '', index, { data, batchSize: part.length, maxLen, hidden }, part.map((r) => r.label)));
  }
  await writeEmbeddingManifest(store, '', { modelId: meta.modelId, tokenizerSha256: tokenizer.sha256, maxLen, hidden: embedder.hidden, dtype: 'float32', datasetSha256: meta.datasetSha256 }, shards);
}

/**
 * Embeds the first `trainRows` / `testRows` rows of MRPC train/test with MiniLM at the
 * bench's maxLen into stores under the work dir, once per (padding, sizes) per run.
 */
export async function ensureStores(ctx: BenchContext, padding: StorePadding, trainRows: number, testRows: number): Promise<StoreSet> {
  const key = `${padding}-${trainRows}-${testRows}`;
  const existing = ctx.stores.get(key);
  if (existing) return existing;
  const { maxLen } = ctx.sizes;
  const modelDir = join(ctx.root, MINILM);
  const tokenizer = await PairTokenizer.fromDir(modelDir);
  const embedder = await BertEmbedder.load(modelDir, { padding: padding === 'max-length' ? 'max-length' : 'dynamic' });
  const infos: Record<'train' | 'test', StoreInfo> = {} as Record<'train' | 'test', StoreInfo>;
  try {
    for (const split of ['train', 'test'] as const) {
      const mrpc = await loadMrpc(split);
      const rows = mrpc.rows.slice(0, split === 'train' ? trainRows : testRows);
      const dir = join(ctx.workDir, 'stores', key, split);
      const store = new FsObjectStore(dir);
      note(`embedding MRPC ${split} (${rows.length} pairs, ${padding}, maxLen ${maxLen}) into ${dir}`);
      const t0 = performance.now();
      const meta = { maxLen, modelId: modelDir, datasetSha256: mrpc.sha256 };
      if (padding === 'max-length') {
        await embedPairsToStore(tokenizer, embedder, rows, store, '', { ...meta, batchSize: 32, label: `embed ${split}` });
      } else {
        await embedZeroed(tokenizer, embedder, rows, store, meta);
      }
      const seconds = (performance.now() - t0) / 1000;
      infos[split] = { dir, rows: rows.length, seconds, pairsPerSecond: rows.length / seconds, datasetSha256: mrpc.sha256 };
    }
  } finally {
    await embedder.dispose();
  }
  const set: StoreSet = { padding, modelDir, maxLen, hidden: embedder.hidden, tokenizerSha256: tokenizer.sha256, ...infos };
  ctx.stores.set(key, set);
  return set;
}
