import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { ShapeMismatchError } from '../errors.ts';
import type { Embeddings } from '../embedder/index.ts';
import type { EmbeddingShard, EmbeddingStoreReader } from '../embeddings/index.ts';
import { assertFitsModel, modelInputs } from './model-input.ts';
import { pairFeatures } from './pair-features.ts';

/** Options of {@link predictProbabilities}. */
export interface PredictOptions {
  /**
   * Rows per forward pass (bounds the activations in memory).
   * @default 64
   */
  readonly batchSize?: number;
}

/**
 * Probability that each pair is similar (the sigmoid output), one per row of `emb`.
 *
 * @throws ShapeMismatchError when `emb` is not `[batch, maxLen, hidden]` of the model.
 *
 * @example
 * const p = predictProbabilities(model, await embedder.embed(batch));
 * const similar = p[0] >= metadata.threshold;
 */
export function predictProbabilities(model: tfl.LayersModel, emb: Embeddings, options: PredictOptions = {}, pairs?: Float32Array): Float32Array {
  const { batchSize = 64 } = options;
  const { data, batchSize: rows, maxLen, hidden } = emb;
  assertFitsModel(model, maxLen, hidden, 'The embeddings');
  if (data.length !== rows * maxLen * hidden) {
    throw new ShapeMismatchError(`The embeddings hold ${data.length} values, shape [${rows}, ${maxLen}, ${hidden}] needs ${rows * maxLen * hidden}.`);
  }
  const rowSize = maxLen * hidden;
  const out = new Float32Array(rows);
  for (let start = 0; start < rows; start += batchSize) {
    const n = Math.min(batchSize, rows - start);
    const probs = tf.tidy(() => {
      const x = tf.tensor3d(data.subarray(start * rowSize, (start + n) * rowSize), [n, maxLen, hidden]);
      const p = pairs && tf.tensor2d(pairs.subarray(start * 4 * hidden, (start + n) * 4 * hidden), [n, 4 * hidden]);
      return (model.predict(modelInputs(model, x, p, 'The embeddings')) as tf.Tensor).dataSync() as Float32Array;
    });
    out.set(probs, start);
  }
  return out;
}

/** Labels and predicted probabilities over a whole embeddings store, in manifest order. */
export interface StoreEvaluation {
  readonly labels: Uint8Array;
  readonly probabilities: Float32Array;
}

/**
 * Predicts every row of an embeddings store, one shard at a time, for
 * {@link computeMetrics}.
 *
 * @throws ShapeMismatchError when the store's embeddings do not fit the model.
 */
export async function evaluateStore(
  model: tfl.LayersModel,
  reader: EmbeddingStoreReader,
  options: PredictOptions = {},
): Promise<StoreEvaluation> {
  const { manifest } = reader;
  assertFitsModel(model, manifest.maxLen, manifest.hidden, `The embeddings in ${reader.prefix}`);
  const labels = new Uint8Array(manifest.count);
  const probabilities = new Float32Array(manifest.count);
  let at = 0;
  for (let i = 0; i < manifest.shards.length; i++) {
    const shard = await reader.readShard(i);
    const p = predictShardRows(model, shard, manifest, 0, options);
    probabilities.set(p, at);
    labels.set(shard.labels, at);
    at += shard.count;
  }
  return { labels, probabilities };
}

/**
 * Probabilities of rows `[start, count)` of one embeddings shard; pair features are built
 * (from the shard's pooled vectors) only for the pooled head, the model with two inputs.
 */
export function predictShardRows(
  model: tfl.LayersModel,
  shard: EmbeddingShard,
  { maxLen, hidden }: { readonly maxLen: number; readonly hidden: number },
  start = 0,
  options: PredictOptions = {},
): Float32Array {
  const n = shard.count - start;
  const pairs = model.inputs.length === 2 && shard.pooled ? pairFeaturesOf(shard.pooled.subarray(2 * start * hidden), n, hidden) : undefined;
  return predictProbabilities(model, { data: shard.embeddings.subarray(start * maxLen * hidden), batchSize: n, maxLen, hidden }, options, pairs);
}

/** Pair features `[rows, 4 * hidden]` of pooled vectors `[rows, 2, hidden]`. */
export function pairFeaturesOf(pooled: Float32Array, rows: number, hidden: number): Float32Array {
  const out = new Float32Array(rows * 4 * hidden);
  for (let r = 0; r < rows; r++) {
    pairFeatures(pooled.subarray(2 * r * hidden, (2 * r + 1) * hidden), pooled.subarray((2 * r + 1) * hidden, (2 * r + 2) * hidden), out.subarray(4 * r * hidden, 4 * (r + 1) * hidden));
  }
  return out;
}
