import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { buildBiLstm } from '../classifier/bilstm.ts';
import type { LabeledPair } from '../data/pair.ts';
import { fineTuneEncoder, predictFineTuned, readBertConfig, readBertWeights, TfBert, withBertWeights, type FineTuneHistory } from '../encoder/index.ts';
import { SimpairError } from '../errors.ts';
import type { EmbeddingModelRef } from '../model-source/embedding-model-ref.ts';
import { encodeModel } from '../onnx-export/onnx-proto.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import type { PairTokenizer } from '../tokenizer/pair-tokenizer.ts';
import { log } from '../util/log.ts';
import { trainingProgress } from './run-progress.ts';

/** Where the model directory keeps its own (fine-tuned) encoder, relative to the directory. */
export const FINE_TUNED_ENCODER_DIR = 'encoder';
/** Files of the original model directory copied beside the fine-tuned ONNX file (those that exist). */
const ENCODER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.txt'] as const;

/** Options of {@link fineTuneStep}. */
export interface FineTuneStepOptions {
  /** The BERT model directory (config.json, onnx/model.onnx, tokenizer). */
  readonly modelDir: string;
  /** The original model's reference, recorded in the fine-tuned config.json. */
  readonly from: EmbeddingModelRef;
  readonly tokenizer: PairTokenizer;
  readonly train: readonly LabeledPair[];
  /** Pairs evaluated after training (the test data, else the training data). */
  readonly evaluate: readonly LabeledPair[];
  readonly maxLen: number;
  readonly epochs: number;
  readonly batchSize: number;
  readonly validationSplit: number;
  readonly seed: number;
  readonly patience?: number;
  readonly padding: 'max-length' | 'masked';
  readonly dropout: number;
  readonly recurrentDropout: number;
  /** Refuse when the measured estimate exceeds this. */
  readonly maxHours: number;
  /** Where the model directory is being written, and under which prefix. */
  readonly store: ObjectStore;
  readonly prefix: string;
}

/** What {@link fineTuneStep} gives back to the run job. */
export interface FineTuneStepResult {
  /** The trained head (the recipe's Bi-LSTM), saved like every classifier. */
  readonly classifier: tfl.LayersModel;
  readonly history: FineTuneHistory;
  readonly hidden: number;
  readonly labels: Float32Array;
  readonly probabilities: Float32Array;
  /** The model directory's own encoder, `encoder/` beside metadata.json: what prediction loads. */
  readonly encoderRef: EmbeddingModelRef;
}

/**
 * Checks the options `--fine-tune-encoder` cannot take, all at once, before any work.
 */
export function checkFineTuneOptions({ head, quantized, classWeight }: { head: string; quantized: boolean; classWeight?: unknown }): void {
  const problems: string[] = [];
  if (head !== 'recipe') problems.push(`--head ${head}: the fine-tuned model is the recipe's Bi-LSTM on the trained encoder (drop --head)`);
  if (quantized) problems.push('--quantized: the int8 encoder cannot be trained; fine-tuning reads onnx/model.onnx (drop --quantized)');
  if (classWeight !== undefined) problems.push('--class-weight is not supported with --fine-tune-encoder yet (drop it)');
  if (problems.length) throw new SimpairError(`Invalid options for --fine-tune-encoder: ${problems.join('; ')}.`);
}

function tokenize(tokenizer: PairTokenizer, pairs: readonly LabeledPair[], maxLen: number) {
  return {
    batch: tokenizer.encodePairs(pairs.map((p) => [p.sentence1, p.sentence2] as const), { maxLen }),
    labels: Float32Array.from(pairs, (p) => p.label),
  };
}

/**
 * `simpair run --fine-tune-encoder`: BERT (TF.js, weights from the model directory's
 * onnx/model.onnx) and the recipe's Bi-LSTM trained together on the tokenized pairs
 * (fineTuneEncoder), evaluated, and the trained encoder written into the model directory
 * being built: `<prefix>encoder/` holds a copy of the original ONNX graph with the trained
 * weights, the tokenizer files and config.json (with a `simpair_fine_tuned` record, so its
 * SHA-256 differs from the original's and the two cannot be mistaken for each other).
 */
export async function fineTuneStep(options: FineTuneStepOptions): Promise<FineTuneStepResult> {
  const { modelDir, tokenizer, maxLen, padding, seed, store, prefix } = options;
  const config = await readBertConfig(modelDir);
  const onnxPath = join(modelDir, 'onnx', 'model.onnx');
  const onnx = await readFile(onnxPath);
  const bert = TfBert.fromParameters(config, readBertWeights(onnx, config, onnxPath));
  let head: tfl.LayersModel | undefined;
  try {
    head = buildBiLstm({ maxLen, hidden: config.hiddenSize, seed, maskPadding: padding === 'masked', dropout: options.dropout, recurrentDropout: options.recurrentDropout });
    const train = tokenize(tokenizer, options.train, maxLen);
    log('info', `fine-tuning ${options.from.id} (${config.numHiddenLayers} layers, hidden ${config.hiddenSize}) with the Bi-LSTM on ${options.train.length} tokenized pairs`);
    const history = await fineTuneEncoder(bert, head, train, {
      epochs: options.epochs,
      batchSize: options.batchSize,
      validationSplit: options.validationSplit,
      seed,
      padding,
      maxSeconds: options.maxHours * 3600,
      ...(options.patience ? { patience: options.patience } : {}),
      ...trainingProgress(options.train.length, options),
    });
    const evaluated = tokenize(tokenizer, options.evaluate, maxLen);
    const probabilities = await predictFineTuned(bert, head, evaluated.batch, { padding });

    const dir = `${prefix}${FINE_TUNED_ENCODER_DIR}/`;
    await store.put(`${dir}onnx/model.onnx`, encodeModel(withBertWeights(onnx, await bert.parameters(), config, onnxPath)));
    for (const file of ENCODER_FILES) {
      const from = join(modelDir, file);
      if (await isFile(from)) await store.put(`${dir}${file}`, await readFile(from));
    }
    const rawConfig = JSON.parse(await readFile(join(modelDir, 'config.json'), 'utf8')) as Record<string, unknown>;
    const fineTuned = { from: options.from.id, fromConfigSha256: options.from.configSha256, maxLen, epochs: history.epochs.length, seed, trainPairs: options.train.length };
    const configBytes = `${JSON.stringify({ ...rawConfig, simpair_fine_tuned: fineTuned }, null, 2)}\n`;
    await store.put(`${dir}config.json`, configBytes);
    const encoderRef: EmbeddingModelRef = {
      source: 'local',
      id: FINE_TUNED_ENCODER_DIR,
      onnxFile: 'onnx/model.onnx',
      configSha256: createHash('sha256').update(configBytes).digest('hex'),
      path: FINE_TUNED_ENCODER_DIR,
    };
    const result = { classifier: head, history, hidden: config.hiddenSize, labels: evaluated.labels, probabilities, encoderRef };
    head = undefined; // the caller owns it now
    return result;
  } finally {
    head?.dispose();
    bert.dispose();
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
