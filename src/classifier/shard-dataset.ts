import { setImmediate } from 'node:timers/promises';
import * as tf from '@tensorflow/tfjs-core';
import type { EmbeddingShard, EmbeddingStoreReader } from '../embeddings/index.ts';
import { SimpairError } from '../errors.ts';
import { deriveSeed, seededRandom, shuffleInPlace } from './seeded-random.ts';
import { pairFeatures } from './pair-features.ts';

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
  /** `[batch, 4 * hidden]` pair features (see pairFeatures), when the shards hold pooled vectors. */
  pairs?: tf.Tensor2D;
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

/** What {@link ShardDataset} reads: an {@link EmbeddingStoreReader} or anything shaped like it. */
export type ShardSource = Pick<EmbeddingStoreReader, 'manifest' | 'readShard'>;

/** Options of {@link ShardDataset}. */
export interface ShardDatasetOptions {
  /**
   * Shards read and decoded in the background ahead of the one being batched, so the
   * trainer does not wait on storage at a shard boundary. Memory holds at most
   * `prefetch + 1` decoded shards. 0 reads each shard when batching reaches it.
   * @default 1
   */
  readonly prefetch?: number;
}

/** A shard read in flight (or done), with the row order drawn for it. */
interface PendingShard {
  readonly order: Uint32Array;
  readonly shard: Promise<EmbeddingShard>;
  settled: boolean;
}

/**
 * Streams batches out of an embeddings store one shard at a time, so memory holds
 * `prefetch + 1` shards and one batch whatever the dataset size. Batches run across shard
 * boundaries (the rest of one shard fills up with the next), so only the epoch's last batch
 * is short. While one shard is batched, the next `prefetch` shards are already being read
 * and decoded; the batches are the same, in the same order, at every prefetch depth.
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
 *
 * @example
 * const { train } = splitRanges(reader.manifest.shards.map((s) => s.count), 0);
 * const dataset = new ShardDataset(reader, train, 32, 42, { prefetch: 2 });
 * dataset.epoch = 0;
 * const it = await dataset.iterator();
 * for (let r = await it.next(); !r.done; r = await it.next()) {
 *   const { xs, ys } = r.value; // [batch, maxLen, hidden], [batch, 1]
 *   tf.dispose([xs, ys]);
 * }
 */
export class ShardDataset {
  /** Batches per epoch (fitDataset uses it for progress only). */
  readonly size: number;
  /** Epoch the next `iterator()` call is for; set by the trainer before each epoch. */
  epoch = 0;
  private readonly prefetch: number;

  constructor(
    private readonly reader: ShardSource,
    private readonly ranges: readonly ShardRange[],
    private readonly batchSize: number,
    private readonly shuffleSeed?: number,
    options: ShardDatasetOptions = {},
  ) {
    const { prefetch = 1 } = options;
    if (!Number.isInteger(prefetch) || prefetch < 0) {
      throw new SimpairError(`ShardDataset: prefetch must be an integer >= 0, received ${prefetch}; use 0 to read each shard when it is needed.`);
    }
    this.prefetch = prefetch;
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
    const { reader, batchSize, prefetch } = this;
    const { maxLen, hidden } = reader.manifest;
    const rowSize = maxLen * hidden;
    let nextRange = 0;
    const ahead: PendingShard[] = [];
    let shard: EmbeddingShard | undefined;
    let order: Uint32Array = new Uint32Array(0);
    let pos = 0;
    let hasPooled: boolean | undefined;

    // Row orders are drawn when a read starts, and reads start in shard order, so the
    // random sequence (and so every batch) is the same at every prefetch depth.
    const startRead = (): void => {
      const range = ranges[nextRange++];
      const rows = new Uint32Array(range.to - range.from);
      for (let i = 0; i < rows.length; i++) rows[i] = range.from + i;
      if (random) shuffleInPlace(rows, random);
      const pending: PendingShard = { order: rows, shard: reader.readShard(range.shard), settled: false };
      // Observed here so a read that fails ahead of time is not an unhandled rejection; the
      // error reaches the trainer when batching gets to this shard.
      pending.shard.then(
        () => (pending.settled = true),
        () => (pending.settled = true),
      );
      ahead.push(pending);
    };

    const next = async (): Promise<IteratorResult<TensorBatch>> => {
      // The trainer may await nothing but this call; a macrotask turn lets reads in flight
      // take their I/O callbacks (a microtask-only loop would starve them).
      if (ahead.some((p) => !p.settled)) await setImmediate();
      // A fresh buffer per batch: backends may keep the array as the tensor's storage.
      const xs = new Float32Array(batchSize * rowSize);
      const ys = new Float32Array(batchSize);
      let pairs: Float32Array | undefined;
      let filled = 0;
      while (filled < batchSize) {
        if (shard === undefined || pos >= order.length) {
          shard = undefined; // drop the previous shard before holding another
          if (ahead.length === 0 && nextRange < ranges.length) startRead();
          const current = ahead.shift();
          if (current === undefined) break;
          while (ahead.length < prefetch && nextRange < ranges.length) startRead();
          shard = await current.shard;
          hasPooled ??= shard.pooled !== undefined;
          if (hasPooled !== (shard.pooled !== undefined)) {
            throw new SimpairError('ShardDataset: some shards hold pooled sentence vectors and others do not; re-create the embeddings with one setting.');
          }
          order = current.order;
          pos = 0;
        }
        const take = Math.min(batchSize - filled, order.length - pos);
        for (let k = 0; k < take; k++, filled++) {
          const row = order[pos++];
          xs.set(shard.embeddings.subarray(row * rowSize, (row + 1) * rowSize), filled * rowSize);
          ys[filled] = shard.labels[row];
          if (shard.pooled) {
            pairs ??= new Float32Array(batchSize * 4 * hidden);
            const u = shard.pooled.subarray(row * 2 * hidden, (row * 2 + 1) * hidden);
            const v = shard.pooled.subarray((row * 2 + 1) * hidden, (row * 2 + 2) * hidden);
            pairFeatures(u, v, pairs.subarray(filled * 4 * hidden, (filled + 1) * 4 * hidden));
          }
        }

      }
      if (filled === 0) return { done: true, value: undefined };
      return {
        done: false,
        value: {
          xs: tf.tensor3d(filled === batchSize ? xs : xs.subarray(0, filled * rowSize), [filled, maxLen, hidden]),
          ys: tf.tensor2d(filled === batchSize ? ys : ys.subarray(0, filled), [filled, 1]),
          ...(pairs ? { pairs: tf.tensor2d(filled === batchSize ? pairs : pairs.subarray(0, filled * 4 * hidden), [filled, 4 * hidden]) } : {}),
        },
      };
    };
    return { next };
  }
}
