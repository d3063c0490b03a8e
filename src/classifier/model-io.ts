import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { z } from 'zod';
import { DamagedModelError, ModelMismatchError, NotFoundError, ShapeMismatchError, SimpairError } from '../errors.ts';
import { joinKey } from '../embeddings/manifest.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { putJson } from '../storage/object-store.ts';
import { modelInputShape } from './model-input.ts';

/** Format tag of `metadata.json`. */
export const MODEL_FORMAT = 'simpair-model/1';

/** Objects of a saved classifier under its prefix. */
export const MODEL_FILES = {
  modelJson: 'model.json',
  weights: 'group1-shard1of1.bin',
  metadata: 'metadata.json',
  metrics: 'metrics.json',
} as const;

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'a lowercase hex SHA-256');
const maybeNumber = z.number().nullable(); // JSON turns NaN into null

/** Schema of `metadata.json`, checked on every load. */
export const classifierMetadataSchema = z.object({
  format: z.literal(MODEL_FORMAT),
  maxLen: z.number().int().positive(),
  hidden: z.number().int().positive(),
  /**
   * Embedding model the classifier was trained on: hub id, S3 prefix, or a local directory's
   * name (older models: its absolute path on the training machine).
   */
  embeddingModel: z.string().min(1),
  /** Portable reference to the embedding model (see EmbeddingModelRef). Absent in older models. */
  embedder: z
    .object({ source: z.enum(['hub', 's3', 'local']), id: z.string().min(1), onnxFile: z.string().min(1), configSha256: sha256Hex, path: z.string().optional() })
    .optional(),
  tokenizerSha256: sha256Hex,
  threshold: z.number().min(0).max(1),
  /**
   * 'max-length': BERT's outputs at [PAD] positions are fed to the LSTMs (the recipe).
   * 'masked': padding positions are zeros and a Masking layer skips them; the predictor
   * then embeds with the embedder's 'dynamic' padding. Absent in older models: 'max-length'.
   */
  padding: z.enum(['max-length', 'masked']).default('max-length'),
  training: z.object({
    epochs: z.number().int().positive(),
    batchSize: z.number().int().positive(),
    validationSplit: z.number().min(0).lt(1),
    seed: z.number().int(),
    earlyStopping: z
      .object({
        patience: z.number().int().nonnegative(),
        monitor: z.literal('val_loss').optional(),
        restoreBestWeights: z.boolean().optional(),
        /** The epoch whose weights the model holds, counted from 1 as everywhere else. */
        keptEpoch: z.number().int().positive().optional(),
        /** Older models only: the kept epoch counted from 0. */
        bestEpoch: z.number().int().nonnegative().optional(),
      })
      .nullable(),
    /** Keras' class_weight of the training loss, when one was given (not the recipe). */
    classWeight: z.object({ 0: z.number().nonnegative(), 1: z.number().nonnegative() }).optional(),
  }),
  datasetSha256: sha256Hex,
  /**
   * How the training labels were read: from `column`; 1 for `positiveLabel`, or 1 when the
   * score >= `threshold`, or (neither) the fixed forms 0/1, true/false, yes/no. Absent in older models.
   */
  labels: z.object({ column: z.string(), positiveLabel: z.string().optional(), threshold: z.number().optional() }).optional(),
  /** TF.js backend that trained it (`tensorflow`, `wasm`, `cpu`). */
  backend: z.string().min(1),
  /** How the Bi-LSTM trained: `fused-tensorflow`, `fused-generic` or `layers` (see useFusedLstm). Absent in models saved before 0.2. */
  lstmPath: z.string().min(1).optional(),
  createdAt: z.iso.datetime(),
  /**
   * The frozen encoder's zero-training baseline (cosine of mean-pooled sentence embeddings):
   * its threshold tuned on the training rows, so `simpair evaluate` can report it on other
   * data. Absent in models saved before it existed.
   */
  /**
   * 'pooled': the two-input head (buildBiLstm's `head: 'pooled'`), fed pair features of
   * mean-pooled sentence vectors at prediction. Absent: the recipe.
   */
  head: z.literal('pooled').optional(),
  encoderBaseline: z
    .object({
      method: z.literal('cosine-mean-pooled'),
      threshold: z.number().finite(),
      trainAccuracy: z.number().min(0).max(1),
      maxTokens: z.number().int().min(3).max(512),
    })
    .optional(),
  /**
   * Per-epoch training history, epochs counted from 1 as the CLI prints them (older models
   * counted from 0: their first record has `epoch: 0`).
   */
  history: z
    .array(
      z.object({
        epoch: z.number().int().nonnegative(),
        loss: maybeNumber,
        acc: maybeNumber,
        val_loss: maybeNumber.optional(),
        val_acc: maybeNumber.optional(),
        seconds: z.number().nonnegative(),
      }),
    )
    .optional(),
});

