import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { assertCompatible, readClassifierMetadata, type ClassifierMetadata } from '../classifier/model-metadata.ts';
import { CLASSIFIER_ONNX_FILE, OnnxClassifier } from '../classifier/onnx-classifier.ts';
import type { ProbabilityModel } from '../classifier/tfjs-classifier.ts';
import { joinKey } from '../embeddings/manifest.ts';
import { pairFeatures } from '../classifier/pair-features.ts';
import { ENCODER_BASELINE_MAX_TOKENS } from './encoder-baseline.ts';
import { BertEmbedder } from '../embedder/bert-embedder.ts';
import { meanPooledSentenceEmbeddings, type PooledEmbeddingOptions, type PooledEmbeddings } from '../embedder/pooled-embeddings.ts';
import { PooledVectorCache } from '../embedder/pooled-vector-cache.ts';
import { DamagedModelError, ModelMismatchError, ModelOutputError, NotFoundError, RequestError, SimpairError } from '../errors.ts';
import { readClassifierSpec } from '../onnx-export/classifier-artifacts.ts';
import { classifierModel } from '../onnx-export/classifier-graph.ts';
import { encodeModel } from '../onnx-export/onnx-proto.ts';
import { checkSpecMetadata, onnxMetadata } from '../onnx-export/save-classifier-onnx.ts';
import { isPositive } from '../metrics/index.ts';
import { resolveModelSource, resolveRecordedEmbeddingModel, type ResolveModelOptions } from '../model-source/index.ts';
import type { PredictResponse } from '../server/predict-request.ts';
import { FsObjectStore } from '../storage/fs-object-store.ts';
import { getJson, type ObjectStore } from '../storage/object-store.ts';
import { PairTokenizer } from '../tokenizer/pair-tokenizer.ts';
import { embedPairs } from './embed-pairs.ts';
import type { Progress } from '../util/progress.ts';
import { LIVE_MODEL_KEY } from './layout.ts';
import { log } from '../util/log.ts';

/** What `models/live.json` holds: the published model version. */
export interface LiveModelPointer {
  version: string;
  prefix: string;
  runId: string;
  publishedAt: string;
  /** When the run that trained it was started: a run started earlier never replaces it. */
  runStartedAt?: string;
}

/** Options of {@link Predictor.load}. */
export interface PredictorOptions {
  /** Embedding model to use instead of the one named in metadata.json (hub id, dir, s3://). */
  readonly modelSource?: string;
  readonly threads?: number;
  readonly hub?: ResolveModelOptions;
  /** Pairs per BERT call. @default 16 */
  readonly batchSize?: number;
  /**
   * What runs the classifier: 'auto' takes `classifier.onnx` when the model has one, and
   * otherwise (older models) converts `model.json` to the same ONNX graph in memory: ONNX
   * Runtime either way, TensorFlow.js never loaded. 'onnx' insists on `classifier.onnx`;
   * 'tfjs' runs `model.json` on TensorFlow.js through {@link PredictorOptions.tfjs}.
   * @default 'auto'
   */
  readonly runtime?: ClassifierRuntimeChoice;
  /**
   * Loads `model.json` on TensorFlow.js, for runtime 'tfjs' only: pass `loadTfjsClassifier`
   * of src/classifier/tfjs-classifier.ts. It is passed in, not imported here, so that code
   * predicting on ONNX Runtime (the predict Lambda's bundle) holds no TensorFlow.js at all.
   * @default undefined (runtime 'tfjs' refused)
   */
  readonly tfjs?: (store: ObjectStore, prefix: string) => Promise<{ classifier: ProbabilityModel }>;
}

/** Which runtime runs the classifier (see {@link PredictorOptions.runtime}). */
export type ClassifierRuntimeChoice = 'auto' | 'onnx' | 'tfjs';

/** Where the classifier that runs came from (see {@link Predictor.classifierSource}). */
export type ClassifierSource = 'classifier.onnx' | 'model.json converted to ONNX' | 'model.json on TensorFlow.js';

