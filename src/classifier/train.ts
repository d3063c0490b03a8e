import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { SimpairError } from '../errors.ts';
import { log } from '../util/log.ts';
import { useFusedLstm, type LstmMode } from './fused-lstm/use-fused-lstm.ts';
import { FlatAdam } from './flat-adam.ts';
import type { EmbeddingManifest, EmbeddingStoreReader } from '../embeddings/index.ts';
import { assertFitsModel, modelInputs } from './model-input.ts';
import { ShardDataset, splitRanges } from './shard-dataset.ts';

/** Logs of one finished epoch, keyed like Keras' history (`loss`, `acc`, `val_loss`, `val_acc`). */
export interface EpochRecord {
  /** 0-based epoch index. */
  readonly epoch: number;
  readonly loss: number;
  readonly acc: number;
  /** Present when there is a validation split. */
  readonly val_loss?: number;
  readonly val_acc?: number;
  /** Wall-clock seconds of the epoch, validation included. */
  readonly seconds: number;
}

/** Logs of one finished batch. */
export interface BatchLogs {
  /** Rows in the batch. */
  readonly size: number;
  /**
   * Running mean loss and accuracy of the epoch so far; only on every
   * `progressEvery`-th batch (reading them waits for the device).
   */
  readonly loss?: number;
  readonly acc?: number;
}

/** Options of {@link trainClassifier}. */
export interface TrainOptions {
  /** @default 3 */
  readonly epochs?: number;
  /** @default 32 */
  readonly batchSize?: number;
  /**
   * Fraction of rows held out for validation: the last `ceil(validationSplit * count)` rows
   * in manifest order, as Keras' `validation_split`. 0 disables validation.
   * @default 0.1
   */
  readonly validationSplit?: number;
  /**
   * Seed of the per-epoch shuffle (shard order, then the rows of each block of shards). Build
   * the model with a seed too for fully reproducible training.
   * @default 42
   */
  readonly seed?: number;
  /**
   * Memory for the shuffle: the training rows are shuffled together in blocks of as many
   * shards as fit in it, twice over (the block being batched and the next one being read).
   * When the whole training set fits, that is Keras' global shuffle of every row each
   * epoch; a larger dataset is shuffled a block at a time and streamed, so memory stays
   * bounded. Porting Note: a per-shard shuffle (what a budget below two shards gives) trained
   * the recipe about 2 points below Keras on MRPC (bench/README.md).
   * @default 1 GiB
   */
  readonly shuffleBufferBytes?: number;
  /**
   * Stop when `monitor` has not improved for `patience` epochs (Keras' EarlyStopping,
   * min_delta 0). Needs a validation split.
   * @default undefined (train all epochs)
   */
  readonly earlyStopping?: {
    readonly patience: number;
    readonly monitor?: 'val_loss';
    /**
     * Put back the weights of the epoch with the lowest validation loss when training ends.
     * Porting note: Keras' EarlyStopping defaults to false; simpair defaults to true, since a
     * run saves the model it ends with and the best epoch is what people want saved.
     * @default true
     */
    readonly restoreBestWeights?: boolean;
  };
  /** Called after every epoch. @default undefined */
  readonly onEpochEnd?: (epoch: number, logs: EpochRecord) => void | Promise<void>;
  /** Called after every batch. @default undefined */
  readonly onBatchEnd?: (batch: number, logs: BatchLogs) => void | Promise<void>;
  /**
   * Read the running loss and accuracy from the device every this many batches and pass
   * them to `onBatchEnd`. Each read waits for the device to finish the queued work, so
   * the default reads them once per epoch only.
   * @default 0 (once per epoch)
   */
  readonly progressEvery?: number;
  /**
   * `fused` runs the Bi-LSTM layers through simpair's fused implementation for the backend
   * (see useFusedLstm); `layers` through tfjs-layers' own step-by-step LSTM; `generic`
   * through the generic fused implementation on every backend.
   * @default process.env.SIMPAIR_LSTM ?? 'fused'
   */
  readonly lstm?: LstmMode;
  /**
   * Keras' `class_weight`: each training row's loss is multiplied by its class's weight (the
   * batch loss is the sum of weighted losses over the rows, as Keras computes it); validation
   * loss is not weighted. Not the recipe.
   * @default undefined (every row weighs 1)
   */
  readonly classWeight?: { readonly 0: number; readonly 1: number };
  /**
   * Worker threads that check, decode and lay out the shards' rows in batch order off the
   * main thread (ShardDataset's `workers`); the batches are the same at every count. 0
   * prepares them on the main thread, between training steps.
   * @default 1 (0 for a reader without readShardFile)
   */
  readonly readerWorkers?: number;
  /**
   * Adam's step over all weights at once ({@link FlatAdam}: the same arithmetic, about 60
   * ops per step instead of 14 per weight); false runs the optimizer's own step.
   * @default true
   */
  readonly flatOptimizer?: boolean;
}

