/**
 * The steps of a training run, each callable on its own (a Lambda, the Batch container) or in
 * order in-process ({@link runPipeline}, the local flow). State lives only in the store:
 * `runs/{id}/status.json` is the run record; nothing under `models/live.json` changes unless
 * every step succeeded.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { parseDataset, type DatasetOptions } from '../data/index.ts';
import { BertEmbedder } from '../embedder/bert-embedder.ts';
import { EmbeddingStoreReader, writeEmbeddingManifest, writeEmbeddingShard, type ShardCache, type ShardInfo } from '../embeddings/index.ts';
import { buildBiLstm, initTfBackend, saveClassifier, trainClassifier } from '../classifier/index.ts';
import { NotFoundError, RequestError, SimpairError } from '../errors.ts';
import { resolveModelSource } from '../model-source/index.ts';
import { getJson, putJson, type ObjectStore } from '../storage/object-store.ts';
import { PairTokenizer } from '../tokenizer/pair-tokenizer.ts';
import { log } from '../util/log.ts';
import { embedPairs } from './embed-pairs.ts';
import { LIVE_MODEL_KEY, PREFIX, keys } from './layout.ts';
import type { LiveModelPointer } from './predictor.ts';

export type RunState = 'STARTED' | 'VALIDATED' | 'EMBEDDED' | 'TRAINED' | 'SUCCEEDED' | 'FAILED';

/** What `runs/{id}/status.json` holds. */
export interface RunRecord {
  runId: string;
  datasetKey: string;
  datasetSha256: string;
  state: RunState;
  options: RunOptions;
  /** Which step failed and why, when state is FAILED. */
  error?: { step: string; name: string; message: string };
  counts?: { rows: number; positives: number; negatives: number };
  shards?: number;
  modelVersion?: string;
  metrics?: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
}

/** Options every run carries from the trigger to the trainer. */
export interface RunOptions {
  /** Embedding model source (hub id, directory, s3:// prefix). */
  modelSource: string;
  maxLen: number;
  epochs: number;
  batchSize: number;
  shardSize: number;
  dtype: 'float32' | 'float16';
  seed: number;
  validationSplit: number;
  /** See RunJobOptions.padding. */
  padding: 'max-length' | 'masked';
  dataset?: DatasetOptions;
}

const runOptionsSchema = z.object({
  modelSource: z.string().min(1),
  maxLen: z.number().int().min(3).max(512),
  epochs: z.number().int().min(1).max(1000),
  batchSize: z.number().int().min(1).max(4096),
  shardSize: z.number().int().min(1).max(100_000),
  dtype: z.enum(['float32', 'float16']),
  seed: z.number().int().min(0),
  validationSplit: z.number().min(0).lt(1),
  padding: z.enum(['max-length', 'masked']),
  dataset: z.record(z.string(), z.unknown()).optional(),
});

/** Defaults of a run; the stack overrides `modelSource` with its S3 model prefix. */
export const DEFAULT_RUN_OPTIONS: RunOptions = {
  modelSource: 'bert-base-uncased',
  maxLen: 128,
  epochs: 3,
  batchSize: 32,
  shardSize: 256,
  dtype: 'float32',
  seed: 42,
  validationSplit: 0.1,
  padding: 'max-length',
};

/** A row shard reference, the item the Distributed Map iterates over. */
export interface ShardRef {
  index: number;
  key: string;
  count: number;
}

/** Sidecar each embedding shard leaves so that finalizing needs no state from the map. */
interface ShardSidecar extends ShardInfo {
  modelId: string;
  tokenizerSha256: string;
  hidden: number;
}

const now = () => new Date().toISOString();

async function updateRun(store: ObjectStore, runId: string, patch: Partial<RunRecord>): Promise<RunRecord> {
  const record = { ...(await getRun(store, runId)), ...patch, updatedAt: now() };
  await putJson(store, keys.runStatus(runId), record);
  return record;
}

/** Reads a run record; {@link NotFoundError} when there is none. */
export async function getRun(store: ObjectStore, runId: string): Promise<RunRecord> {
  if (!/^[\w-]+$/.test(runId)) throw new RequestError(`Run id "${runId}" is not valid; ids are letters, digits, - and _.`);
  if (!(await store.exists(keys.runStatus(runId)))) throw new NotFoundError(`No run "${runId}" in ${store.location}.`);
  return getJson<RunRecord>(store, keys.runStatus(runId));
}