/** `metadata.json` of a saved classifier. */
export type ClassifierMetadata = z.infer<typeof classifierMetadataSchema>;

/**
 * Metadata {@link saveClassifier} writes, besides what it derives: `format` and
 * `createdAt` always; `maxLen` / `hidden` from the model's input (given values are
 * checked against it); `backend` from {@link initTfBackend} unless given.
 */
export interface SaveClassifierOptions {
  readonly embeddingModel: string;
  /** Portable reference to the embedding model. @default undefined (not stored) */
  readonly embedder?: ClassifierMetadata['embedder'];
  readonly tokenizerSha256: string;
  readonly datasetSha256: string;
  readonly training: ClassifierMetadata['training'];
  /** Checked against the model's input. @default the model's */
  readonly maxLen?: number;
  /** Checked against the model's input. @default the model's */
  readonly hidden?: number;
  /** @default the backend initTfBackend chose */
  readonly backend?: string;
  /** `DatasetReadResult.labelRule` of the training data. @default undefined (not stored) */
  readonly labels?: ClassifierMetadata['labels'];
  /** `TrainingHistory.lstmPath`. @default undefined (not stored) */
  readonly lstmPath?: string;
  /** @default 0.5 */
  readonly threshold?: number;
  /** @default 'max-length' */
  readonly padding?: 'max-length' | 'masked';
  /** `TrainingHistory.epochs` (counted from 0); stored counted from 1. @default undefined (not stored) */
  readonly history?: ClassifierMetadata['history'];
  /** @default now */
  readonly createdAt?: string;
  /** 'pooled' for the two-input head. @default undefined (the recipe; not stored) */
  readonly head?: 'pooled';
  /** The encoder baseline's settings (see `runEncoderBaseline`). @default undefined (not stored) */
  readonly encoderBaseline?: ClassifierMetadata['encoderBaseline'];
}

/** The `model.json` simpair writes: TF.js' layers-model format. */
interface ModelJson {
  modelTopology: object;
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  format: string;
  generatedBy: string;
  convertedBy: string | null;
  trainingConfig?: tf.io.TrainingConfig;
}

function toArrayBuffer(tfc: typeof tf, data: tf.io.WeightData): ArrayBuffer {
  return Array.isArray(data) ? tfc.io.concatenateArrayBuffers(data) : data;
}

/**
 * TensorFlow.js, imported on first use: reading metadata.json ({@link readClassifierMetadata},
 * {@link assertCompatible}) is all the ONNX prediction path needs, and it must not load TF.js.
 */
async function loadTfjs() {
  const [tfc, tflayers, { COMPILE_CONFIG }, { tfBackendInfo }] = await Promise.all([
    import('@tensorflow/tfjs-core'),
    import('@tensorflow/tfjs-layers'),
    import('./bilstm.ts'),
    import('./tf-backend.ts'),
  ]);
  return { tf: tfc, tfl: tflayers, COMPILE_CONFIG, tfBackendInfo };
}

function parseMetadata(value: unknown, where: string): ClassifierMetadata {
  const result = classifierMetadataSchema.safeParse(value);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new SimpairError(`${where} is not valid ${MODEL_FORMAT} metadata: ${issues}. Re-train or re-save the model.`);
  }
  return result.data;
}

/**
 * Saves a trained classifier under `prefix` in TF.js' layers-model format, which Python's
 * `tensorflowjs` converter reads (`tensorflowjs_converter --input_format=tfjs_layers_model
 * --output_format=keras model.json out.h5`):
 *
 * - `model.json`: `modelTopology`, `weightsManifest`, `format: 'layers-model'`,
 *   `generatedBy`, `convertedBy` and `trainingConfig` (the compile settings);
 * - `group1-shard1of1.bin`: the weights, float32 little-endian;
 * - `metrics.json` when `metrics` is given (any JSON, e.g. {@link computeMetrics}' result);
 * - `metadata.json` (validated shape, checksums, training options), written last, so a
 *   prefix with `metadata.json` is a complete model.
 *
 * Porting Note: tfjs writes `trainingConfig` only with `includeOptimizer: true`, which also
 * stores the Adam moments (3x the weights). Keras' `model.save` keeps the compile settings
 * without needing the moments for inference, so we save without the optimizer's weights
 * and add `trainingConfig` ourselves: the model reloads compiled, with a fresh Adam.
 */
