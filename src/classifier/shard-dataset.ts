import * as tf from '@tensorflow/tfjs-core';
import type { EmbeddingStoreReader } from '../embeddings/index.ts';
import { deriveSeed, seededRandom, shuffleInPlace } from './seeded-random.ts';

/** Rows `[from, to)` of one shard. */
export interface ShardRange {
  readonly shard: number;
  readonly from: number;
  readonly to: number;
}

/** One batch as fitDataset wants it; fitDataset disposes both tensors after the step. */
export interface TensorBatch {
  xs: tf.Tensor3D;
  ys: tf.Tensor2D;
}

/**
 * Splits the manifest's rows into training and validation ranges. Validation is the last
 * `ceil(validationSplit * count)` rows in manifest order.
 *
 * Porting Note: as Keras' `validation_split`, which takes the last fraction of x/y before
 * any shuffling.
 */
export function splitRanges(shardCounts: readonly number[], validationRows: number): { train: ShardRange[]; validation: ShardRange[] } {
  const total = shardCounts.reduce((a, b) => a + b, 0);
  const trainRows = total - validationRows;
  const train: ShardRange[] = [];
  const validation: ShardRange[] = [];
  let start = 0;
  shardCounts.forEach((count, shard) => {
    const cut = Math.min(Math.max(trainRows - start, 0), count);
    if (cut > 0) train.push({ shard, from: 0, to: cut });
    if (cut < count) validation.push({ shard, from: cut, to: count });
    start += count;
  });
  return { train, validation };
}

/**
 * Streams batches out of an embeddings store one shard at a time, so memory holds one
 * shard and one batch whatever the dataset size. Batches run across shard boundaries (the
 * rest of one shard fills up with the next), so only the epoch's last batch is short.
 *
 * With a seed, every `iterator()` call shuffles the shard order and the rows within each
 * shard, from a seed derived from (seed, epoch): the same seed gives the same batches.
 *
 * Porting Note: Keras shuffles all rows globally each epoch; a global shuffle would need
 * every shard in memory (or random reads), so this two-level shuffle is the streaming
 * equivalent.
 *
 * Implements the `Dataset` shape tfjs-layers' `fitDataset` / `evaluateDataset` accept
 * (`iterator()` resolving to `{ next(): Promise<IteratorResult> }`, plus `size` in batches);
 * @tensorflow/tfjs-data is not needed.
 */
export class ShardDataset {
  /** Batches per epoch (fitDataset uses it for progress only). */
  readonly size: number;
  /** Epoch the next `iterator()` call is for; set by the trainer before each epoch. */
  epoch = 0;

  constructor(
    private readonly reader: EmbeddingStoreReader,
    private readonly ranges: readonly ShardRange[],
    private readonly batchSize: number,
    private readonly shuffleSeed?: number,
  ) {
    const rows = ranges.reduce((a, r) => a + (r.to - r.from), 0);
    this.size = Math.ceil(rows / batchSize);
  }

  /** Number of rows one pass yields. */
  get rows(): number {
    return this.ranges.reduce((a, r) => a + (r.to - r.from), 0);
  }

  async iterator(): Promise<{ next(): Promise<IteratorResult<TensorBatch>> }> {
    const ranges = [...this.ranges];
    let random: (() => number) | undefined;
    if (this.shuffleSeed !== undefined) {
      random = seededRandom(deriveSeed(this.shuffleSeed, this.epoch));
      shuffleInPlace(ranges, random);
    }
    const { reader, batchSize } = this;
    const { maxLen, hidden } = reader.manifest;
    const rowSize = maxLen * hidden;
    let rangeIndex = 0;
    let shard: { embeddings: Float32Array; labels: Float32Array } | undefined;
    let order = new Uint32Array(0);
    let pos = 0;

    const next = async (): Promise<IteratorResult<TensorBatch>> => {
      // A fresh buffer per batch: backends may keep the array as the tensor's storage.
      const xs = new Float32Array(batchSize * rowSize);
      const ys = new Float32Array(batchSize);
      let filled = 0;
      while (filled < batchSize) {
        if (shard === undefined || pos >= order.length) {
          shard = undefined; // drop the previous shard before reading the next one
          if (rangeIndex >= ranges.length) break;
          const range = ranges[rangeIndex++];
          shard = await reader.readShard(range.shard);
          order = new Uint32Array(range.to - range.from);
          for (let i = 0; i < order.length; i++) order[i] = range.from + i;
          if (random) shuffleInPlace(order, random);
          pos = 0;
        }
        const take = Math.min(batchSize - filled, order.length - pos);
        for (let k = 0; k < take; k++, filled++) {
          const row = order[pos++];
          xs.set(shard.embeddings.subarray(row * rowSize, (row + 1) * rowSize), filled * rowSize);
          ys[filled] = shard.labels[row];
        }
      }
      if (filled === 0) return { done: true, value: undefined };
      return {
        done: false,
        value: {
          xs: tf.tensor3d(filled === batchSize ? xs : xs.subarray(0, filled * rowSize), [filled, maxLen, hidden]),
          ys: tf.tensor2d(filled === batchSize ? ys : ys.subarray(0, filled), [filled, 1]),
        },
      };
    };
    return { next };
  }
}
