// Test helper (not a test file): writes a tiny, linearly separable embeddings store.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seededRandom } from '../../src/classifier/seeded-random.ts';
import { EmbeddingStoreReader, writeEmbeddingManifest, writeEmbeddingShard, type EmbeddingDtype } from '../../src/embeddings/index.ts';
import { FsObjectStore } from '../../src/storage/fs-object-store.ts';

export const SHA_A = 'a'.repeat(64);
export const SHA_B = 'b'.repeat(64);

export interface SyntheticOptions {
  maxLen?: number;
  hidden?: number;
  shardSizes?: number[];
  dtype?: EmbeddingDtype;
  seed?: number;
  /** Labels drawn independently of the features: nothing to learn. */
  randomLabels?: boolean;
  /**
   * Also store pooled sentence vectors `[count, 2, hidden]`; with 'signal' the label is in
   * them only (v = u for similar rows, v independent of u otherwise) and the token
   * embeddings are noise; with 'noise' they are random.
   */
  pooled?: 'signal' | 'noise';
}

/** Rows whose label decides the sign of the first 4 features of every token, plus noise. */
export function syntheticRows(count: number, maxLen: number, hidden: number, random: () => number): { data: Float32Array; labels: number[] } {
  const data = new Float32Array(count * maxLen * hidden);
  const labels: number[] = [];
  for (let r = 0; r < count; r++) {
    const y = random() < 0.5 ? 0 : 1;
    labels.push(y);
    for (let t = 0; t < maxLen; t++) {
      for (let h = 0; h < hidden; h++) {
        const noise = (random() - 0.5) * 1.0;
        data[(r * maxLen + t) * hidden + h] = noise + (h < 4 ? (y ? 0.8 : -0.8) : 0);
      }
    }
  }
  return { data, labels };
}

export async function writeSyntheticStore(options: SyntheticOptions = {}): Promise<{ store: FsObjectStore; prefix: string; reader: EmbeddingStoreReader }> {
  const { maxLen = 8, hidden = 16, shardSizes = [70, 70, 60], dtype = 'float32', seed = 7, randomLabels = false, pooled } = options;
  const store = new FsObjectStore(await mkdtemp(join(tmpdir(), 'simpair-emb-')));
  const prefix = 'embeddings/run-1/';
  const random = seededRandom(seed);
  const shards = [];
  for (const [index, count] of shardSizes.entries()) {
    const { data, labels } = syntheticRows(count, maxLen, hidden, random);
    if (randomLabels || pooled === 'signal') labels.forEach((_, i) => (labels[i] = random() < 0.5 ? 0 : 1));
    let vectors: Float32Array | undefined;
    if (pooled) {
      vectors = new Float32Array(count * 2 * hidden).map(() => random() * 2 - 1);
      if (pooled === 'signal') labels.forEach((y, r) => y === 1 && vectors!.copyWithin((2 * r + 1) * hidden, 2 * r * hidden, (2 * r + 1) * hidden));
    }
    shards.push(await writeEmbeddingShard(store, prefix, index, { data, batchSize: count, maxLen, hidden }, labels, { dtype, ...(vectors ? { pooled: vectors } : {}) }));
  }
  await writeEmbeddingManifest(store, prefix, { modelId: 'test/tiny', tokenizerSha256: SHA_A, maxLen, hidden, dtype, datasetSha256: SHA_B }, shards);
  return { store, prefix, reader: await EmbeddingStoreReader.open(store, prefix) };
}
