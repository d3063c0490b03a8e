import * as tfl from '@tensorflow/tfjs-layers';
import type * as tf from '@tensorflow/tfjs-core';
import { SimpairError } from '../errors.ts';
import type { EmbeddingStoreReader } from '../embeddings/index.ts';
import { assertFitsModel } from './model-input.ts';
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
  readonly loss: number;
  readonly acc: number;
  /** Rows in the batch. */
  readonly size: number;
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
   * Seed of the per-epoch shuffle (shard order and rows within a shard). Build the model
   * with a seed too for fully reproducible training.
   * @default 42
   */
  readonly seed?: number;
  /**
   * Stop when `monitor` has not improved for `patience` epochs (Keras' EarlyStopping,
   * without restore_best_weights). Needs a validation split.
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
}

function positiveInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value <= 0) {
    throw new SimpairError(`trainClassifier: ${name} must be a positive integer, received ${value}.`);
  }
}

/**
 * Trains a compiled model (see {@link buildBiLstm}) on an embeddings store, streaming one
 * shard at a time through `model.fitDataset`, so memory does not grow with the dataset.
 * Checks first that the store's `[maxLen, hidden]` matches the model's input.
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
  const trainSet = new ShardDataset(reader, train, batchSize, seed);
  const validationSet = validationRows > 0 ? new ShardDataset(reader, validation, batchSize) : undefined;

  const records: EpochRecord[] = [];
  let epochStart = 0;
  const callbacks: (tfl.CustomCallback | tfl.EarlyStopping)[] = [
    new tfl.CustomCallback({
      onEpochBegin: async (epoch) => {
        trainSet.epoch = epoch; // fitDataset calls iterator() right after this
        epochStart = performance.now();
      },
      onEpochEnd: async (epoch, logs = {}) => {
        const entry: EpochRecord = {
          epoch,
          loss: logs.loss,
          acc: logs.acc ?? logs.accuracy,
          ...(validationSet ? { val_loss: logs.val_loss, val_acc: logs.val_acc ?? logs.val_accuracy } : {}),
          seconds: (performance.now() - epochStart) / 1000,
        };
        records.push(entry);
        await onEpochEnd?.(epoch, entry);
      },
      onBatchEnd: onBatchEnd
        ? async (batch, logs = {}) => onBatchEnd(batch, { loss: logs.loss, acc: logs.acc ?? logs.accuracy, size: logs.size })
        : undefined,
    }),
  ];
  let best: { loss: number; epoch: number; weights: tf.Tensor[] } | undefined;
  if (earlyStopping) {
    callbacks.push(tfl.callbacks.earlyStopping({ monitor: earlyStopping.monitor ?? 'val_loss', patience: earlyStopping.patience }));
    if (earlyStopping.restoreBestWeights ?? true) {
      callbacks.push(
        new tfl.CustomCallback({
          onEpochEnd: async (epoch, logs = {}) => {
            if (best && !(logs.val_loss < best.loss)) return;
            best?.weights.forEach((w) => w.dispose());
            best = { loss: logs.val_loss, epoch, weights: model.getWeights().map((w) => w.clone()) };
          },
        }),
      );
    }
  }

  await model.fitDataset(trainSet, {
    epochs,
    ...(validationSet ? { validationData: validationSet } : {}),
    callbacks,
    verbose: 0,
    // No UI thread to yield to (CLI, Batch job); yielding costs a macrotask per batch.
    yieldEvery: 'never',
  });
  let bestEpoch: number | undefined;
  if (best) {
    bestEpoch = best.epoch;
    if (best.epoch !== records.length - 1) model.setWeights(best.weights);
    best.weights.forEach((w) => w.dispose());
  }
  return { epochs: records, stoppedEarly: records.length < epochs, trainRows, validationRows, ...(bestEpoch !== undefined ? { bestEpoch } : {}) };
}
