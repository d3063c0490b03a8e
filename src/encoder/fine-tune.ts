import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { deriveSeed, seededRandom, shuffleInPlace } from '../classifier/seeded-random.ts';
import { tfBackendInfo } from '../classifier/tf-backend.ts';
import type { BatchLogs, EpochRecord, TrainingHistory } from '../classifier/train.ts';
import { SimpairError } from '../errors.ts';
import type { EncodedBatch } from '../tokenizer/pair-tokenizer.ts';
import { formatDuration } from '../util/time-estimate.ts';
import { log } from '../util/log.ts';
import { ensureBooleanGradients } from './boolean-gradients.ts';
import type { TfBert } from './tf-bert.ts';

/** Options of {@link fineTuneEncoder}. */
export interface FineTuneOptions {
  /** @default 3 */
  readonly epochs?: number;
  /** @default 32 */
  readonly batchSize?: number;
  /** Last `ceil(validationSplit * rows)` rows held out, as Keras' validation_split. @default 0.1 */
  readonly validationSplit?: number;
  /** Seed of the per-epoch shuffle and of dropout. @default 42 */
  readonly seed?: number;
  /** Stop when the validation loss has not improved for this many epochs; the best epoch's weights are kept. @default off */
  readonly patience?: number;
  /** Peak learning rate of the encoder's Adam (after warm-up, then linear decay to 0). @default 2e-5 */
  readonly encoderLearningRate?: number;
  /** The head's Adam learning rate (the recipe's Keras default). @default 1e-3 */
  readonly headLearningRate?: number;
  /** Fraction of all steps over which the encoder's learning rate rises linearly from 0. @default 0.1 */
  readonly warmupFraction?: number;
  /** Gradients (encoder and head together) are scaled down to this global norm. @default 1 */
  readonly clipNorm?: number;
  /** 'masked': hidden states at padding positions are zeros before the head (its Masking layer skips them). @default 'max-length' */
  readonly padding?: 'max-length' | 'masked';
  /** Refuse when the measured estimate for all epochs exceeds this many seconds. @default 12 hours */
  readonly maxSeconds?: number;
  readonly onEpochEnd?: (epoch: number, logs: EpochRecord) => void | Promise<void>;
  readonly onBatchEnd?: (batch: number, logs: BatchLogs) => void | Promise<void>;
}

/** What {@link fineTuneEncoder} returns: {@link TrainingHistory} plus the time estimate it checked. */
export interface FineTuneHistory extends TrainingHistory {
  /** Seconds estimated for all epochs from a measured step, before training. */
  readonly estimatedSeconds: number;
}

/** Tokenized pairs with their labels (0/1), all rows in one {@link EncodedBatch}. */
export interface TokenizedPairs {
  readonly batch: EncodedBatch;
  readonly labels: Float32Array;
}

function rowsOf(batch: EncodedBatch, rows: ArrayLike<number>) {
  const { maxLen } = batch;
  const pick = (src: BigInt64Array) => {
    const out = new Int32Array(rows.length * maxLen);
    for (let r = 0; r < rows.length; r++) {
      const from = rows[r] * maxLen;
      for (let c = 0; c < maxLen; c++) out[r * maxLen + c] = Number(src[from + c]);
    }
    return tf.tensor2d(out, [rows.length, maxLen], 'int32');
  };
  return { inputIds: pick(batch.inputIds), attentionMask: pick(batch.attentionMask), tokenTypeIds: pick(batch.tokenTypeIds) };
}

/**
 * Probabilities of the head on BERT's hidden states; `padding` 'masked' zeroes the padding
 * positions first, as the embedder's 'dynamic' padding (and pipeline.onnx) does.
 */
function forward(bert: TfBert, head: tfl.LayersModel, inputs: ReturnType<typeof rowsOf>, padding: 'max-length' | 'masked', training: boolean): tf.Tensor {
  let hidden: tf.Tensor = bert.apply(inputs, { training });
  if (padding === 'masked') hidden = tf.mul(hidden, tf.expandDims(tf.cast(inputs.attentionMask, 'float32'), -1));
  return head.apply(hidden, { training }) as tf.Tensor;
}

