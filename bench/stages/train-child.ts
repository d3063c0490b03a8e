/**
 * Child process of the training and accuracy stages: trains the Bi-LSTM on one embeddings
 * store with one forced TF.js backend, evaluates on another, optionally saves the model, and
 * prints one JSON line with seconds per epoch, peak RSS and the metrics. A process of its
 * own per run, so peak RSS belongs to that run and the backend choice is fresh.
 *
 * node bin/run-ts.js bench/stages/train-child.ts --train DIR --test DIR --backend wasm
 *   [--epochs 3] [--batch-size 32] [--seed 42] [--validation-split 0.1] [--variant plain|masked]
 *   [--lstm fused|layers] [--head recipe|pooled] [--dropout R] [--recurrent-dropout R]
 *   [--class-weight W0,W1] [--save-model DIR --embedding-model DIR]
 *
 * --backend auto leaves the choice to initTfBackend's default order (tensorflow when installed).
 */
import { parseArgs } from 'node:util';
import { buildBiLstm, evaluateStore, initTfBackend, saveClassifier, trainClassifier } from '../../src/classifier/index.ts';
import { EmbeddingStoreReader } from '../../src/embeddings/index.ts';
import { computeMetrics } from '../../src/metrics/index.ts';
import { FsObjectStore } from '../../src/storage/fs-object-store.ts';
import { peakRssMiB } from '../lib/child.ts';
import { startKernelCount, type KernelCount } from '../../src/classifier/kernel-count.ts';

/** What the child prints. */
export interface TrainChildResult {
  readonly backend: string;
  readonly backendDetails?: string;
  readonly variant: 'plain' | 'masked';
  readonly head: 'recipe' | 'pooled';
  /** The LSTM path that ran (TrainingHistory.lstmPath). */
  readonly lstmPath: string;
  readonly trainRows: number;
  readonly validationRows: number;
  readonly epochSeconds: number[];
  readonly history: { loss: number; acc: number; val_loss?: number; val_acc?: number }[];
  readonly evaluateSeconds: number;
  readonly metrics: ReturnType<typeof computeMetrics>;
  readonly peakRssMiB: number;
  readonly rssBeforeTrainingMiB: number;
  /** Kernels of one training step (the second of epoch 1, not timed apart: epoch 1 is excluded from s/epoch). */
  readonly kernelsPerStep?: KernelCount;
}

const { values } = parseArgs({
  options: {
    train: { type: 'string' },
    test: { type: 'string' },
    backend: { type: 'string', default: 'wasm' },
    epochs: { type: 'string', default: '3' },
    'batch-size': { type: 'string', default: '32' },
    seed: { type: 'string', default: '42' },
    'validation-split': { type: 'string', default: '0.1' },
    variant: { type: 'string', default: 'plain' },
    lstm: { type: 'string', default: 'fused' },
    'lstm-backward': { type: 'string' },
    head: { type: 'string', default: 'recipe' },
    dropout: { type: 'string', default: '0' },
    'recurrent-dropout': { type: 'string', default: '0' },
    'class-weight': { type: 'string' },
    'save-model': { type: 'string' },
    'embedding-model': { type: 'string' },
  },
});
if (!values.train || !values.test) throw new Error('train-child needs --train DIR and --test DIR (embedding stores).');
const variant = values.variant === 'masked' ? 'masked' : 'plain';
const head = values.head === 'pooled' ? 'pooled' : 'recipe';
const classWeight = values['class-weight'] ? parseClassWeight(values['class-weight']) : undefined;
if (values['lstm-backward']) process.env.SIMPAIR_LSTM_BACKWARD = values['lstm-backward'];
if (values.backend === 'auto') delete process.env.SIMPAIR_TF_BACKEND;
else process.env.SIMPAIR_TF_BACKEND = values.backend;
const info = await initTfBackend();
const seed = Number(values.seed);

const trainReader = await EmbeddingStoreReader.open(new FsObjectStore(values.train), '');
const testReader = await EmbeddingStoreReader.open(new FsObjectStore(values.test), '');
const { maxLen, hidden } = trainReader.manifest;
// maskPadding: Masking(0) first; same seeded initial weights as the unmasked model.
const model = buildBiLstm({ maxLen, hidden, seed, maskPadding: variant === 'masked', head, dropout: Number(values.dropout), recurrentDropout: Number(values['recurrent-dropout']) });
const rssBeforeTrainingMiB = process.memoryUsage().rss / 2 ** 20;
const training = { epochs: Number(values.epochs), batchSize: Number(values['batch-size']), validationSplit: Number(values['validation-split']), seed };
// Count the kernels of the second step (the first compiles and warms up).
let counting: ReturnType<typeof startKernelCount> | undefined;
let kernelsPerStep: KernelCount | undefined;
const history = await trainClassifier(model, trainReader, {
  ...training,
  onBatchEnd: (batch) => {
    if (kernelsPerStep || (batch > 0 && !counting)) return;
    if (counting) kernelsPerStep = counting.stop();
    else counting = startKernelCount();
  },
  lstm: values.lstm === 'layers' ? 'layers' : 'fused',
  ...(classWeight ? { classWeight } : {}),
  onEpochEnd: (epoch, logs) => {
    process.stderr.write(`epoch ${epoch + 1}: ${logs.seconds.toFixed(1)} s, loss ${logs.loss.toFixed(4)}, val_acc ${logs.val_acc?.toFixed(4) ?? '-'}\n`);
  },
});
const t0 = performance.now();
const { labels, probabilities } = await evaluateStore(model, testReader);
const evaluateSeconds = (performance.now() - t0) / 1000;
const metrics = computeMetrics(labels, probabilities, 0.5);

if (values['save-model'] && variant === 'plain') {
  await saveClassifier(new FsObjectStore(values['save-model']), '', model, {
    embeddingModel: values['embedding-model'] ?? trainReader.manifest.modelId,
    tokenizerSha256: trainReader.manifest.tokenizerSha256,
    datasetSha256: trainReader.manifest.datasetSha256,
    training: { ...training, earlyStopping: null },
    history: history.epochs,
  }, metrics);
}

const result: TrainChildResult = {
  backend: info.backend,
  ...(info.details ? { backendDetails: info.details } : {}),
  variant,
  head,
  lstmPath: history.lstmPath,
  trainRows: history.trainRows,
  validationRows: history.validationRows,
  epochSeconds: history.epochs.map((e) => e.seconds),
  history: history.epochs.map(({ loss, acc, val_loss, val_acc }) => ({ loss, acc, val_loss, val_acc })),
  evaluateSeconds,
  metrics,
  peakRssMiB: peakRssMiB(),
  rssBeforeTrainingMiB,
  ...(kernelsPerStep ? { kernelsPerStep } : {}),
};
process.stdout.write(JSON.stringify(result) + '\n');

/** `W0,W1` -> `{ 0: W0, 1: W1 }` (trainClassifier checks the values). */
function parseClassWeight(text: string): { 0: number; 1: number } {
  const [w0, w1, ...rest] = text.split(',').map(Number);
  if (w1 === undefined || rest.length) throw new Error(`train-child: --class-weight takes W0,W1, received ${text}.`);
  return { 0: w0, 1: w1 };
}