/** What {@link trainClassifier} returns. */
export interface TrainingHistory {
  /** One record per epoch run (fewer than asked when early stopping fired). */
  readonly epochs: EpochRecord[];
  /** With early stopping and restoreBestWeights: the 0-based epoch whose weights the model holds. */
  readonly bestEpoch?: number;
  readonly stoppedEarly: boolean;
  readonly trainRows: number;
  readonly validationRows: number;
  /** The LSTM path that ran, e.g. `fused-tensorflow` (see useFusedLstm). */
  readonly lstmPath: string;
  /** How the training rows were shuffled, e.g. `global (16 shards)` or `blocks of 5 of 64 shards`. */
  readonly shuffle: string;
}

/** {@link TrainOptions.shuffleBufferBytes}'s default. */
export const DEFAULT_SHUFFLE_BUFFER_BYTES = 2 ** 30;

/**
 * Shards per shuffle block: as many of the largest shard as fit twice in `budget` bytes
 * (decoded float32 rows, pooled vectors and labels), at least 1, at most `shards`.
 */
export function shuffleBlock(manifest: Pick<EmbeddingManifest, 'maxLen' | 'hidden'> & { readonly shards: readonly { readonly count: number }[] }, shards: number, budget: number): number {
  if (!(budget >= 0)) throw new SimpairError(`trainClassifier: shuffleBufferBytes must be a number >= 0, received ${budget}.`);
  const rowBytes = 4 * (manifest.maxLen * manifest.hidden + 2 * manifest.hidden + 1);
  const shardBytes = Math.max(1, ...manifest.shards.map((s) => s.count)) * rowBytes;
  return Math.min(Math.max(1, Math.floor(budget / (2 * shardBytes))), Math.max(1, shards));
}

function positiveInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value <= 0) {
    throw new SimpairError(`trainClassifier: ${name} must be a positive integer, received ${value}.`);
  }
}

/**
 * Trains a compiled model (see {@link buildBiLstm}) on an embeddings store, streaming one
 * shard at a time, so memory does not grow with the dataset. Checks first that the
 * store's `[maxLen, hidden]` matches the model's input.
 *
 * The loop is `model.fit`'s (the compiled optimizer over the trainable weights, binary
 * cross-entropy, accuracy at 0.5, batch-size-weighted epoch means, Keras' EarlyStopping)
 * with two differences that make it fast: the Bi-LSTM layers run through the fused path
 * (see useFusedLstm; `lstm: 'layers'` or SIMPAIR_LSTM=layers turns it off), and the loss
 * and accuracy stay on the device until the epoch ends instead of being read after every
 * batch.
 *
 * @throws ShapeMismatchError when the embeddings do not fit the model's input.
 * @throws LabelError when a shard's labels are not 0/1 or do not align with its rows.
 *
 * @example
 * await initTfBackend();
 * const reader = await EmbeddingStoreReader.open(store, 'embeddings/run-1/');
 * const { maxLen, hidden } = reader.manifest;
 * const model = buildBiLstm({ maxLen, hidden, seed: 42 });
 * const history = await trainClassifier(model, reader, {
 *   epochs: 3,
 *   batchSize: 32,
 *   earlyStopping: { patience: 2 },
 *   onEpochEnd: (epoch, logs) => console.log(epoch, logs.loss, logs.val_acc),
 * });
 * history.epochs.at(-1)?.val_acc;
 */
