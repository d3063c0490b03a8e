import { basename, isAbsolute } from 'node:path';
import { z } from 'zod';
import { readClassifierMetadata } from '../classifier/model-metadata.ts';
import { CLASSIFIER_ONNX_FILE } from '../classifier/onnx-classifier.ts';
import { joinKey } from '../embeddings/manifest.ts';
import { NotFoundError, RequestError } from '../errors.ts';
import { LIVE_MODEL_KEY, PREFIX } from '../pipeline/layout.ts';
import type { LiveModelPointer } from '../pipeline/predictor.ts';
import { getJson, type ObjectStore } from '../storage/object-store.ts';

/** What the page shows about the model that answers `/predict`. */
export interface ModelFacts {
  readonly version: string;
  readonly embeddingModel: string;
  readonly maxLen: number;
  readonly padding: string;
  readonly threshold: number;
  /** When the model was trained (metadata.json's createdAt). */
  readonly trainedAt: string;
  /** What runs the classifier: ONNX Runtime, for every model (see {@link ModelFacts.classifier}). */
  readonly runtime: 'onnx';
  /** The file ONNX Runtime runs: `classifier.onnx`, or (older models) `model.json` converted in memory. */
  readonly classifier: 'classifier.onnx' | 'model.json';
  /** metrics.json, when the model has one. */
  readonly metrics?: Record<string, unknown>;
  /** Pictures the model directory holds, by file name. */
  readonly pictures: readonly string[];
}

/** One run as the page lists it. */
export interface RunSummary {
  readonly runId: string;
  readonly state: string;
  readonly datasetKey?: string;
  /** The failed step and reason, when the run FAILED. */
  readonly error?: { readonly step?: string; readonly message?: string };
  readonly modelVersion?: string;
  readonly updatedAt?: string;
}

/** What the page's routes need besides the prediction API. */
export interface PageBackend {
  /** Facts of the model in service, or undefined when there is none yet. */
  modelFacts(): Promise<ModelFacts | undefined>;
  /** A picture of the model in service (`training-curves.svg`, `roc.svg`). */
  modelPicture(name: string): Promise<Uint8Array | undefined>;
  /** Runs, newest first (store mode only). */
  listRuns?(): Promise<RunSummary[]>;
  /** Stores a dataset under `datasets/` and starts its run (store mode only). */
  uploadDataset?(name: string, content: string): Promise<unknown>;
}

/** Pictures a model directory may hold (written by simpair run). */
export const MODEL_PICTURES = ['training-curves.svg', 'roc.svg'] as const;

const runRecord = z
  .object({
    runId: z.string(),
    state: z.string(),
    datasetKey: z.string().optional(),
    error: z.object({ step: z.string().optional(), message: z.string().optional() }).passthrough().optional(),
    modelVersion: z.string().optional(),
    updatedAt: z.string().optional(),
  })
  .passthrough();

/** Dataset names the upload form accepts: a plain file name with a dataset extension. */
const DATASET_NAME = /^[A-Za-z0-9][\w.-]{0,99}\.(tsv|csv|jsonl|txt)$/;

/** Options of {@link createPageBackend}. */
export interface PageBackendOptions {
  /** Serve the model under this prefix (`simpair serve --model-dir`) rather than the live one. */
  readonly modelPrefix?: string;
  /** Starts a run for a dataset key (the store backend's `startTraining`); enables runs and uploads. */
  readonly startTraining?: (body: { datasetKey: string }) => Promise<unknown>;
  /** Most runs listed. @default 50 */
  readonly maxRuns?: number;
}

/**
 * The page's view of a store: the model in service (the given prefix, or the one
 * `models/live.json` names), and with `startTraining` the runs and dataset uploads.
 *
 * @example
 * const page = createPageBackend(new FsObjectStore('runs/m'), { modelPrefix: '' });
 * await page.modelFacts();
 */
