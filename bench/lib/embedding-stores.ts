import { join } from 'node:path';
import { BertEmbedder } from '../../src/embedder/index.ts';
import { embedPairsToStore } from '../../src/pipeline/embed-pairs.ts';
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
  const embedder = await BertEmbedder.load(modelDir, { padding });
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
      await embedPairsToStore(tokenizer, embedder, rows, store, '', { ...meta, batchSize: 32, label: `embed ${split}` });
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