/**
 * Refuses the wasm backend for fine-tuning: single-threaded in Node, and BERT with its
 * gradients and Adam's state in a 4 GB heap. Called by the run job right after choosing the
 * backend, before any work.
 */
export function assertFineTuneBackend(backend: string): void {
  if (backend !== 'wasm') return;
  throw new SimpairError(
    '--fine-tune-encoder needs the tensorflow backend (tfjs-node, or tfjs-node-gpu on a GPU), but TensorFlow.js runs on wasm: it is single-threaded in Node and holds BERT, its gradients and Adam\'s state in a 4 GB heap. ' +
      'Install it with `bash scripts/install-tensorflow-backend.sh`, or train without --fine-tune-encoder.',
  );
}

/** Adam whose learning rate can change between steps (tfjs reads it at every update). */
function setLearningRate(optimizer: tf.AdamOptimizer, rate: number): void {
  (optimizer as unknown as { learningRate: number }).learningRate = rate;
}

/**
 * Fine-tunes BERT and the recipe's Bi-LSTM head end to end on tokenized pairs (no stored
 * embeddings): binary cross-entropy of the head's sigmoid, gradients of encoder and head
 * clipped together to `clipNorm`, the encoder by Adam (epsilon 1e-8, as PyTorch's AdamW with
 * no weight decay, transformers' default) at `encoderLearningRate` with linear warm-up and
 * linear decay (transformers' get_linear_schedule_with_warmup), the head by Adam at
 * `headLearningRate` (Keras' epsilon 1e-7, the recipe). Validation rows, shuffle and early
 * stopping follow trainClassifier (Keras' validation_split, EarlyStopping with the best
 * weights restored).
 *
 * Before training, one step is timed and the time for all epochs estimated and logged; runs
 * over `maxSeconds` and runs on the wasm backend are refused.
 *
 * Porting note: the head's Bi-LSTM runs on tfjs-layers' own LSTM here, not simpair's fused
 * path, which computes no gradient for the first layer's input (the frozen recipe needs none).
 *
 * @example
 * const history = await fineTuneEncoder(bert, buildBiLstm({ maxLen, hidden, seed }), { batch, labels }, { epochs: 3 });
 */