/**
 * Registers a run for a dataset object. Idempotent by content: the run id derives from the
 * dataset's sha256, so re-uploading the same bytes (under any key) returns the existing run.
 */
export async function startRun(
  store: ObjectStore,
  input: { datasetKey: string; options?: Partial<RunOptions>; datasetBytes?: Uint8Array },
): Promise<{ runId: string; duplicate: boolean }> {
  const { datasetKey } = input;
  if (typeof datasetKey !== 'string' || !datasetKey.startsWith(PREFIX.datasets) || datasetKey.includes('..')) {
    throw new RequestError(`datasetKey must be a key under ${PREFIX.datasets}, got ${JSON.stringify(datasetKey)}.`);
  }
  const parsed = runOptionsSchema.safeParse({ ...DEFAULT_RUN_OPTIONS, ...input.options });
  if (!parsed.success) {
    throw new RequestError(`Invalid run options: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}.`);
  }
  let bytes: Uint8Array;
  try {
    bytes = input.datasetBytes ?? (await store.get(datasetKey));
  } catch (err) {
    if (err instanceof NotFoundError) throw new NotFoundError(`Dataset ${datasetKey} is not in ${store.location}; upload it first.`, { cause: err });
    throw err;
  }
  const datasetSha256 = createHash('sha256').update(bytes).digest('hex');
  const runId = `run-${datasetSha256.slice(0, 16)}`;
  if (await store.exists(keys.runStatus(runId))) {
    const existing = await getRun(store, runId);
    // A failed run may be retried by uploading again; anything else is a duplicate.
    if (existing.state !== 'FAILED') {
      log('info', `dataset ${datasetKey} has the content of run ${runId}; not starting a duplicate`);
      return { runId, duplicate: true };
    }
  }
  const record: RunRecord = {
    runId,
    datasetKey,
    datasetSha256,
    state: 'STARTED',
    options: parsed.data as RunOptions,
    createdAt: now(),
    updatedAt: now(),
  };
  await putJson(store, keys.runStatus(runId), record);
  return { runId, duplicate: false };
}

/**
 * Validates the whole dataset (every bad row reported) and splits it into row shards.
 * `datasetBytes`, when the caller has already read the dataset, saves a second download; they
 * are used only if their sha256 is the run's.
 */
export async function validateAndSplit(
  store: ObjectStore,
  input: { runId: string; datasetBytes?: Uint8Array },
): Promise<{ runId: string; shards: ShardRef[] }> {
  const run = await getRun(store, input.runId);
  const given = input.datasetBytes;
  const bytes = given && createHash('sha256').update(given).digest('hex') === run.datasetSha256 ? given : await store.get(run.datasetKey);
  const data = parseDataset(bytes, run.datasetKey, run.options.dataset);
  const shards: ShardRef[] = [];
  const size = run.options.shardSize;
  for (let start = 0, index = 0; start < data.pairs.length; start += size, index++) {
    const rows = data.pairs.slice(start, start + size);
    const key = keys.rowShard(run.runId, index);
    await store.put(key, rows.map((r) => JSON.stringify({ sentence1: r.sentence1, sentence2: r.sentence2, label: r.label, line: r.line })).join('\n') + '\n');
    shards.push({ index, key, count: rows.length });
  }
  // The Distributed Map reads this list (ItemReader) rather than passing it through state.
  await putJson(store, `${PREFIX.shards}${run.runId}/shards.json`, shards);
  await updateRun(store, run.runId, { state: 'VALIDATED', counts: { rows: data.counts.rows, positives: data.counts.positives, negatives: data.counts.negatives }, shards: shards.length });
  return { runId: run.runId, shards };
}

/** Tokenizer and embedder per model source, kept for the life of a Lambda container. */
const embedderCache = new Map<string, Promise<{ tokenizer: PairTokenizer; embedder: BertEmbedder; modelId: string }>>();