export async function saveClassifier(
  store: ObjectStore,
  prefix: string,
  model: tfl.LayersModel,
  options: SaveClassifierOptions,
  metrics?: unknown,
): Promise<ClassifierMetadata> {
  const { threshold = 0.5, createdAt = new Date().toISOString() } = options;
  const { tf, tfl, tfBackendInfo } = await loadTfjs();
  if (model.optimizer == null) throw new SimpairError('saveClassifier: the model is not compiled; compile it (buildBiLstm does) before saving.');
  const { maxLen, hidden } = modelInputShape(model);
  if ((options.maxLen ?? maxLen) !== maxLen || (options.hidden ?? hidden) !== hidden) {
    throw new ShapeMismatchError(
      `saveClassifier: metadata says [${options.maxLen}, ${options.hidden}] but the model takes [${maxLen}, ${hidden}]; pass the model's shape or omit maxLen/hidden.`,
    );
  }
  const metadata = parseMetadata(
    {
      format: MODEL_FORMAT,
      maxLen,
      hidden,
      embeddingModel: options.embeddingModel,
      ...(options.embedder ? { embedder: options.embedder } : {}),
      tokenizerSha256: options.tokenizerSha256,
      threshold,
      padding: options.padding ?? 'max-length',
      training: options.training,
      datasetSha256: options.datasetSha256,
      ...(options.labels ? { labels: options.labels } : {}),
      backend: options.backend ?? tfBackendInfo()?.backend ?? tf.getBackend(),
      ...(options.lstmPath ? { lstmPath: options.lstmPath } : {}),
      createdAt,
      ...(options.history ? { history: options.history.map((h) => ({ ...h, epoch: h.epoch + 1 })) } : {}),
      ...(options.head ? { head: options.head } : {}),
      ...(options.encoderBaseline ? { encoderBaseline: options.encoderBaseline } : {}),
    },
    'The metadata to save',
  );

  let captured: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      captured = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
    { includeOptimizer: false },
  );
  if (captured?.weightData == null || captured.weightSpecs == null || captured.modelTopology == null) {
    throw new SimpairError('saveClassifier: TF.js returned no topology or weights for the model.');
  }
  const trainingConfig = (model as unknown as { getTrainingConfig(): tf.io.TrainingConfig }).getTrainingConfig();
  const modelJson: ModelJson = {
    modelTopology: captured.modelTopology as object,
    weightsManifest: [{ paths: [MODEL_FILES.weights], weights: captured.weightSpecs }],
    format: captured.format ?? 'layers-model',
    generatedBy: captured.generatedBy ?? `TensorFlow.js tfjs-layers v${tfl.version_layers}`,
    convertedBy: captured.convertedBy ?? null,
    trainingConfig,
  };
  await store.put(joinKey(prefix, MODEL_FILES.weights), new Uint8Array(toArrayBuffer(tf, captured.weightData)));
  await putJson(store, joinKey(prefix, MODEL_FILES.modelJson), modelJson);
  if (metrics !== undefined) await putJson(store, joinKey(prefix, MODEL_FILES.metrics), metrics);
  await putJson(store, joinKey(prefix, MODEL_FILES.metadata), metadata);
  return metadata;
}

/**
 * Reads and validates `metadata.json` under `prefix`, without TensorFlow.js.
 *
 * @example
 * const metadata = await readClassifierMetadata(new FsObjectStore('runs/m'), '');
 */
export async function readClassifierMetadata(store: ObjectStore, prefix: string): Promise<ClassifierMetadata> {
  const key = joinKey(prefix, MODEL_FILES.metadata);
  const bytes = await store.get(key);
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new DamagedModelError(`${store.location}/${key} is not valid JSON (${bytes.length} bytes; truncated?): the model is damaged or incomplete. Re-run the training (simpair run) or restore the model directory from a copy.`, { cause: err });
  }
  return parseMetadata(value, `${store.location}/${key}`);
}

/** A loaded classifier and its metadata. */
export interface LoadedClassifier {
  readonly model: tfl.LayersModel;
  readonly metadata: ClassifierMetadata;
}

/**
 * Loads a classifier saved by {@link saveClassifier}: validates `metadata.json`, reads
 * `model.json` and its weights, and returns the model compiled with its saved
 * `trainingConfig` (so it can be trained further or evaluated). Call
 * {@link assertCompatible} before predicting with a given embedder.
 *
 * @throws ModelMismatchError when the model's input shape disagrees with its metadata.
 */
