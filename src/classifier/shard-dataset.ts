import { setImmediate } from 'node:timers/promises';
import * as tf from '@tensorflow/tfjs-core';
import type { EmbeddingShard, EmbeddingStoreReader } from '../embeddings/index.ts';
import type { StoredShard } from '../embeddings/embedding-store-reader.ts';
import { ShardWorkerPool, type PreparedBlock } from './shard-workers.ts';
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
export type ShardSource = Pick<EmbeddingStoreReader, 'manifest' | 'readShard'> & Partial<Pick<EmbeddingStoreReader, 'readShardFile' | 'hashMismatch'>>;

/** Options of {@link ShardDataset}. */
export interface ShardDatasetOptions {
  /**
   * Shards read and decoded in the background ahead of the one being batched, so the
   * trainer does not wait on storage at a shard boundary. Memory holds at most
   * `prefetch + 1` decoded shards. 0 reads each shard when batching reaches it.
   * @default 1
   */
  readonly prefetch?: number;
  /**
   * Shards whose rows are shuffled together: each epoch the shard order is shuffled, then
   * every `mixShards` consecutive shards form a block whose rows are drawn in one random
   * order, so a batch mixes rows of the whole block. As many as the dataset has is Keras'
   * global shuffle; 1 shuffles within each shard only. Memory holds at most
   * `(prefetch + 1) * mixShards` decoded shards.
   * @default 1
   */
  readonly mixShards?: number;
  /**
   * Build each batch's pair features from the shards' pooled vectors. Off for a model with
   * one input: cloud shards always hold pooled vectors (for the encoder baseline), and the
   * recipe would ignore the features computed for every row.
   * @default true
   */
  readonly pairFeatures?: boolean;
  /**
   * Worker threads that check shard hashes, decode float16 and lay each block's rows out in
   * batch order off the main thread; batches are then views on the prepared block (no copy)
   * except where one spans two blocks. 0 does it all on the calling thread. The batches are
   * the same either way. Needs a source with `readShardFile` (an EmbeddingStoreReader);
   * call {@link ShardDataset.close} when done.
   * @default 0
   */
  readonly workers?: number;
}

/** A block of shard reads in flight (or done), with the row order drawn for it. */
interface PendingBlock {
  /** Positions into `slot`/`row`, in the order the rows are batched. */
  readonly order: Uint32Array;
  /** Each position's shard within the block, and its row in that shard. */
  readonly slot: Uint32Array;
  readonly row: Uint32Array;
  /** The block's shards (in-thread path), or the block in batch order (worker path). */
  readonly shards: Promise<EmbeddingShard[] | PreparedBlock>;
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
  private readonly mixShards: number;
  private readonly pairFeatures: boolean;
  private readonly pool?: ShardWorkerPool;

  constructor(
    private readonly reader: ShardSource,
    private readonly ranges: readonly ShardRange[],
    private readonly batchSize: number,
    private readonly shuffleSeed?: number,
    options: ShardDatasetOptions = {},
  ) {
    const { prefetch = 1, mixShards = 1, pairFeatures: withPairs = true, workers = 0 } = options;
    if (!Number.isInteger(workers) || workers < 0) {
      throw new SimpairError(`ShardDataset: workers must be an integer >= 0, received ${workers}; use 0 to prepare batches on the calling thread.`);
    }
    if (workers > 0) {
      if (!reader.readShardFile || !reader.hashMismatch) throw new SimpairError('ShardDataset: workers need an EmbeddingStoreReader (a source with readShardFile).');
      this.pool = new ShardWorkerPool(workers);
    }
    this.pairFeatures = withPairs;
    if (!Number.isInteger(prefetch) || prefetch < 0) {
      throw new SimpairError(`ShardDataset: prefetch must be an integer >= 0, received ${prefetch}; use 0 to read each shard when it is needed.`);
    }
    if (!Number.isInteger(mixShards) || mixShards < 1) {
      throw new SimpairError(`ShardDataset: mixShards must be an integer >= 1, received ${mixShards}; use 1 to shuffle within each shard.`);
    }
    this.prefetch = prefetch;
    this.mixShards = mixShards;
    const rows = ranges.reduce((a, r) => a + (r.to - r.from), 0);
    this.size = Math.ceil(rows / batchSize);
  }