/** Largest classifier.onnx loaded: the Bi-LSTM is a few MiB even at hidden 1024. */
export const MAX_CLASSIFIER_ONNX_BYTES = 256 * 2 ** 20;

/** Loads the classifier under `prefix` on the runtime asked for. */
async function loadProbabilityModel(
  store: ObjectStore,
  prefix: string,
  metadata: ClassifierMetadata,
  { runtime = 'auto', threads, tfjs }: PredictorOptions,
): Promise<{ classifier: ProbabilityModel; source: ClassifierSource }> {
  if (runtime === 'tfjs') {
    if (!tfjs) throw new SimpairError("Predictor: runtime 'tfjs' needs the tfjs option (loadTfjsClassifier of src/classifier/tfjs-classifier.ts); or use runtime 'auto', which runs every model on ONNX Runtime.");
    return { classifier: (await tfjs(store, prefix)).classifier, source: 'model.json on TensorFlow.js' };
  }
  const onnxKey = joinKey(prefix, CLASSIFIER_ONNX_FILE);
  const onnxVersion = await store.head(onnxKey);
  if (onnxVersion) {
    if (onnxVersion.size > MAX_CLASSIFIER_ONNX_BYTES) {
      throw new DamagedModelError(
        `${store.location}/${onnxKey} is ${(onnxVersion.size / 2 ** 20).toFixed(0)} MiB; a simpair classifier.onnx is a few MiB (the limit is ${MAX_CLASSIFIER_ONNX_BYTES / 2 ** 20} MiB). It is not the classifier simpair run wrote: re-export it with simpair export --model-dir DIR.`,
      );
    }
    const classifier = await OnnxClassifier.load(await store.get(onnxKey), { ...metadata, head: metadata.head ?? 'recipe' }, { threads, name: `${store.location}/${onnxKey}` });
    return { classifier, source: 'classifier.onnx' };
  }
  if (runtime === 'onnx') {
    throw new NotFoundError(`${store.location}/${onnxKey} is absent; export it with simpair export --model-dir DIR, or predict with runtime 'auto' (converts model.json to ONNX in memory).`);
  }
  // Porting Note: older models have only model.json; it is read without TF.js and converted
  // to the graph simpair run would have written (tested equal to the TF.js model within 1e-5).
  const spec = await readClassifierSpec(store, prefix);
  const where = `${store.location}/${joinKey(prefix, 'model.json')}`;
  checkSpecMetadata(spec, metadata, where);
  const bytes = encodeModel(classifierModel(spec, { metadata: onnxMetadata(metadata) }));
  const classifier = await OnnxClassifier.load(bytes, { ...metadata, head: metadata.head ?? 'recipe' }, { threads, name: `${where} (converted to ONNX in memory)` });
  return { classifier, source: 'model.json converted to ONNX' };
}

/**
 * A trained classifier with its tokenizer and BERT embedder, checked to fit each other.
 *
 * @example
 * const p = await Predictor.load(new FsObjectStore('run1'), '');
 * await p.predict([{ sentence1: 'A cat sat.', sentence2: 'A cat was sitting.' }]);
 */
export class Predictor {
  private constructor(
    readonly modelVersion: string,
    readonly metadata: ClassifierMetadata,
    /** What runs the classifier: the file, or model.json converted in memory, or TF.js (runtime 'tfjs'). */
    readonly classifierSource: ClassifierSource,
    private readonly classifier: ProbabilityModel,
    private readonly tokenizer: PairTokenizer,
    private readonly embedder: BertEmbedder,
    private readonly batchSize: number,
  ) {}