export async function trainClassifier(
  model: tfl.LayersModel,
  reader: EmbeddingStoreReader,
  options: TrainOptions = {},
): Promise<TrainingHistory> {
  const { epochs = 3, batchSize = 32, validationSplit = 0.1, seed = 42, earlyStopping, onEpochEnd, onBatchEnd } = options;
  const { manifest } = reader;
  assertFitsModel(model, manifest.maxLen, manifest.hidden, `The embeddings in ${reader.prefix}`);
  positiveInteger('epochs', epochs);
  positiveInteger('batchSize', batchSize);
  if (!(validationSplit >= 0 && validationSplit < 1)) {
    throw new SimpairError(`trainClassifier: validationSplit must be in [0, 1), received ${validationSplit}.`);
  }
  if (!Number.isInteger(seed)) throw new SimpairError(`trainClassifier: seed must be an integer, received ${seed}.`);
  for (const c of [0, 1] as const) {
    const w = options.classWeight?.[c];
    if (w !== undefined && !(Number.isFinite(w) && w >= 0)) throw new SimpairError(`trainClassifier: classWeight[${c}] must be a finite number >= 0, received ${w}.`);
  }
  const validationRows = Math.ceil(validationSplit * manifest.count);
  const trainRows = manifest.count - validationRows;
  if (trainRows <= 0) {
    throw new SimpairError(
      `trainClassifier: ${manifest.count} rows leave none for training with validationSplit ${validationSplit}; add rows or lower validationSplit.`,
    );
  }
  if (earlyStopping && validationRows === 0) {
    throw new SimpairError('trainClassifier: earlyStopping monitors val_loss, which needs validationSplit > 0.');
  }
  if (model.optimizer == null) {
    throw new SimpairError('trainClassifier: the model is not compiled; build it with buildBiLstm or load it with loadClassifier.');
  }

  const { train, validation } = splitRanges(
    manifest.shards.map((s) => s.count),
    validationRows,
  );
  const mixShards = shuffleBlock(manifest, train.length, options.shuffleBufferBytes ?? DEFAULT_SHUFFLE_BUFFER_BYTES);
  const shuffle = mixShards >= train.length ? `global (${train.length} shard${train.length === 1 ? '' : 's'})` : `blocks of ${mixShards} of ${train.length} shards`;
  log('info', `shuffle: ${shuffle} each epoch`);
  const pairFeatures = model.inputs.length === 2; // the pooled head
  const workers = options.readerWorkers ?? (typeof reader.readShardFile === 'function' ? 1 : 0);
  const trainSet = new ShardDataset(reader, train, batchSize, seed, { mixShards, pairFeatures, workers });
  const validationSet = validationRows > 0 ? new ShardDataset(reader, validation, batchSize, undefined, { pairFeatures, workers }) : undefined;
  const optimizer = model.optimizer;
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const fused = useFusedLstm(model, options.lstm ? { mode: options.lstm } : {});
  const flatAdam = options.flatOptimizer === false ? undefined : FlatAdam.for(optimizer, variables);
  log('info', `LSTM path: ${fused.summary} on the ${tf.getBackend()} backend`);

  const records: EpochRecord[] = [];
  let best: { loss: number; epoch: number; weights: tf.Tensor[] } | undefined;
  let wait = 0;
  const restoreBest = earlyStopping ? (earlyStopping.restoreBestWeights ?? true) : false;
  try {
    for (let epoch = 0; epoch < epochs; epoch++) {
      const epochStart = performance.now();
      trainSet.epoch = epoch;
      const totals = await runEpoch(trainSet, (xs, ys, pairs) => trainStep(model, optimizer, variables, modelInputs(model, xs, pairs, `The embeddings in ${reader.prefix}`), ys, options.classWeight, flatAdam), onBatchEnd, options.progressEvery ?? 0);
      const entry: EpochRecord = {
        epoch,
        loss: totals.loss,
        acc: totals.acc,
        ...(validationSet ? await validate(model, validationSet) : {}),
        seconds: (performance.now() - epochStart) / 1000,
      };
      records.push(entry);
      await onEpochEnd?.(epoch, entry);
      if (!earlyStopping) continue;
      // Keras' EarlyStopping (min_delta 0, mode min) and restore_best_weights.
      if (best === undefined || entry.val_loss! < best.loss) {
        wait = 0;
        best?.weights.forEach((w) => w.dispose());
        best = { loss: entry.val_loss!, epoch, weights: restoreBest ? model.getWeights().map((w) => w.clone()) : [] };
      } else if (++wait >= earlyStopping.patience) {
        break;
      }
    }
  } finally {
    fused.restore();
    flatAdam?.sync();
    await Promise.all([trainSet.close(), validationSet?.close()]);
  }
  let bestEpoch: number | undefined;
  if (best && restoreBest) {
    bestEpoch = best.epoch;
    if (best.epoch !== records.length - 1) model.setWeights(best.weights);
  }
  best?.weights.forEach((w) => w.dispose());
  return {
    epochs: records,
    stoppedEarly: records.length < epochs,
    trainRows,
    validationRows,
    lstmPath: fused.summary,
    shuffle,
    ...(bestEpoch !== undefined ? { bestEpoch } : {}),
  };
}

/** Sums of one pass, kept on the device until the pass ends. */
interface DeviceTotals {
  loss: tf.Scalar;
  correct: tf.Scalar;
}

/**
 * Runs `step` over every batch of `dataset`, accumulating the batch-size-weighted loss and
 * the number of correct predictions on the device; reads them once at the end (and every
 * `progressEvery` batches for `onBatchEnd`). Returns the means, as Keras' BaseLogger.
 */