  /** Ends the worker threads (a no-op without workers). */
  async close(): Promise<void> {
    await this.pool?.close();
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
    const { reader, batchSize, prefetch, mixShards, pool } = this;
    const { maxLen, hidden } = reader.manifest;
    const rowSize = maxLen * hidden;
    const blocks: ShardRange[][] = [];
    for (let i = 0; i < ranges.length; i += mixShards) blocks.push(ranges.slice(i, i + mixShards));
    let nextBlock = 0;
    const ahead: PendingBlock[] = [];
    let shards: EmbeddingShard[] | undefined;
    let block: PendingBlock | undefined;
    let pos = 0;
    let hasPooled: boolean | undefined;
    const checkPooled = (pooled: boolean): void => {
      hasPooled ??= pooled;
      if (hasPooled !== pooled) {
        throw new SimpairError('ShardDataset: some shards hold pooled sentence vectors and others do not; re-create the embeddings with one setting.');
      }
    };
    let prepared: PreparedBlock | undefined;

    // Row orders are drawn when a read starts, and reads start in block order, so the
    // random sequence (and so every batch) is the same at every prefetch depth. With one
    // shard per block the order is the one a shuffle of the shard's rows gives.
    const startRead = (): void => {
      const group = blocks[nextBlock++];
      const n = group.reduce((a, r) => a + (r.to - r.from), 0);
      const slot = new Uint32Array(n);
      const row = new Uint32Array(n);
      let k = 0;
      group.forEach((range, j) => {
        for (let r = range.from; r < range.to; r++, k++) {
          slot[k] = j;
          row[k] = r;
        }
      });
      const order = new Uint32Array(n);
      for (let i = 0; i < n; i++) order[i] = i;
      if (random) shuffleInPlace(order, random);
      // One shard after another: a block's reads do not compete with each other for the store.
      const read = async (): Promise<EmbeddingShard[] | PreparedBlock> => {
        if (pool) {
          const files: StoredShard[] = [];
          for (const range of group) files.push(await reader.readShardFile!(range.shard, { deferHash: true }));
          for (const file of files) checkPooled(file.pooled !== undefined);
          const hashMismatch = (shard: StoredShard, sha256: string) => reader.hashMismatch!(shard, sha256, shard.uncheckedSha256!);
          return pool.prepare(files, { order, slot, row, rowSize, hidden, pairFeatures: this.pairFeatures }, hashMismatch);
        }
        const out: EmbeddingShard[] = [];
        for (const range of group) out.push(await reader.readShard(range.shard));
        return out;
      };
      const pending: PendingBlock = { order, slot, row, shards: read(), settled: false };
      // Observed here so a read that fails ahead of time is not an unhandled rejection; the
      // error reaches the trainer when batching gets to this block.
      pending.shards.then(
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
      // (Allocated on first use: a worker-path batch inside one block needs none.)
      let xs: Float32Array | undefined;
      let ys: Float32Array | undefined;
      let pairs: Float32Array | undefined;
      let filled = 0;
      while (filled < batchSize) {
        if (block === undefined || pos >= block.order.length) {
          block = shards = prepared = undefined; // drop the previous block before holding another
          if (ahead.length === 0 && nextBlock < blocks.length) startRead();
          const current = ahead.shift();
          if (current === undefined) break;
          while (ahead.length < prefetch && nextBlock < blocks.length) startRead();
          const got = await current.shards;
          if (Array.isArray(got)) {
            shards = got;
            for (const shard of shards) checkPooled(shard.pooled !== undefined);
          } else {
            prepared = got;
          }
          block = current;
          pos = 0;
        }
        const take = Math.min(batchSize - filled, block.order.length - pos);
        if (prepared) {
          // Worker path: the block is in batch order already.
          if (filled === 0 && take === batchSize) {
            // The whole batch inside one block: views, no copy.
            const batch = viewBatch(prepared, pos, take, rowSize, 4 * hidden);
            pos += take;
            return { done: false, value: batch };
          }
          xs ??= new Float32Array(batchSize * rowSize);
          ys ??= new Float32Array(batchSize);
          xs.set(prepared.xs.subarray(pos * rowSize, (pos + take) * rowSize), filled * rowSize);
          ys.set(prepared.ys.subarray(pos, pos + take), filled);
          if (prepared.pairs) {
            pairs ??= new Float32Array(batchSize * 4 * hidden);
            pairs.set(prepared.pairs.subarray(pos * 4 * hidden, (pos + take) * 4 * hidden), filled * 4 * hidden);
          }
          pos += take;
          filled += take;
          continue;
        }
        xs ??= new Float32Array(batchSize * rowSize);
        ys ??= new Float32Array(batchSize);
        for (let k = 0; k < take; k++, filled++) {
          const at = block.order[pos++];
          const shard = shards![block.slot[at]];
          const row = block.row[at];
          xs.set(shard.embeddings.subarray(row * rowSize, (row + 1) * rowSize), filled * rowSize);
          ys[filled] = shard.labels[row];
          if (shard.pooled && this.pairFeatures) {
            pairs ??= new Float32Array(batchSize * 4 * hidden);
            const u = shard.pooled.subarray(row * 2 * hidden, (row * 2 + 1) * hidden);
            const v = shard.pooled.subarray((row * 2 + 1) * hidden, (row * 2 + 2) * hidden);
            pairFeatures(u, v, pairs.subarray(filled * 4 * hidden, (filled + 1) * 4 * hidden));
          }
        }

      }
      if (filled === 0 || !xs || !ys) return { done: true, value: undefined };
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

/** Rows `[pos, pos + n)` of a prepared block as a batch of tensors made on views of it. */
function viewBatch(block: PreparedBlock, pos: number, n: number, rowSize: number, pairWidth: number): TensorBatch {
  const [maxLen, hidden] = [rowSize / (pairWidth / 4), pairWidth / 4];
  return {
    xs: tf.tensor3d(block.xs.subarray(pos * rowSize, (pos + n) * rowSize), [n, maxLen, hidden]),
    ys: tf.tensor2d(block.ys.subarray(pos, pos + n), [n, 1]),
    ...(block.pairs ? { pairs: tf.tensor2d(block.pairs.subarray(pos * pairWidth, (pos + n) * pairWidth), [n, pairWidth]) } : {}),
  };
}