  /** Loads the classifier under `prefix` of `store` and the embedder it was trained with. */
  static async load(store: ObjectStore, prefix: string, options: PredictorOptions = {}): Promise<Predictor> {
    const metadata = await readClassifierMetadata(store, prefix);
    // The ONNX file the classifier was trained with (int8 or float32), also under --model.
    const quantized = metadata.embedder ? metadata.embedder.onnxFile === 'onnx/model_quantized.onnx' : options.hub?.quantized;
    const resolved = options.modelSource
      ? await resolveModelSource(options.modelSource, { ...options.hub, quantized })
      : await resolveRecordedEmbeddingModel(metadata, { ...options.hub, ...(store instanceof FsObjectStore ? { classifierDir: join(store.root, prefix) } : {}) });
    const tokenizer = await PairTokenizer.fromDir(resolved.dir);
    const embedder = await BertEmbedder.load(resolved.dir, {
      onnxFile: resolved.onnxFile,
      threads: options.threads,
      padding: metadata.padding === 'masked' ? 'dynamic' : 'max-length',
    });
    let loaded: Awaited<ReturnType<typeof loadProbabilityModel>>;
    try {
      assertCompatible(metadata, { maxLen: metadata.maxLen, hidden: embedder.hidden, tokenizerSha256: tokenizer.sha256 });
      await assertMaxLenFitsEncoder(metadata.maxLen, resolved.dir, `${store.location}/${joinKey(prefix, 'metadata.json')}`);
      loaded = await loadProbabilityModel(store, prefix, metadata, options);
    } catch (err) {
      await embedder.dispose();
      throw err;
    }
    const on = loaded.source === 'model.json on TensorFlow.js' ? 'TensorFlow.js (model.json)' : `ONNX Runtime (${loaded.source})`;
    log('info', `classifier of ${store.location}/${prefix} runs on ${on}`);
    return new Predictor(prefix || store.location, metadata, loaded.source, loaded.classifier, tokenizer, embedder, options.batchSize ?? 16);
  }

  /** The runtime that runs the classifier: ONNX Runtime unless runtime 'tfjs' was asked for. */
  get runtime(): 'onnx' | 'tfjs' {
    return this.classifierSource === 'model.json on TensorFlow.js' ? 'tfjs' : 'onnx';
  }

  /** Probability that each pair is a paraphrase, and the decision at the model's threshold. */
  async predict(pairs: readonly { sentence1: string; sentence2: string }[]): Promise<PredictResponse['predictions']> {
    // A sentence of only invisible characters (NUL, zero-width space, soft hyphen, a lone
    // surrogate) reaches BERT as nothing: no answer about it means anything.
    pairs.forEach((pair, i) => {
      for (const field of ['sentence1', 'sentence2'] as const) {
        if (this.tokenizer.tokenIds(pair[field]).length === 0) {
          throw new RequestError(`pairs[${i}].${field} has no word the model can read (only invisible, control or unpaired surrogate characters); send text.`);
        }
      }
    });
    const probs = await this.probabilities(pairs);
    return Array.from(probs, (p) => ({ probability: round(p), similar: isPositive(p, this.metadata.threshold) }));
  }

  /** Raw probabilities, a BERT batch at a time (memory bounded by `batchSize`). */
  async probabilities(pairs: readonly { sentence1: string; sentence2: string }[], { progress }: { progress?: Progress } = {}): Promise<Float32Array> {
    const out = new Float32Array(pairs.length);
    for (let start = 0; start < pairs.length; start += this.batchSize) {
      const part = pairs.slice(start, start + this.batchSize);
      const emb = await embedPairs(
        this.tokenizer,
        this.embedder,
        part.map((p) => [p.sentence1, p.sentence2] as const),
        { maxLen: this.metadata.maxLen, batchSize: this.batchSize },
      );
      out.set(checkProbabilities(await this.classifier.probabilities(emb, await this.pairFeatures(part)), part.length, this.modelVersion), start);
      progress?.increment(part.length);
    }
    return out;
  }