async function runEpoch(
  dataset: ShardDataset,
  step: (xs: tf.Tensor3D, ys: tf.Tensor2D, pairs?: tf.Tensor2D) => { loss: tf.Scalar; correct: tf.Scalar },
  onBatchEnd: TrainOptions['onBatchEnd'],
  progressEvery: number,
): Promise<{ loss: number; acc: number }> {
  const iterator = await dataset.iterator();
  const totals: DeviceTotals = { loss: tf.scalar(0), correct: tf.scalar(0) };
  let rows = 0;
  const read = async () => {
    const [loss, correct] = await Promise.all([totals.loss.data(), totals.correct.data()]);
    return { loss: loss[0] / rows, acc: correct[0] / rows };
  };
  try {
    for (let batch = 0; ; batch++) {
      const next = await iterator.next();
      if (next.done) break;
      const { xs, ys, pairs } = next.value;
      const size = xs.shape[0];
      try {
        const result = step(xs, ys, pairs);
        const loss = tf.tidy(() => tf.add(totals.loss, tf.mul(result.loss, size)) as tf.Scalar);
        const correct = tf.tidy(() => tf.add(totals.correct, result.correct) as tf.Scalar);
        tf.dispose([totals.loss, totals.correct, result.loss, result.correct]);
        totals.loss = loss;
        totals.correct = correct;
      } finally {
        tf.dispose([xs, ys, ...(pairs ? [pairs] : [])]);
      }
      rows += size;
      if (onBatchEnd) {
        const withMetrics = progressEvery > 0 && (batch + 1) % progressEvery === 0;
        await onBatchEnd(batch, withMetrics ? { size, ...(await read()) } : { size });
      }
    }
    if (rows === 0) throw new SimpairError(`trainClassifier: the dataset yielded no rows.`);
    return await read();
  } finally {
    tf.dispose([totals.loss, totals.correct]);
  }
}

/**
 * One optimizer step on a batch: the compiled loss (binary cross-entropy, tfjs-layers'
 * clipping) and accuracy (threshold 0.5), as `model.fit` computes them.
 */
function trainStep(
  model: tfl.LayersModel,
  optimizer: tf.Optimizer,
  variables: tf.Variable[],
  xs: tf.Tensor | tf.Tensor[],
  ys: tf.Tensor2D,
  classWeight?: TrainOptions['classWeight'],
  flatAdam?: FlatAdam,
): { loss: tf.Scalar; correct: tf.Scalar } {
  let predictions: tf.Tensor | undefined;
  const lossOf = (): tf.Scalar => {
    const p = model.apply(xs, { training: true }) as tf.Tensor;
    predictions = tf.keep(p);
    const perRow = tfl.metrics.binaryCrossentropy(ys, p);
    if (!classWeight) return tf.mean(perRow) as tf.Scalar;
    // Keras' class_weight: w[y] per row; ys is 0/1, so w0 + y * (w1 - w0).
    const weights = tf.reshape(tf.add(tf.mul(ys, classWeight[1] - classWeight[0]), classWeight[0]), perRow.shape);
    return tf.mean(tf.mul(perRow, weights)) as tf.Scalar;
  };
  let loss: tf.Scalar;
  if (flatAdam) {
    // optimizer.minimize = variableGrads + applyGradients; the flat step replaces the second.
    const { value, grads } = tf.variableGrads(lossOf, variables);
    flatAdam.apply(variables.map((v) => grads[v.name]));
    tf.dispose(Object.values(grads));
    loss = value;
  } else {
    loss = optimizer.minimize(lossOf, true, variables) as tf.Scalar;
  }
  const correct = tf.tidy(() => tf.sum(tfl.metrics.binaryAccuracy(ys, predictions!)) as tf.Scalar);
  predictions!.dispose();
  return { loss, correct };
}

/** Validation loss and accuracy over a whole pass (Keras' val_loss / val_acc). */
async function validate(model: tfl.LayersModel, dataset: ShardDataset): Promise<{ val_loss: number; val_acc: number }> {
  const { loss, acc } = await runEpoch(
    dataset,
    (xs, ys, pairs) =>
      tf.tidy(() => {
        const p = model.apply(modelInputs(model, xs, pairs, 'The validation embeddings'), { training: false }) as tf.Tensor;
        return { loss: tf.mean(tfl.metrics.binaryCrossentropy(ys, p)) as tf.Scalar, correct: tf.sum(tfl.metrics.binaryAccuracy(ys, p)) as tf.Scalar };
      }),
    undefined,
    0,
  );
  return { val_loss: loss, val_acc: acc };
}