export async function fineTuneEncoder(bert: TfBert, head: tfl.LayersModel, data: TokenizedPairs, options: FineTuneOptions = {}): Promise<FineTuneHistory> {
  const {
    epochs = 3,
    batchSize = 32,
    validationSplit = 0.1,
    seed = 42,
    patience,
    encoderLearningRate = 2e-5,
    headLearningRate = 1e-3,
    warmupFraction = 0.1,
    clipNorm = 1,
    padding = 'max-length',
    maxSeconds = 12 * 3600,
    onEpochEnd,
    onBatchEnd,
  } = options;
  const backend = tfBackendInfo()?.backend ?? tf.getBackend();
  assertFineTuneBackend(backend);
  ensureBooleanGradients(); // the masked head's Masking layer sits on a trainable input now
  const rows = data.batch.batchSize;
  if (data.labels.length !== rows) throw new SimpairError(`fineTuneEncoder: ${data.labels.length} labels for ${rows} rows.`);
  const validationRows = Math.ceil(validationSplit * rows);
  const trainRows = rows - validationRows;
  if (trainRows <= 0) throw new SimpairError(`fineTuneEncoder: validationSplit ${validationSplit} leaves no training rows of ${rows}.`);
  if (patience !== undefined && validationRows === 0) throw new SimpairError('fineTuneEncoder: patience needs validation rows (validationSplit > 0).');
  const stepsPerEpoch = Math.ceil(trainRows / batchSize);
  const totalSteps = stepsPerEpoch * epochs;
  const warmupSteps = Math.max(1, Math.round(warmupFraction * totalSteps));
  const encoderRate = (step: number) => encoderLearningRate * (step < warmupSteps ? (step + 1) / warmupSteps : Math.max(0, (totalSteps - step) / Math.max(1, totalSteps - warmupSteps)));

  const encoderOptimizer = tf.train.adam(encoderLearningRate, 0.9, 0.999, 1e-8);
  const headOptimizer = tf.train.adam(headLearningRate, 0.9, 0.999, 1e-7);
  const encoderVars = bert.variables;
  const headVars = head.trainableWeights.map((w) => w.read() as tf.Variable);
  const labels = tf.tensor2d(data.labels, [rows, 1]);

  /** One optimizer step; returns the batch's mean loss and correct count, on the device. */
  const step = (index: number, batchRows: Int32Array, apply: boolean) => {
    const inputs = rowsOf(data.batch, batchRows);
    const ys = tf.gather(labels, batchRows);
    try {
      let predictions: tf.Tensor | undefined;
      const { value, grads } = tf.variableGrads(() => {
        const p = forward(bert, head, inputs, padding, true);
        predictions = tf.keep(p);
        return tf.mean(tfl.metrics.binaryCrossentropy(ys, p)) as tf.Scalar;
      }, [...encoderVars, ...headVars]);
      const correct = tf.tidy(() => tf.sum(tfl.metrics.binaryAccuracy(ys, predictions!)) as tf.Scalar);
      predictions!.dispose();
      if (apply) {
        tf.tidy(() => {
          const names = Object.keys(grads);
          const norm = tf.sqrt(tf.addN(names.map((n) => tf.sum(tf.square(grads[n])))));
          const scale = tf.div(clipNorm, tf.maximum(norm, clipNorm)); // 1 below the norm, clip/norm above
          const encoderNames = new Set(encoderVars.map((v) => v.name));
          const scaled = (keep: (n: string) => boolean) => Object.fromEntries(names.filter(keep).map((n) => [n, tf.mul(grads[n], scale)]));
          setLearningRate(encoderOptimizer, encoderRate(index));
          encoderOptimizer.applyGradients(scaled((n) => encoderNames.has(n)));
          headOptimizer.applyGradients(scaled((n) => !encoderNames.has(n)));
        });
      }
      tf.dispose(Object.values(grads));
      return { loss: value, correct };
    } finally {
      tf.dispose([inputs.inputIds, inputs.attentionMask, inputs.tokenTypeIds, ys]);
    }
  };

  // Measured estimate: one training step, not applied (the weights stay as they are).
  const first = Int32Array.from({ length: Math.min(batchSize, trainRows) }, (_, i) => i);
  const warm = step(0, first, false); // warm-up: kernels compiled, memory allocated
  tf.dispose([warm.loss, warm.correct]);
  const t0 = performance.now();
  const timed = step(0, first, false);
  await timed.loss.data();
  tf.dispose([timed.loss, timed.correct]);
  const secondsPerStep = (performance.now() - t0) / 1000;
  // Validation is a forward pass only: about a third of a training step per row.
  const estimatedSeconds = epochs * secondsPerStep * (stepsPerEpoch + Math.ceil(validationRows / batchSize) / 3);
  log('info', `fine-tuning estimate: ${secondsPerStep.toFixed(2)} s per step of ${batchSize} pairs (${backend} backend), ${stepsPerEpoch} steps per epoch: ${formatDuration(estimatedSeconds)} for ${epochs} epoch${epochs === 1 ? '' : 's'}`);
  if (estimatedSeconds > maxSeconds) {
    labels.dispose();
    throw new SimpairError(
      `--fine-tune-encoder would take about ${formatDuration(estimatedSeconds)} here (${secondsPerStep.toFixed(2)} s per step of ${batchSize} pairs on the ${backend} backend, ${totalSteps} steps), over the limit of ${Number((maxSeconds / 3600).toPrecision(3))} h. ` +
        'Use a GPU (tfjs-node-gpu), a smaller --max-len, fewer --epochs or a smaller encoder, or raise the limit (--fine-tune-max-hours).',
    );
  }

  const evaluate = async (from: number, count: number) => {
    let loss = 0;
    let correct = 0;
    for (let start = from; start < from + count; start += batchSize) {
      const batchRows = Int32Array.from({ length: Math.min(batchSize, from + count - start) }, (_, i) => start + i);
      const inputs = rowsOf(data.batch, batchRows);
      const [l, c] = tf.tidy(() => {
        const ys = tf.gather(labels, batchRows);
        const p = forward(bert, head, inputs, padding, false);
        return [tf.sum(tfl.metrics.binaryCrossentropy(ys, p)), tf.sum(tfl.metrics.binaryAccuracy(ys, p))];
      });
      tf.dispose([inputs.inputIds, inputs.attentionMask, inputs.tokenTypeIds]);
      loss += (await l.data())[0];
      correct += (await c.data())[0];
      tf.dispose([l, c]);
    }
    return { val_loss: loss / count, val_acc: correct / count };
  };

  const records: EpochRecord[] = [];
  let best: { loss: number; epoch: number; weights: tf.Tensor[] } | undefined;
  let wait = 0;
  let globalStep = 0;
  const order = Uint32Array.from({ length: trainRows }, (_, i) => i);
  try {
    for (let epoch = 0; epoch < epochs; epoch++) {
      const start = performance.now();
      shuffleInPlace(order, seededRandom(deriveSeed(seed, epoch)));
      let lossSum = tf.scalar(0);
      let correctSum = tf.scalar(0);
      for (let b = 0; b < stepsPerEpoch; b++) {
        const batchRows = Int32Array.from(order.subarray(b * batchSize, Math.min(trainRows, (b + 1) * batchSize)));
        const { loss, correct } = step(globalStep++, batchRows, true);
        const [l, c] = tf.tidy(() => [tf.add(lossSum, tf.mul(loss, batchRows.length)), tf.add(correctSum, correct)]);
        tf.dispose([lossSum, correctSum, loss, correct]);
        lossSum = l as tf.Scalar;
        correctSum = c as tf.Scalar;
        await onBatchEnd?.(b, { size: batchRows.length });
      }
      const entry: EpochRecord = {
        epoch,
        loss: (await lossSum.data())[0] / trainRows,
        acc: (await correctSum.data())[0] / trainRows,
        ...(validationRows > 0 ? await evaluate(trainRows, validationRows) : {}),
        seconds: (performance.now() - start) / 1000,
      };
      tf.dispose([lossSum, correctSum]);
      records.push(entry);
      await onEpochEnd?.(epoch, entry);
      if (patience === undefined) continue;
      if (best === undefined || entry.val_loss! < best.loss) {
        wait = 0;
        best?.weights.forEach((w) => w.dispose());
        best = { loss: entry.val_loss!, epoch, weights: [...bert.snapshot(), ...head.getWeights().map((w) => w.clone())] };
      } else if (++wait >= patience) {
        break;
      }
    }
    let bestEpoch: number | undefined;
    if (best) {
      bestEpoch = best.epoch;
      if (best.epoch !== records.length - 1) {
        const n = encoderVars.length;
        bert.restore(best.weights.slice(0, n));
        head.setWeights(best.weights.slice(n));
      }
    }
    return {
      epochs: records,
      stoppedEarly: records.length < epochs,
      trainRows,
      validationRows,
      lstmPath: 'layers (fine-tuned with the encoder)',
      shuffle: 'global (every row, each epoch)',
      estimatedSeconds,
      ...(bestEpoch !== undefined ? { bestEpoch } : {}),
    };
  } finally {
    best?.weights.forEach((w) => w.dispose());
    labels.dispose();
    encoderOptimizer.dispose();
    headOptimizer.dispose();
  }
}

/**
 * The head's probability for every row of `batch` (no dropout), in row order, `batchSize`
 * rows at a time.
 */
export async function predictFineTuned(bert: TfBert, head: tfl.LayersModel, batch: EncodedBatch, { padding = 'max-length', batchSize = 32 }: { padding?: 'max-length' | 'masked'; batchSize?: number } = {}): Promise<Float32Array> {
  const out = new Float32Array(batch.batchSize);
  for (let start = 0; start < batch.batchSize; start += batchSize) {
    const batchRows = Int32Array.from({ length: Math.min(batchSize, batch.batchSize - start) }, (_, i) => start + i);
    const inputs = rowsOf(batch, batchRows);
    const p = tf.tidy(() => forward(bert, head, inputs, padding, false));
    out.set((await p.data()) as Float32Array, start);
    tf.dispose([p, inputs.inputIds, inputs.attentionMask, inputs.tokenTypeIds]);
  }
  return out;
}