  /** The pooled head's second input for `pairs` (undefined for the recipe). */
  private async pairFeatures(pairs: readonly { sentence1: string; sentence2: string }[]): Promise<Float32Array | undefined> {
    if (this.metadata.head !== 'pooled') return undefined;
    // The training run pooled with the encoder baseline's settings (see runJob).
    const maxTokens = this.metadata.encoderBaseline?.maxTokens ?? ENCODER_BASELINE_MAX_TOKENS;
    const pooled = await this.pooledSentenceEmbeddings(pairs.flatMap((p) => [p.sentence1, p.sentence2]), { maxTokens });
    const h = pooled.hidden;
    const out = new Float32Array(pairs.length * 4 * h);
    pairs.forEach((_, i) => pairFeatures(pooled.vector(2 * i), pooled.vector(2 * i + 1), out.subarray(4 * i * h, 4 * (i + 1) * h)));
    return out;
  }

  /**
   * Mean-pooled sentence embeddings on this predictor's tokenizer and ONNX session (the
   * encoder baseline of `simpair evaluate`).
   */
  pooledSentenceEmbeddings(sentences: readonly string[], options?: PooledEmbeddingOptions): Promise<PooledEmbeddings> {
    return meanPooledSentenceEmbeddings(this.tokenizer, this.embedder, sentences, options);
  }

  /** The on-disk cache of this predictor's pooled sentence vectors at `maxTokens` (see {@link PooledVectorCache}). */
  pooledVectorCache(maxTokens: number): Promise<PooledVectorCache | undefined> {
    return PooledVectorCache.forEncoder(this.embedder, this.tokenizer, maxTokens);
  }

  async dispose(): Promise<void> {
    await this.classifier.dispose();
    await this.embedder.dispose();
  }
}

/**
 * The classifier's answer for `rows` pairs, refused unless it is one probability per row, each
 * a number in [0, 1]: a NaN or a 5 is never passed on as an answer.
 */
function checkProbabilities(probs: Float32Array, rows: number, model: string): Float32Array {
  if (probs.length !== rows) {
    throw new ModelOutputError(`The classifier of ${model} answered ${probs.length} values for ${rows} pairs; a simpair classifier answers one probability per pair. Re-export or retrain the model.`);
  }
  const bad = probs.findIndex((p) => !(p >= 0 && p <= 1));
  if (bad >= 0) {
    throw new ModelOutputError(`The classifier of ${model} answered ${probs[bad]} for pair ${bad + 1}, not a probability in [0, 1]. Re-export or retrain the model.`);
  }
  return probs;
}

/** Refuses a maxLen beyond the encoder's position embeddings (config.json max_position_embeddings): BERT cannot read more tokens. */
async function assertMaxLenFitsEncoder(maxLen: number, encoderDir: string, where: string): Promise<void> {
  let limit: unknown;
  try {
    limit = (JSON.parse(await readFile(join(encoderDir, 'config.json'), 'utf8')) as { max_position_embeddings?: unknown }).max_position_embeddings;
  } catch {
    return; // readHiddenSize already required a readable config.json
  }
  if (typeof limit === 'number' && Number.isInteger(limit) && limit > 0 && !(Number.isInteger(maxLen) && maxLen >= 3 && maxLen <= limit)) {
    throw new ModelMismatchError(`${where} has maxLen ${maxLen}, but its embedding model reads at most ${limit} tokens (max_position_embeddings in config.json). The metadata is damaged or belongs to another model; retrain or restore it.`);
  }
}

function round(p: number): number {
  return Math.round(p * 1e6) / 1e6;
}

/**
 * Loads the model that `models/live.json` names (the cloud and `simpair serve --store`), or
 * the one under `modelPrefix`.
 */
export async function loadPredictor(store: ObjectStore, input: { modelPrefix?: string } & PredictorOptions = {}): Promise<Predictor> {
  let prefix = input.modelPrefix;
  if (prefix === undefined) {
    if (!(await store.exists(LIVE_MODEL_KEY))) {
      throw new NotFoundError(`No live model: ${store.location}/${LIVE_MODEL_KEY} is absent. Train one first (upload a dataset or POST /train).`);
    }
    prefix = (await getJson<LiveModelPointer>(store, LIVE_MODEL_KEY)).prefix;
  }
  return Predictor.load(store, prefix, input);
}