export function createPageBackend(store: ObjectStore, { modelPrefix, startTraining, maxRuns = 50 }: PageBackendOptions = {}): PageBackend {
  async function servedModel(): Promise<{ prefix: string; version: string } | undefined> {
    // The folder's name, not where it is on this machine.
    if (modelPrefix !== undefined) return { prefix: modelPrefix, version: modelPrefix || basename(store.location) };
    if (!(await store.exists(LIVE_MODEL_KEY))) return undefined;
    const pointer = await getJson<LiveModelPointer>(store, LIVE_MODEL_KEY);
    return { prefix: pointer.prefix, version: pointer.version };
  }

  const backend: PageBackend = {
    async modelFacts() {
      const served = await servedModel();
      if (!served) return undefined;
      const { prefix, version } = served;
      const metadata = await readClassifierMetadata(store, prefix);
      const metricsKey = joinKey(prefix, 'metrics.json');
      const pictures: string[] = [];
      for (const name of MODEL_PICTURES) if (await store.exists(joinKey(prefix, name))) pictures.push(name);
      return {
        version,
        // An older model records the training machine's path: its folder name says which model.
        embeddingModel: metadata.embedder?.id ?? (isAbsolute(metadata.embeddingModel) ? basename(metadata.embeddingModel) : metadata.embeddingModel),
        maxLen: metadata.maxLen,
        padding: metadata.padding,
        threshold: metadata.threshold,
        trainedAt: metadata.createdAt,
        runtime: 'onnx',
        classifier: (await store.exists(joinKey(prefix, CLASSIFIER_ONNX_FILE))) ? 'classifier.onnx' : 'model.json',
        ...((await store.exists(metricsKey)) ? { metrics: await getJson<Record<string, unknown>>(store, metricsKey) } : {}),
        pictures,
      };
    },
    async modelPicture(name) {
      if (!(MODEL_PICTURES as readonly string[]).includes(name)) return undefined;
      const served = await servedModel();
      const key = served && joinKey(served.prefix, name);
      return key && (await store.exists(key)) ? store.get(key) : undefined;
    },
  };
  if (!startTraining) return backend;

  backend.listRuns = async () => {
    const keys = (await store.list(PREFIX.runs)).filter((k) => /^runs\/[\w-]+\/status\.json$/.test(k));
    const runs: RunSummary[] = [];
    for (const key of keys) {
      const parsed = runRecord.safeParse(await getJson<unknown>(store, key).catch(() => undefined));
      if (!parsed.success) continue; // being written, or not a run record
      const { runId, state, datasetKey, error, modelVersion, updatedAt } = parsed.data;
      runs.push({ runId, state, datasetKey, modelVersion, updatedAt, ...(error ? { error: { step: error.step, message: error.message } } : {}) });
    }
    return runs.sort((a, b) => (b.updatedAt ?? '').localeCompare(a.updatedAt ?? '')).slice(0, maxRuns);
  };
  backend.uploadDataset = async (name, content) => {
    if (!DATASET_NAME.test(name)) {
      throw new RequestError(`Dataset name ${JSON.stringify(name.slice(0, 120))} is not accepted; use a plain file name ending in .tsv, .csv, .jsonl or .txt (letters, digits, . _ -).`);
    }
    if (content.length === 0) throw new RequestError(`Dataset ${name} is empty; choose a file with a header and rows.`);
    // A gzip file read as text by the browser starts with 0x1f and the magic 0x8b (or, decoded
    // as UTF-8, its replacement character): say so rather than report unparseable rows.
    if (/^\u001f[\u008b\ufffd]/.test(content)) throw new RequestError(`Dataset ${name} is compressed (gzip); decompress it first and upload the text file.`);
    const datasetKey = `${PREFIX.datasets}${name}`;
    await store.put(datasetKey, content);
    return { datasetKey, ...((await startTraining({ datasetKey })) as object) };
  };
  return backend;
}

/** Throws NotFoundError for a page feature the server does not offer in this mode. */
export function requireFeature<T>(feature: T | undefined, what: string): T {
  if (feature === undefined) throw new NotFoundError(`${what} is only offered by simpair serve --store DIR or --bucket NAME.`);
  return feature;
}
