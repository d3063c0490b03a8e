import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { DamagedModelError, ModelMismatchError, NotFoundError, ShapeMismatchError, SimpairError } from '../errors.ts';
import { joinKey } from '../embeddings/manifest.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { putJson } from '../storage/object-store.ts';
import { modelInputShape } from './model-input.ts';
import { MODEL_FILES, MODEL_FORMAT, parseMetadata, type ClassifierMetadata } from './model-metadata.ts';

export { MODEL_FILES, MODEL_FORMAT, assertCompatible, classifierMetadataSchema, readClassifierMetadata } from './model-metadata.ts';
export type { ClassifierMetadata, EmbedderSignature } from './model-metadata.ts';

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