async function loadEmbedder(source: string, padding: RunOptions['padding']) {
  const cacheKey = `${padding}:${source}`;
  let entry = embedderCache.get(cacheKey);
  if (!entry) {
    entry = (async () => {
      const resolved = await resolveModelSource(source);
      return {
        tokenizer: await PairTokenizer.fromDir(resolved.dir),
        embedder: await BertEmbedder.load(resolved.dir, { onnxFile: resolved.onnxFile, padding: padding === 'masked' ? 'dynamic' : 'max-length' }),
        modelId: resolved.modelId,
      };
    })();
    embedderCache.set(cacheKey, entry);
    entry.catch(() => embedderCache.delete(cacheKey));
  }
  return entry;
}

/** Embeds one row shard into one embedding shard (safetensors) plus a sidecar. */
export async function embedShard(store: ObjectStore, input: { runId: string; shard: ShardRef }): Promise<{ runId: string; index: number; count: number }> {
  const run = await getRun(store, input.runId);
  const text = Buffer.from(await store.get(input.shard.key)).toString('utf8');
  const rows = text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { sentence1: string; sentence2: string; label: number });
  if (rows.length !== input.shard.count) {
    throw new SimpairError(`Row shard ${input.shard.key} holds ${rows.length} rows, the map item says ${input.shard.count}; re-run the validate step.`);
  }
  const { tokenizer, embedder, modelId } = await loadEmbedder(run.options.modelSource, run.options.padding ?? 'max-length');
  const emb = await embedPairs(tokenizer, embedder, rows.map((r) => [r.sentence1, r.sentence2] as const), { maxLen: run.options.maxLen, batchSize: 32 });
  const prefix = keys.embeddings(run.runId);
  const info = await writeEmbeddingShard(store, prefix, input.shard.index, emb, rows.map((r) => r.label), { dtype: run.options.dtype });
  const sidecar: ShardSidecar = { ...info, modelId, tokenizerSha256: tokenizer.sha256, hidden: embedder.hidden };
  await putJson(store, `${prefix}parts/${String(input.shard.index).padStart(5, '0')}.json`, sidecar);
  return { runId: run.runId, index: input.shard.index, count: rows.length };
}

/** Writes the embedding manifest once every shard is there; fails naming missing shards. */
export async function finalizeEmbeddings(store: ObjectStore, input: { runId: string }): Promise<{ runId: string; count: number }> {
  const run = await getRun(store, input.runId);
  const prefix = keys.embeddings(run.runId);
  const parts = await Promise.all((await store.list(`${prefix}parts/`)).map((k) => getJson<ShardSidecar>(store, k)));
  parts.sort((a, b) => a.index - b.index);
  if (parts.length !== run.shards) {
    const have = new Set(parts.map((p) => p.index));
    const missing = Array.from({ length: run.shards ?? 0 }, (_, i) => i).filter((i) => !have.has(i));
    throw new SimpairError(`Run ${run.runId} has ${parts.length} of ${run.shards} embedding shards; missing ${missing.slice(0, 10).join(', ')}. Re-run the embedding map.`);
  }
  const first = parts[0];
  const manifest = await writeEmbeddingManifest(
    store,
    prefix,
    {
      modelId: first.modelId,
      tokenizerSha256: first.tokenizerSha256,
      maxLen: run.options.maxLen,
      hidden: first.hidden,
      dtype: run.options.dtype,
      datasetSha256: run.datasetSha256,
      padding: run.options.padding === 'masked' ? 'dynamic' : 'max-length',
    },
    parts,
  );
  await updateRun(store, run.runId, { state: 'EMBEDDED' });
  return { runId: run.runId, count: manifest.count };
}

/**
 * Trains the Bi-LSTM streaming the run's embedding shards; saves it under models/{version}/ (not yet live).
 * With `shardCache` (the Batch job) only the first epoch reads shards from the store.
 */
