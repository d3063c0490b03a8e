import { createHash } from 'node:crypto';
import { LabelError, ShapeMismatchError, SimpairError } from '../errors.ts';
import type { Embeddings } from '../embedder/index.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { float32ArrayToFloat16 } from './float16.ts';
import { EMBEDDINGS_FORMAT, joinKey, shardFileName, type EmbeddingDtype } from './manifest.ts';
import { encodeSafetensors } from './safetensors.ts';

/** Options of {@link writeEmbeddingShard}. */
export interface WriteEmbeddingShardOptions {
  /**
   * Storage dtype. float16 halves the size; values are rounded to nearest even and read
   * back as float32 (about 3 significant digits, ample for BERT activations).
   * @default 'float32'
   */
  readonly dtype?: EmbeddingDtype;
  /**
   * Mean-pooled sentence vectors of each row's two sentences, `[count, 2, hidden]` row-major,
   * stored as a float32 tensor `pooled` (small: 2 vectors per row against maxLen); what the
   * pooled head (`buildBiLstm({ head: 'pooled' })`) takes besides the token embeddings.
   * @default undefined (not stored)
   */
  readonly pooled?: Float32Array;
}

/** What one written shard holds; pass all of them to {@link writeEmbeddingManifest}. */
export interface ShardInfo {
  /** Key relative to the embeddings prefix (`shard-00000.safetensors`). */
  readonly key: string;
  readonly index: number;
  readonly count: number;
  readonly positives: number;
  /** SHA-256 (hex) of the whole shard file. */
  readonly sha256: string;
  readonly bytes: number;
  readonly maxLen: number;
  readonly hidden: number;
  readonly dtype: EmbeddingDtype;
}

/**
 * Checks labels against a batch: as many labels as rows, each exactly 0 or 1. `where`
 * names the batch in messages (e.g. `shard 3`).
 */
export function checkLabels(labels: ArrayLike<number>, batchSize: number, where: string): number {
  if (labels.length !== batchSize) {
    throw new LabelError(
      `${where}: ${labels.length} labels for ${batchSize} embedding rows; ` +
        `labels must align with the embeddings batch, one 0/1 label per row.`,
    );
  }
  let positives = 0;
  for (let row = 0; row < labels.length; row++) {
    const y = labels[row];
    if (y !== 0 && y !== 1) {
      throw new LabelError(`${where}, row ${row}: label ${String(y)} is not 0 or 1; labels are 0 (dissimilar) or 1 (similar).`);
    }
    positives += y;
  }
  return positives;
}

/**
 * Writes one embeddings shard (`shard-NNNNN.safetensors`) under `prefix`: tensors
 * `embeddings` [count, maxLen, hidden] (F32 or F16) and `labels` [count] (U8). Shards are
 * independent, so many workers (Lambdas of a Distributed Map) can write them in parallel;
 * {@link writeEmbeddingManifest} then ties them together.
 *
 * Python reads a shard as it is, with the reference safetensors library:
 * ```python
 * from safetensors.numpy import load_file
 * t = load_file("shard-00000.safetensors")
 * t["embeddings"].shape, t["embeddings"].dtype  # (count, maxLen, hidden), float32 or float16
 * t["labels"]                                   # uint8 array of 0/1
 * ```
 *
 * @example
 * const info = await writeEmbeddingShard(store, 'embeddings/run-1/', 0, await embedder.embed(batch), labels, { dtype: 'float16' });
 *
 * @throws LabelError when labels do not align with the batch or are not 0/1.
 * @throws ShapeMismatchError when `data` does not hold batchSize x maxLen x hidden values.
 */
export async function writeEmbeddingShard(
  store: ObjectStore,
  prefix: string,
  index: number,
  embeddings: Embeddings,
  labels: ArrayLike<number>,
  options: WriteEmbeddingShardOptions = {},
): Promise<ShardInfo> {
  const { dtype = 'float32', pooled } = options;
  const { data, batchSize, maxLen, hidden } = embeddings;
  const where = `Embeddings shard ${index}`;
  if (!Number.isInteger(index) || index < 0) throw new SimpairError(`${where}: index must be a non-negative integer.`);
  if (batchSize <= 0) throw new SimpairError(`${where}: empty batch; write shards with at least one row.`);
  if (data.length !== batchSize * maxLen * hidden) {
    throw new ShapeMismatchError(
      `${where}: embeddings hold ${data.length} values, shape [${batchSize}, ${maxLen}, ${hidden}] needs ${batchSize * maxLen * hidden}.`,
    );
  }
  const positives = checkLabels(labels, batchSize, where);
  if (pooled !== undefined && pooled.length !== batchSize * 2 * hidden) {
    throw new ShapeMismatchError(`${where}: pooled vectors hold ${pooled.length} values, shape [${batchSize}, 2, ${hidden}] needs ${batchSize * 2 * hidden}.`);
  }
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      const row = Math.floor(i / (maxLen * hidden));
      throw new SimpairError(`${where}, row ${row}: embedding value ${data[i]} is not finite; re-embed this shard.`);
    }
  }
  const file = encodeSafetensors(
    {
      // First, so its float32 data starts 4-byte aligned (readers view it without a copy).
      ...(pooled ? { pooled: { dtype: 'F32' as const, shape: [batchSize, 2, hidden], data: pooled } } : {}),
      embeddings: dtype === 'float16'
        ? { dtype: 'F16', shape: [batchSize, maxLen, hidden], data: float32ArrayToFloat16(data) }
        : { dtype: 'F32', shape: [batchSize, maxLen, hidden], data },
      labels: { dtype: 'U8', shape: [batchSize], data: Uint8Array.from(labels) },
    },
    { format: EMBEDDINGS_FORMAT, index: String(index) },
  );
  const key = shardFileName(index);
  await store.put(joinKey(prefix, key), file);
  return {
    key,
    index,
    count: batchSize,
    positives,
    sha256: createHash('sha256').update(file).digest('hex'),
    bytes: file.byteLength,
    maxLen,
    hidden,
    dtype,
  };
}
