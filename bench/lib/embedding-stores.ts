import { join } from 'node:path';
import { BertEmbedder, meanPooledSentenceEmbeddings, type PooledEmbeddings } from '../../src/embedder/index.ts';
import { embedPairsToStore } from '../../src/pipeline/embed-pairs.ts';
import { ENCODER_BASELINE_MAX_TOKENS, runEncoderBaseline, type EncoderBaselineRecord } from '../../src/pipeline/encoder-baseline.ts';
import { FsObjectStore } from '../../src/storage/fs-object-store.ts';
import { PairTokenizer } from '../../src/tokenizer/index.ts';
import type { BenchContext } from './context.ts';
import { MINILM } from './config.ts';
import { note } from './log.ts';
import { loadMrpc } from './mrpc.ts';

/**
 * How the stored embeddings are padded (BertEmbedder's `padding`):
 * - `max-length`: BERT on all maxLen positions, simpair's default, the recipe's computation;
 * - `dynamic`: BERT on each batch up to its longest real row, every position past a row's own
 *   tokens 0 (so a Masking(0) layer sees exactly the real tokens).
 */
export type StorePadding = 'max-length' | 'dynamic';

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
  /**
   * With `pooled`: the shards also hold each row's two mean-pooled sentence vectors (what the
   * pooled head takes), and this is the encoder baseline computed from those very vectors
   * (cosine, threshold tuned on the train rows, figures on the test rows), as `simpair run` does.
   */
  readonly encoderBaseline?: EncoderBaselineRecord;
}

/** Options of {@link ensureStores}. */
export interface EnsureStoresOptions {
  /**
   * Pool every sentence (one deduplicated pass, `simpair run`'s settings), store the pooled
   * vectors beside the token embeddings and compute the encoder baseline.
   * @default false
   */
  readonly pooled?: boolean;
}

/**
 * Embeds the first `trainRows` / `testRows` rows of MRPC train/test with MiniLM at the
 * bench's maxLen into stores under the work dir, once per (padding, sizes, pooled) per run.
 */
export async function ensureStores(ctx: BenchContext, padding: StorePadding, trainRows: number, testRows: number, { pooled = false }: EnsureStoresOptions = {}): Promise<StoreSet> {
  const key = `${padding}-${trainRows}-${testRows}${pooled ? '-pooled' : ''}`;
  const existing = ctx.stores.get(key);
  if (existing) return existing;
  const { maxLen } = ctx.sizes;
  const modelDir = join(ctx.root, MINILM);
  const tokenizer = await PairTokenizer.fromDir(modelDir);
  const embedder = await BertEmbedder.load(modelDir, { padding });
  const infos: Record<'train' | 'test', StoreInfo> = {} as Record<'train' | 'test', StoreInfo>;
  const splits = { train: await loadMrpc('train'), test: await loadMrpc('test') };
  const rowsOf = (split: 'train' | 'test') => splits[split].rows.slice(0, split === 'train' ? trainRows : testRows);
  let encoderBaseline: StoreSet['encoderBaseline'];
  let vectors: PooledEmbeddings | undefined;
  try {
    if (pooled) {
      // As simpair run: train pairs then test pairs in one deduplicated pass on the same session.
      const pool = async (sentences: readonly string[]) => (vectors = await meanPooledSentenceEmbeddings(tokenizer, embedder, sentences, { maxTokens: ENCODER_BASELINE_MAX_TOKENS }));
      note(`pooling the sentences of MRPC train + test (encoder baseline and pooled head)`);
      const baseline = await runEncoderBaseline(pool, rowsOf('train'), rowsOf('test'), ENCODER_BASELINE_MAX_TOKENS);
      encoderBaseline = baseline.record;
    }
    for (const split of ['train', 'test'] as const) {
      const mrpc = splits[split];
      const rows = rowsOf(split);
      const first = split === 'train' ? 0 : rowsOf('train').length;
      const pooledRows = vectors ? { pooled: (i: number) => [vectors!.vector(2 * (first + i)), vectors!.vector(2 * (first + i) + 1)] as const } : {};
      const dir = join(ctx.workDir, 'stores', key, split);
      const store = new FsObjectStore(dir);
      note(`embedding MRPC ${split} (${rows.length} pairs, ${padding}, maxLen ${maxLen}) into ${dir}`);
      const t0 = performance.now();
      const meta = { maxLen, modelId: modelDir, datasetSha256: mrpc.sha256 };
      await embedPairsToStore(tokenizer, embedder, rows, store, '', { ...meta, batchSize: 32, label: `embed ${split}`, ...pooledRows });
      const seconds = (performance.now() - t0) / 1000;
      infos[split] = { dir, rows: rows.length, seconds, pairsPerSecond: rows.length / seconds, datasetSha256: mrpc.sha256 };
    }
  } finally {
    await embedder.dispose();
  }
  const set: StoreSet = { padding, modelDir, maxLen, hidden: embedder.hidden, tokenizerSha256: tokenizer.sha256, ...infos, ...(encoderBaseline ? { encoderBaseline } : {}) };
  ctx.stores.set(key, set);
  return set;
}