export async function trainRun(store: ObjectStore, input: { runId: string }, options: { shardCache?: ShardCache } = {}): Promise<{ runId: string; modelVersion: string }> {
  const run = await getRun(store, input.runId);
  const { backend } = await initTfBackend();
  const reader = await EmbeddingStoreReader.open(store, keys.embeddings(run.runId), { cache: options.shardCache });
  const { maxLen, hidden } = reader.manifest;
  const masked = reader.manifest.padding === 'dynamic';
  const model = buildBiLstm({ maxLen, hidden, seed: run.options.seed, maskPadding: masked });
  const training = { epochs: run.options.epochs, batchSize: run.options.batchSize, validationSplit: run.options.validationSplit, seed: run.options.seed };
  const history = await trainClassifier(model, reader, training);
  const last = history.epochs[history.epochs.length - 1];
  const metrics = { loss: last?.loss, accuracy: last?.acc, valLoss: last?.val_loss, valAccuracy: last?.val_acc, epochs: history.epochs.length };
  const modelVersion = `${now().replace(/[:.]/g, '-')}-${run.runId}`;
  await saveClassifier(
    store,
    keys.modelVersion(modelVersion),
    model,
    {
      maxLen,
      hidden,
      embeddingModel: reader.manifest.modelId,
      tokenizerSha256: reader.manifest.tokenizerSha256,
      threshold: 0.5,
      padding: masked ? 'masked' : 'max-length',
      training: { ...training, earlyStopping: null },
      datasetSha256: run.datasetSha256,
      backend,
      lstmPath: history.lstmPath,
      history: history.epochs,
    },
    metrics,
  );
  model.dispose();
  await updateRun(store, run.runId, { state: 'TRAINED', modelVersion, metrics });
  return { runId: run.runId, modelVersion };
}

/** Points `models/live.json` at the trained version: the only write that changes what predicts. */
export async function publishModel(store: ObjectStore, input: { runId: string; modelVersion: string }): Promise<RunRecord> {
  const run = await getRun(store, input.runId);
  if (run.state !== 'TRAINED' || run.modelVersion !== input.modelVersion) {
    throw new SimpairError(`Run ${run.runId} is ${run.state} with model ${run.modelVersion ?? 'none'}; only a TRAINED run's own model (${input.modelVersion}) can be published.`);
  }
  const prefix = keys.modelVersion(input.modelVersion);
  if (!(await store.exists(`${prefix}model.json`))) throw new NotFoundError(`Model ${prefix}model.json is absent; train again.`);
  const pointer: LiveModelPointer = { version: input.modelVersion, prefix, runId: run.runId, publishedAt: now() };
  await putJson(store, LIVE_MODEL_KEY, pointer);
  return updateRun(store, run.runId, { state: 'SUCCEEDED' });
}

/** Records a failure; publishes nothing. */
export async function failRun(store: ObjectStore, input: { runId: string; step: string; error: unknown }): Promise<RunRecord> {
  const e = input.error as { name?: string; message?: string; Error?: string; Cause?: string } | undefined;
  // Step Functions passes {Error, Cause}; in-process callers pass the Error itself.
  const name = e?.name ?? e?.Error ?? 'Error';
  const message = e?.message ?? e?.Cause ?? String(input.error);
  return updateRun(store, input.runId, { state: 'FAILED', error: { step: input.step, name, message } });
}

/**
 * The whole flow in-process, in order (the local face of the state machine). A failure is
 * recorded in the run and re-thrown; the live model stays as it was.
 */
export async function runPipeline(store: ObjectStore, input: { datasetKey: string; options?: Partial<RunOptions> }): Promise<RunRecord> {
  const datasetBytes = await store.get(input.datasetKey).catch(() => undefined); // startRun explains a missing one
  const { runId, duplicate } = await startRun(store, { ...input, datasetBytes });
  if (duplicate) return getRun(store, runId);
  return runSteps(store, runId, datasetBytes);
}

/** Runs the steps after {@link startRun} for a registered run (`datasetBytes`: see validateAndSplit). */
export async function runSteps(store: ObjectStore, runId: string, datasetBytes?: Uint8Array): Promise<RunRecord> {
  let step = 'validate';
  try {
    const { shards } = await validateAndSplit(store, { runId, datasetBytes });
    step = 'embed';
    for (const shard of shards) await embedShard(store, { runId, shard });
    step = 'finalize';
    await finalizeEmbeddings(store, { runId });
    step = 'train';
    const { modelVersion } = await trainRun(store, { runId });
    step = 'publish';
    return await publishModel(store, { runId, modelVersion });
  } catch (err) {
    await failRun(store, { runId, step, error: err });
    throw err;
  }
}