export async function loadClassifier(store: ObjectStore, prefix: string): Promise<LoadedClassifier> {
  const { tf, tfl, COMPILE_CONFIG } = await loadTfjs();
  const where = (file: string) => `${store.location}/${joinKey(prefix, file)}`;
  const damaged = (file: string, why: string, cause?: unknown) =>
    new DamagedModelError(`${where(file)} ${why}: the model is damaged or incomplete. Re-run the training (simpair run) or restore the model directory from a copy.`, { cause });
  const read = (file: string): Promise<Uint8Array> =>
    store.get(joinKey(prefix, file)).catch((err: unknown) => {
      throw err instanceof NotFoundError ? damaged(file, 'is missing', err) : err;
    });
  const readJson = async (file: string): Promise<unknown> => {
    const bytes = await read(file);
    try {
      return JSON.parse(Buffer.from(bytes).toString('utf8'));
    } catch (err) {
      throw damaged(file, `is not valid JSON (${bytes.length} bytes; truncated?)`, err);
    }
  };
  const metadata = parseMetadata(await readJson(MODEL_FILES.metadata), where(MODEL_FILES.metadata));
  const modelJson = (await readJson(MODEL_FILES.modelJson)) as ModelJson;
  if (modelJson?.format !== 'layers-model' || modelJson.modelTopology == null || !Array.isArray(modelJson.weightsManifest)) {
    throw new SimpairError(`${where(MODEL_FILES.modelJson)} is not a TF.js layers-model (format "${modelJson?.format}"); re-save the model.`);
  }
  const weightSpecs: tf.io.WeightsManifestEntry[] = [];
  const buffers: ArrayBuffer[] = [];
  for (const group of modelJson.weightsManifest) {
    weightSpecs.push(...group.weights);
    const expected = group.weights.reduce((sum, w) => sum + w.shape.reduce((a, b) => a * b, 1) * bytesPerValue(w.dtype), 0);
    let got = 0;
    for (const path of group.paths) {
      const bytes = await read(path);
      got += bytes.byteLength;
      buffers.push(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
    }
    // Quantized weights (model.json from elsewhere) have other sizes; simpair never writes them.
    if (got !== expected && !group.weights.some((w) => w.quantization)) {
      throw damaged(group.paths.join(', '), `holds ${got} bytes of weights where ${MODEL_FILES.modelJson} lists ${expected}`);
    }
  }
  const handler = tf.io.fromMemory({
    modelTopology: modelJson.modelTopology,
    weightSpecs,
    weightData: tf.io.concatenateArrayBuffers(buffers),
    format: modelJson.format,
    generatedBy: modelJson.generatedBy,
    convertedBy: modelJson.convertedBy ?? undefined,
    trainingConfig: modelJson.trainingConfig,
  });
  // Weights present: tfjs builds the layers with zeros (no initializers run), then loads them.
  let model: tfl.LayersModel;
  try {
    model = await tfl.loadLayersModel(handler);
  } catch (err) {
    throw damaged(MODEL_FILES.modelJson, `cannot be loaded with its weights (${(err as Error).message})`, err);
  }
  if (model.optimizer == null) {
    // Porting Note: Keras' load_model leaves a model without training_config uncompiled;
    // simpair models always carry one, so this only covers model.json from elsewhere.
    model.compile({ ...COMPILE_CONFIG, metrics: [...COMPILE_CONFIG.metrics] });
  }
  const { maxLen, hidden } = modelInputShape(model);
  if (maxLen !== metadata.maxLen || hidden !== metadata.hidden) {
    model.dispose();
    throw new ModelMismatchError(
      `${where(MODEL_FILES.modelJson)} takes [${maxLen}, ${hidden}] but its metadata says [${metadata.maxLen}, ${metadata.hidden}]; ` +
        `the model and metadata.json come from different saves. Re-save the model.`,
    );
  }
  return { model, metadata };
}

function bytesPerValue(dtype: string | undefined): number {
  return dtype === 'float16' ? 2 : dtype === 'bool' || dtype === 'uint8' || dtype === 'int8' ? 1 : 4;
}

/** What an embedder produces, to check a classifier against. */
export interface EmbedderSignature {
  readonly maxLen: number;
  readonly hidden: number;
  readonly tokenizerSha256: string;
}

/**
 * Refuses a classifier that does not fit the embedder it would be used with.
 *
 * @throws ModelMismatchError naming every differing field, both values and the fix.
 */
export function assertCompatible(metadata: ClassifierMetadata, embedder: EmbedderSignature): void {
  const problems: string[] = [];
  if (metadata.maxLen !== embedder.maxLen) {
    problems.push(`maxLen: model ${metadata.maxLen}, embedder ${embedder.maxLen} (tokenize with maxLen ${metadata.maxLen})`);
  }
  if (metadata.hidden !== embedder.hidden) {
    problems.push(
      `hidden: model ${metadata.hidden}, embedder ${embedder.hidden} (use the embedding model the classifier was trained on, ${metadata.embeddingModel})`,
    );
  }
  if (metadata.tokenizerSha256 !== embedder.tokenizerSha256) {
    problems.push(
      `tokenizerSha256: model ${metadata.tokenizerSha256}, embedder ${embedder.tokenizerSha256} (use the tokenizer of ${metadata.embeddingModel})`,
    );
  }
  if (problems.length > 0) {
    throw new ModelMismatchError(
      `The classifier does not fit the embedder: ${problems.join('; ')}. Otherwise re-train the classifier on this embedder's embeddings.`,
    );
  }
}
