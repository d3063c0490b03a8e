/**
 * The steps of a training run, each callable on its own (a Lambda, the Batch container) or in
 * order in-process ({@link runSteps}, the local flow). State lives only in the store:
 * `runs/{id}/status.json` is the run record (a state machine with a lease, see run-record.ts);
 * nothing under `models/live.json` changes unless every step succeeded.
 */
import { createHash } from 'node:crypto';
import { parseDataset } from '../data/index.ts';
import type { BertEmbedder } from '../embedder/bert-embedder.ts';
import { EmbeddingStoreReader, MANIFEST_FILE, writeEmbeddingManifest, writeEmbeddingShard, type ShardCache, type ShardInfo } from '../embeddings/index.ts';
import { MODEL_FILES } from '../classifier/model-metadata.ts';
import { DatasetChangedError, NotFoundError, PreconditionFailedError, RequestError, SimpairError } from '../errors.ts';
import { resolveModelSource } from '../model-source/index.ts';
import { getJson, putJson, type ObjectStore, type ObjectVersion } from '../storage/object-store.ts';
import { PairTokenizer } from '../tokenizer/pair-tokenizer.ts';
import { log } from '../util/log.ts';
import { embedPairs } from './embed-pairs.ts';
import { meanPooledSentenceEmbeddings } from '../embedder/pooled-embeddings.ts';
import { computeMetrics, rocCurve } from '../metrics/index.ts';
import { encoderBaselineVerdict } from '../metrics/encoder-baseline.ts';
import { ENCODER_BASELINE_MAX_TOKENS, encoderBaselineOfScores, storedPairScores } from './encoder-baseline.ts';
import { LIVE_MODEL_KEY, PREFIX, keys } from './layout.ts';
import type { LiveModelPointer } from './predictor.ts';
import { checkOptions, DEFAULT_RUN_OPTIONS, resolveRunOptions, runIdFor, type RunOptions } from './run-options.ts';
import {
  advanceRun,
  assertOwned,
  createRun,
  getRun,
  inProcessTurn,
  isStale,
  leaseFor,
  LeaseLostError,
  processRunOwner,
  nowIso,
  readRun,
  recordRunFailure,
  renewLease,
  RunStateError,
  TERMINAL_STATES,
  updateRun,
  type RunOwner,
  type RunRecord,
  type RunState,
} from './run-record.ts';

export { DEFAULT_RUN_OPTIONS, getRun, recordRunFailure, resolveRunOptions };
export type { RunOptions, RunOwner, RunRecord, RunState };

/** A row shard reference, the item the Distributed Map iterates over. */
export interface ShardRef {
  index: number;
  key: string;
  count: number;
}

/** Sidecar each embedding shard leaves so that finalizing needs no state from the map. */
interface ShardSidecar extends ShardInfo {
  runId?: string;
  modelId: string;
  tokenizerSha256: string;
  hidden: number;
}

/** Runs started at most this many times (first start + take-overs of stale attempts) before they are marked FAILED. */
export const DEFAULT_MAX_ATTEMPTS = 3;

/** Input of {@link startRun}. */
export interface StartRunInput {
  datasetKey: string;
  /** Effective options (defaults are filled in); user input goes through resolveRunOptions first. */
  options?: Partial<RunOptions>;
  /** The dataset bytes when the caller has read them (they define the run); else read from the store. */
  datasetBytes?: Uint8Array;
  /** Version of the dataset object those bytes were read from (the watcher's check). */
  datasetVersion?: ObjectVersion;
  /** Who will work on the run. @default this process's owner (processRunOwner) */
  owner?: RunOwner;
  /** @default {@link DEFAULT_MAX_ATTEMPTS} */
  maxAttempts?: number;
}

/** What {@link startRun} decided. */
export interface StartRunResult {
  runId: string;
  /** True when the run already exists and is live (working, queued or SUCCEEDED): nothing was started. */
  duplicate: boolean;
  /** The state the run is in (for a take-over, the state it is resumed from). */
  state: RunState;
  /** Set when a stale run was taken over rather than created. */
  resumed?: boolean;
}

/**
 * Registers a run for a dataset object, atomically. The run id derives from the content and
 * the effective options, so the same bytes with the same options (under any key) are one run.
 * Of concurrent starts exactly one creates the record (create-if-absent write); the others
 * report that run as a duplicate. An existing run is a duplicate unless it FAILED (then it is
 * restarted) or is stale (its owner's lease expired: then this start takes it over, and
 * {@link runSteps} resumes it).
 */
export async function startRun(store: ObjectStore, input: StartRunInput): Promise<StartRunResult> {
  const { datasetKey, owner = processRunOwner(), maxAttempts = DEFAULT_MAX_ATTEMPTS } = input;
  if (typeof datasetKey !== 'string' || !datasetKey.startsWith(PREFIX.datasets) || datasetKey.split('/').includes('..')) {
    throw new RequestError(`datasetKey must be a key under ${PREFIX.datasets}, got ${JSON.stringify(datasetKey)}.`);
  }
  const options = checkOptions({ ...DEFAULT_RUN_OPTIONS, ...input.options });
  const { bytes, version } = input.datasetBytes ? { bytes: input.datasetBytes, version: input.datasetVersion ?? (await store.head(datasetKey)) } : await readDatasetStable(store, datasetKey);
  const datasetSha256 = sha256(bytes);
  const runId = runIdFor(datasetSha256, options);
  const datasetVersion = version ? { size: version.size, etag: version.etag } : undefined;

  // Starts of one run through one store object take turns: the store's conditional create
  // decides between processes, and this also holds where the store ignores the condition (s3rver).
  const started = await inProcessTurn(store, `start:${runId}`, () => decideStart(store, { runId, datasetKey, datasetSha256, datasetVersion, options, owner, maxAttempts }));
  await supersedeRunsOfReplacedContent(store, { datasetKey, datasetSha256, runId });
  return started;
}

/** What `runs/by-key/{sha256 of the dataset key}.json` holds: the content a dataset key held at its last start, and the runs started on it. */
interface DatasetKeyRuns {
  datasetKey: string;
  datasetSha256: string;
  runIds: string[];
}

/** Runs remembered per dataset key and content (a few POST /train option sets on one file). */
const MAX_RUNS_PER_DATASET_KEY = 50;

/**
 * The check that a run's dataset was not replaced while the run works, made where the dataset
 * is read. A start reads the dataset key's current content (the upload's Object Created event
 * in the cloud, the watcher locally), so a start with other content than the key's last start
 * means the key was overwritten: every run started on the old content that is still working is
 * recorded FAILED (DatasetChangedError) here, and its later steps refuse a terminal run. That
 * way finalize, the training job and publish never read `datasets/` (their roles may not), and
 * a model trained on replaced content still cannot go live. The runs per key are kept in one
 * object under `runs/`, replaced by compare-and-swap.
 */
async function supersedeRunsOfReplacedContent(store: ObjectStore, { datasetKey, datasetSha256, runId }: { datasetKey: string; datasetSha256: string; runId: string }): Promise<void> {
  const key = keys.runsOfDatasetKey(sha256(new TextEncoder().encode(datasetKey)));
  const replaced = await inProcessTurn(store, `dataset-key:${key}`, async () => {
    for (let attempt = 0; ; attempt++) {
      const current = await store.getVersioned(key).catch((err: unknown) => {
        if (err instanceof NotFoundError) return undefined;
        throw err;
      });
      const seen = current && (JSON.parse(Buffer.from(current.body).toString('utf8')) as DatasetKeyRuns);
      const same = seen?.datasetSha256 === datasetSha256;
      const runIds = same ? [...seen.runIds.filter((id) => id !== runId), runId].slice(-MAX_RUNS_PER_DATASET_KEY) : [runId];
      if (same && seen.runIds.includes(runId)) return [];
      const next: DatasetKeyRuns = { datasetKey, datasetSha256, runIds };
      try {
        await store.putIf(key, JSON.stringify(next, null, 2) + '\n', current ? { ifMatch: current.etag } : { ifNoneMatch: '*' });
        return same || !seen ? [] : seen.runIds;
      } catch (err) {
        if (!(err instanceof PreconditionFailedError) || attempt >= 20) throw err;
      }
    }
  });
  for (const old of replaced) {
    const run = await readRun(store, old);
    if (!run || TERMINAL_STATES.has(run.record.state) || run.record.datasetSha256 === datasetSha256) continue;
    const failed = await recordRunFailure(store, old, {
      step: STEP_OF_STATE[run.record.state] ?? run.record.state.toLowerCase(),
      name: 'DatasetChangedError',
      message: `${datasetKey} was replaced after run ${old} read it (new content started run ${runId}); this run stops and the new content gets its own run.`,
    });
    if (failed.state === 'FAILED' && failed.error?.name === 'DatasetChangedError') log('info', `run ${old} stopped: ${datasetKey} was replaced (new content: run ${runId})`);
  }
}

/** The step a run in a given state works on next. */
const STEP_OF_STATE: Partial<Record<RunState, string>> = { STARTED: 'validate', VALIDATED: 'embed', EMBEDDED: 'train', TRAINED: 'publish' };

async function decideStart(
  store: ObjectStore,
  { runId, datasetKey, datasetSha256, datasetVersion, options, owner, maxAttempts }: { runId: string; datasetKey: string; datasetSha256: string; datasetVersion: RunRecord['datasetVersion']; options: RunOptions; owner: RunOwner; maxAttempts: number },
): Promise<StartRunResult> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const existing = await readRun(store, runId);
    if (!existing) {
      const at = nowIso();
      const record: RunRecord = { runId, datasetKey, datasetSha256, datasetVersion, state: 'STARTED', options, attempt: 1, lease: leaseFor(owner), startedAt: at, createdAt: at, updatedAt: at };
      if (await createRun(store, record)) return { runId, duplicate: false, state: 'STARTED' };
      continue; // another start created it first: report that run
    }
    const { record } = existing;
    if (record.state === 'SUCCEEDED' || (!TERMINAL_STATES.has(record.state) && !isStale(record))) {
      log('info', `dataset ${datasetKey} with these options is run ${runId} (${record.state}); not starting a duplicate`);
      return { runId, duplicate: true, state: record.state };
    }
    if (record.state !== 'FAILED') {
      const outcome = await takeOverStaleRun(store, runId, { owner, maxAttempts, seen: record });
      if (outcome === 'changed' || outcome === 'busy') continue;
      return outcome === 'taken' ? { runId, duplicate: false, state: record.state, resumed: true } : { runId, duplicate: true, state: 'FAILED' };
    }
    try {
      const restarted = await updateRun(store, runId, (current) => {
        if (current.updatedAt !== record.updatedAt) throw new PreconditionFailedError('changed');
        const at = nowIso();
        return { runId, datasetKey, datasetSha256, datasetVersion, state: 'STARTED', options, attempt: current.attempt + 1, lease: leaseFor(owner), startedAt: at, createdAt: current.createdAt, updatedAt: at };
      });
      log('info', `restarting failed run ${runId} (attempt ${restarted.attempt})`);
      return { runId, duplicate: false, state: 'STARTED' };
    } catch (err) {
      if (!(err instanceof PreconditionFailedError)) throw err; // someone else restarted it: look again
    }
  }
  throw new SimpairError(`Run ${runId} keeps changing under concurrent starts; try again.`);
}

/**
 * Takes over a stale run (its owner's lease expired or its local owner process is gone) for
 * `owner`, to be resumed by {@link runSteps}; a run abandoned `maxAttempts` times is marked
 * FAILED instead. 'busy' when the run is terminal or not stale, 'changed' when another writer
 * changed it since `seen` was read.
 */
export async function takeOverStaleRun(
  store: ObjectStore,
  runId: string,
  { owner, maxAttempts = DEFAULT_MAX_ATTEMPTS, seen }: { owner: RunOwner; maxAttempts?: number; seen?: RunRecord },
): Promise<'taken' | 'failed' | 'busy' | 'changed'> {
  const record = seen ?? (await getRun(store, runId));
  if (!isStale(record)) return 'busy';
  if (record.attempt >= maxAttempts) {
    const message = `Run ${runId} was abandoned ${record.attempt} times at ${record.state} (last owner ${record.lease?.owner ?? 'unknown'}, lease expired ${record.lease?.expiresAt ?? 'unknown'}); giving up. Upload the dataset again or POST /train to retry.`;
    await recordRunFailure(store, runId, { step: record.state.toLowerCase(), name: 'RunAbandoned', message });
    return 'failed';
  }
  try {
    const taken = await updateRun(store, runId, (current) => {
      if (current.updatedAt !== record.updatedAt) throw new PreconditionFailedError('changed');
      return { ...current, attempt: current.attempt + 1, lease: leaseFor(owner) };
    });
    log('info', `taking over stale run ${runId} at ${taken.state} (attempt ${taken.attempt}; previous owner ${record.lease?.owner ?? 'none'})`);
    return 'taken';
  } catch (err) {
    if (err instanceof PreconditionFailedError) return 'changed';
    throw err;
  }
}

/** Reads a dataset and the version of the object read; refuses one that changed during the read (an upload in progress). */
async function readDatasetStable(store: ObjectStore, datasetKey: string): Promise<{ bytes: Uint8Array; version?: ObjectVersion }> {
  const before = await store.head(datasetKey);
  if (!before) throw new NotFoundError(`Dataset ${datasetKey} is not in ${store.location}; upload it first.`);
  const bytes = await store.get(datasetKey);
  const after = await store.head(datasetKey);
  if (!after || after.etag !== before.etag || after.size !== bytes.byteLength) {
    throw new DatasetChangedError(`Dataset ${datasetKey} changed while it was read (an upload in progress?); start the run once the upload is complete. Upload to a temporary name and rename it into datasets/.`);
  }
  return { bytes, version: after };
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/**
 * Throws {@link DatasetChangedError} when the run's dataset object now holds other bytes than
 * the run read (an overwrite, or the rest of a slow upload): its model must not go live.
 * In-process only ({@link runSteps}, which may read `datasets/`): the cloud steps after
 * validation may not, and rely on the next start failing the run instead
 * ({@link supersedeRunsOfReplacedContent}).
 */
async function assertDatasetUnchanged(store: ObjectStore, run: RunRecord): Promise<void> {
  const now = await store.head(run.datasetKey);
  if (!now || !run.datasetVersion || now.etag === run.datasetVersion.etag) return; // deleted after reading, or nothing to compare
  if (now.size === run.datasetVersion.size && sha256(await store.get(run.datasetKey)) === run.datasetSha256) return; // rewritten with the same bytes
  throw new DatasetChangedError(
    `${run.datasetKey} was replaced after run ${run.runId} read it (${run.datasetVersion.size} bytes then, ${now.size} now); this run stops and the new content gets its own run.`,
  );
}

/** Input every step takes: the run, and in-process the owner holding its lease. */
interface StepInput {
  runId: string;
  owner?: RunOwner;
}

/** Reads a run a step works on; refuses a terminal run and, with an owner, a run leased to another. */
async function activeRun(store: ObjectStore, { runId, owner }: StepInput): Promise<RunRecord> {
  const run = await getRun(store, runId);
  assertOwned(run, owner);
  return run;
}

/**
 * Validates the whole dataset (every bad row reported) and splits it into row shards.
 * `datasetBytes`, when the caller has already read the dataset, saves a second download; they
 * are used only if their sha256 is the run's. Bytes read from the store must have it too.
 */
export async function validateAndSplit(store: ObjectStore, input: StepInput & { datasetBytes?: Uint8Array }): Promise<{ runId: string; shards: ShardRef[] }> {
  const run = await activeRun(store, input);
  const given = input.datasetBytes;
  const bytes = given && sha256(given) === run.datasetSha256 ? given : await store.get(run.datasetKey);
  if (bytes !== given && sha256(bytes) !== run.datasetSha256) {
    throw new DatasetChangedError(`${run.datasetKey} no longer holds the bytes of run ${run.runId} (sha256 ${run.datasetSha256.slice(0, 16)}...); this run stops and the new content gets its own run.`);
  }
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
  await putJson(store, keys.shardList(run.runId), shards);
  await advanceRun(store, run.runId, { state: 'VALIDATED', counts: { rows: data.counts.rows, positives: data.counts.positives, negatives: data.counts.negatives }, shards: shards.length }, input.owner);
  return { runId: run.runId, shards };
}

/** Tokenizer and embedder per model source, kept for the life of a Lambda container. */
const embedderCache = new Map<string, Promise<{ tokenizer: PairTokenizer; embedder: BertEmbedder; modelId: string }>>();

async function loadEmbedder(source: string, padding: RunOptions['padding']) {
  const cacheKey = `${padding}:${source}`;
  let entry = embedderCache.get(cacheKey);
  if (!entry) {
    entry = (async () => {
      // Imported here, not at the top: the training container runs trainRun from this module and
      // must not load onnxruntime-node (not installed in its image).
      const { BertEmbedder } = await import('../embedder/bert-embedder.ts');
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

const sidecarKey = (runId: string, index: number) => `${keys.embeddings(runId)}parts/${String(index).padStart(5, '0')}.json`;

/** Embeds one row shard into one embedding shard (safetensors) plus a sidecar. */
export async function embedShard(store: ObjectStore, input: StepInput & { shard: ShardRef }): Promise<{ runId: string; index: number; count: number }> {
  const run = await activeRun(store, input);
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
  // Each row's two mean-pooled sentence vectors beside its tokens: the training step scores the
  // encoder baseline with them, and the pooled head takes them as its second input.
  const pooled = await pooledVectors(tokenizer, embedder, rows);
  const info = await writeEmbeddingShard(store, prefix, input.shard.index, emb, rows.map((r) => r.label), { dtype: run.options.dtype, pooled });
  const sidecar: ShardSidecar = { ...info, runId: run.runId, modelId, tokenizerSha256: tokenizer.sha256, hidden: embedder.hidden };
  // Written after the shard it describes: a sidecar present means its shard is complete.
  await putJson(store, sidecarKey(run.runId, input.shard.index), sidecar);
  return { runId: run.runId, index: input.shard.index, count: rows.length };
}

/** `[rows, 2, hidden]`: each row's two mean-pooled sentence vectors, as `simpair run --head pooled` stores them. */
async function pooledVectors(tokenizer: PairTokenizer, embedder: BertEmbedder, rows: readonly { sentence1: string; sentence2: string }[]): Promise<Float32Array> {
  const pooled = await meanPooledSentenceEmbeddings(tokenizer, embedder, rows.flatMap((r) => [r.sentence1, r.sentence2]), { maxTokens: ENCODER_BASELINE_MAX_TOKENS });
  const out = new Float32Array(rows.length * 2 * pooled.hidden);
  for (let i = 0; i < 2 * rows.length; i++) out.set(pooled.vector(i), i * pooled.hidden);
  return out;
}

/**
 * Writes the embedding manifest once every shard is there; fails naming missing shards. Only
 * this run's shard indices (0 .. shards-1, sidecars naming this run) count: a leftover sidecar
 * of an earlier attempt with more shards cannot make a missing shard look present.
 */
export async function finalizeEmbeddings(store: ObjectStore, input: StepInput): Promise<{ runId: string; count: number }> {
  const run = await activeRun(store, input);
  const prefix = keys.embeddings(run.runId);
  const expected = run.shards ?? 0;
  const wanted = new Set(Array.from({ length: expected }, (_, i) => sidecarKey(run.runId, i)));
  const sidecarKeys = (await store.list(`${prefix}parts/`)).filter((k) => wanted.has(k));
  const parts = (await Promise.all(sidecarKeys.map((k) => getJson<ShardSidecar>(store, k)))).filter((p) => (p.runId ?? run.runId) === run.runId);
  parts.sort((a, b) => a.index - b.index);
  if (parts.length !== expected) {
    const have = new Set(parts.map((p) => p.index));
    const missing = Array.from({ length: expected }, (_, i) => i).filter((i) => !have.has(i));
    throw new SimpairError(`Run ${run.runId} has ${parts.length} of ${expected} embedding shards; missing ${missing.slice(0, 10).join(', ')}. Re-run the embedding map.`);
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
  await advanceRun(store, run.runId, { state: 'EMBEDDED' }, input.owner);
  return { runId: run.runId, count: manifest.count };
}

/**
 * Trains the Bi-LSTM streaming the run's embedding shards; saves it under models/{version}/ (not yet live).
 * With `shardCache` (the Batch job) only the first epoch reads shards from the store.
 */
export async function trainRun(store: ObjectStore, input: StepInput, options: { shardCache?: ShardCache } = {}): Promise<{ runId: string; modelVersion: string }> {
  const run = await activeRun(store, input);
  // TF.js is imported by this step alone: the other steps, and the Lambdas running them, start without it.
  const { buildBiLstm, initTfBackend, predictShardRows, saveClassifier, trainClassifier } = await import('../classifier/index.ts');
  const { backend } = await initTfBackend();
  const reader = await EmbeddingStoreReader.open(store, keys.embeddings(run.runId), { cache: options.shardCache });
  const { maxLen, hidden } = reader.manifest;
  const masked = reader.manifest.padding === 'dynamic';
  const head = run.options.head ?? 'recipe';
  const model = buildBiLstm({ maxLen, hidden, seed: run.options.seed, maskPadding: masked, head });
  const training = { epochs: run.options.epochs, batchSize: run.options.batchSize, validationSplit: run.options.validationSplit, seed: run.options.seed };
  const history = await trainClassifier(model, reader, training);
  const last = history.epochs[history.epochs.length - 1];
  const modelVersion = `${nowIso().replace(/[:.]/g, '-')}-${run.runId}`;
  const prefix = keys.modelVersion(modelVersion);
  try {
    // The model and the frozen encoder's baseline on the same rows: the validation rows (the
    // last ones, as trainClassifier holds them out), the baseline's threshold tuned on the rest.
    // One read of the shards: the cosine of every row, the model's probability of the held-out ones.
    const count = reader.manifest.count;
    const held = history.validationRows;
    const from = held > 0 ? count - held : 0;
    const labels = new Uint8Array(count - from);
    const probabilities = new Float32Array(count - from);
    const scored = await storedPairScores(reader, (shard, first) => {
      const start = Math.max(from - first, 0);
      if (start >= shard.count) return;
      probabilities.set(predictShardRows(model, shard, reader.manifest, start), first + start - from);
      labels.set(shard.labels.subarray(start), first + start - from);
    });
    const evaluatedOn = held > 0 ? `the validation rows (the last ${held} of ${count})` : `the training rows (validationSplit 0, no rows held out)`;
    const evaluation = { ...computeMetrics(labels, probabilities, 0.5), evaluatedOn };
    const roc = rocCurve(labels, probabilities);
    const baseline = scored && encoderBaselineOfScores(sliceScored(scored, 0, count - held), sliceScored(scored, from, count), ENCODER_BASELINE_MAX_TOKENS);
    if (!baseline) log('warn', `no encoder baseline: the embedding shards of run ${run.runId} hold no pooled sentence vectors (embedded by an older simpair)`);
    const verdict = baseline && 'accuracy' in baseline.record ? encoderBaselineVerdict(evaluation, baseline.record, evaluatedOn) : undefined;
    if (verdict) log('warn', verdict);
    const metrics = {
      loss: last?.loss,
      accuracy: last?.acc,
      valLoss: last?.val_loss,
      valAccuracy: last?.val_acc,
      epochs: history.epochs.length,
      evaluation: { accuracy: evaluation.accuracy, rocAuc: evaluation.rocAuc, evaluatedOn },
      ...(baseline ? { encoderBaseline: { accuracy: 'accuracy' in baseline.record ? baseline.record.accuracy : null, rocAuc: baseline.record.rocAuc } } : {}),
    };
    // Before metadata.json (saveClassifier writes it last): the predict Lambda then runs ONNX Runtime only.
    const { saveClassifierOnnx } = await import('../onnx-export/save-classifier-onnx.ts');
    await saveClassifierOnnx(store, prefix, model, { padding: masked ? 'masked' : 'max-length', ...(head === 'pooled' ? { head } : {}) });
    // The report and its pictures, before metadata.json marks the model complete.
    const { renderTrainingReport } = await import('../report/training-report.ts');
    const report = await renderTrainingReport({
      title: `simpair cloud run ${run.runId}: ${run.datasetKey}`,
      history: history.epochs,
      roc,
      metrics: evaluation,
      evaluatedOn,
      facts: [
        ['dataset', `${run.datasetKey} (${count} pairs)`],
        ['embedding model', reader.manifest.modelId],
        ['maxLen', maxLen],
        ['padding', masked ? 'masked' : 'max-length'],
        ['head', head],
        ['epochs', run.options.epochs],
        ['batch size', run.options.batchSize],
        ['validation split', `${run.options.validationSplit} (${held} rows)`],
        ['seed', run.options.seed],
        ['TF.js backend', backend],
        ['LSTM path', history.lstmPath],
        ['shuffle', history.shuffle],
      ],
      ...(baseline ? { encoderBaseline: { roc: baseline.roc, metrics: baseline.record } } : {}),
    });
    await store.put(`${prefix}report.html`, report.html);
    if (report.curvesSvg) await store.put(`${prefix}training-curves.svg`, report.curvesSvg);
    if (report.rocSvg) await store.put(`${prefix}roc.svg`, report.rocSvg);
    await saveClassifier(
      store,
      prefix,
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
        ...(baseline ? { encoderBaseline: baseline.settings } : {}),
        ...(head === 'pooled' ? { head } : {}),
      },
      // metrics.json: the training figures, then the evaluation and the baseline in full.
      { ...metrics, evaluation, ...(baseline ? { encoderBaseline: baseline.record } : {}) },
    );
    await advanceRun(store, run.runId, { state: 'TRAINED', modelVersion, metrics }, input.owner);
  } finally {
    model.dispose();
  }
  return { runId: run.runId, modelVersion };
}

function sliceScored(scored: { labels: Uint8Array; scores: Float64Array }, from: number, to: number) {
  return { labels: scored.labels.subarray(from, to), scores: scored.scores.subarray(from, to) };
}

/** True when every file of a saved model is in the store (they are written, and on disk fsynced, before the run says TRAINED). */
async function modelComplete(store: ObjectStore, modelVersion: string): Promise<boolean> {
  const prefix = keys.modelVersion(modelVersion);
  const present = await Promise.all([MODEL_FILES.modelJson, MODEL_FILES.weights, MODEL_FILES.metadata].map((f) => store.exists(`${prefix}${f}`)));
  return present.every(Boolean);
}

/** Whether the live pointer names a run started after `run` (ties broken by run id), which must stay live. */
function newerThan(pointer: LiveModelPointer, run: RunRecord): boolean {
  if (!pointer.runStartedAt) return false;
  return pointer.runStartedAt > run.startedAt || (pointer.runStartedAt === run.startedAt && pointer.runId > run.runId);
}

/**
 * Points `models/live.json` at the trained version: the only write that changes what predicts.
 * Runs publish in the order they were started: if the live model comes from a run started
 * after this one, it stays live and this run ends SUCCEEDED with `publication.live: false`.
 * The pointer is replaced with a compare-and-swap write, so two publishers cannot both win.
 * Publishing again (a resumed run whose pointer was written before a crash) is a no-op.
 */
export async function publishModel(store: ObjectStore, input: StepInput & { modelVersion: string }): Promise<RunRecord> {
  const run = await getRun(store, input.runId);
  if (run.state === 'SUCCEEDED' && run.modelVersion === input.modelVersion) return run;
  assertOwned(run, input.owner);
  if (run.state !== 'TRAINED' || run.modelVersion !== input.modelVersion) {
    throw new RunStateError(`Run ${run.runId} is ${run.state} with model ${run.modelVersion ?? 'none'}; only a TRAINED run's own model (${input.modelVersion}) can be published.`);
  }
  const prefix = keys.modelVersion(input.modelVersion);
  if (!(await modelComplete(store, input.modelVersion))) throw new NotFoundError(`Model ${prefix} is incomplete (model.json, weights or metadata.json missing); train again.`);
  const pointer: LiveModelPointer = { version: input.modelVersion, prefix, runId: run.runId, publishedAt: nowIso(), runStartedAt: run.startedAt };
  // One publisher at a time per store object (where the store ignores conditions), compare-and-swap between processes.
  const publication = await inProcessTurn(store, 'publish', () => swapLivePointer(store, run, pointer));
  return advanceRun(store, run.runId, { state: 'SUCCEEDED', publication }, input.owner);
}

/** Replaces `models/live.json` with `pointer` unless a run started later is live; says which happened. */
async function swapLivePointer(store: ObjectStore, run: RunRecord, pointer: LiveModelPointer): Promise<NonNullable<RunRecord['publication']>> {
  for (let attempt = 0; ; attempt++) {
    const live = await store.getVersioned(LIVE_MODEL_KEY).catch((err: unknown) => {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    });
    const livePointer = live && (JSON.parse(Buffer.from(live.body).toString('utf8')) as LiveModelPointer);
    if (livePointer?.version === pointer.version) return { live: true };
    if (livePointer && newerThan(livePointer, run)) {
      return {
        live: false,
        supersededBy: livePointer.runId,
        reason: `run ${livePointer.runId}, started after this one, has already published; its model stays live (this run's model is kept at ${pointer.prefix})`,
      };
    }
    try {
      await store.putIf(LIVE_MODEL_KEY, JSON.stringify(pointer, null, 2) + '\n', live ? { ifMatch: live.etag } : { ifNoneMatch: '*' });
      return { live: true };
    } catch (err) {
      if (!(err instanceof PreconditionFailedError) || attempt >= 20) throw err;
    }
  }
}

/** Records a failure; publishes nothing; never overwrites a terminal record (see {@link recordRunFailure}). */
export async function failRun(store: ObjectStore, input: { runId: string; step: string; error: unknown; owner?: RunOwner }): Promise<RunRecord> {
  const e = input.error as { name?: string; message?: string; Error?: string; Cause?: string } | undefined;
  // Step Functions passes {Error, Cause}; in-process callers pass the Error itself.
  const name = e?.name ?? e?.Error ?? 'Error';
  const message = e?.message ?? e?.Cause ?? String(input.error);
  return recordRunFailure(store, input.runId, { step: input.step, name, message }, { owner: input.owner });
}

/**
 * The whole flow in-process, in order (the local face of the state machine). A failure is
 * recorded in the run and re-thrown; the live model stays as it was.
 */
export async function runPipeline(store: ObjectStore, input: { datasetKey: string; options?: Partial<RunOptions>; owner?: RunOwner }): Promise<RunRecord> {
  const datasetBytes = await store.get(input.datasetKey).catch(() => undefined); // startRun explains a missing one
  const owner = input.owner ?? processRunOwner();
  const { runId, duplicate } = await startRun(store, { ...input, datasetBytes, owner });
  if (duplicate) return getRun(store, runId);
  return runSteps(store, runId, { datasetBytes, owner });
}

/** The first step a run (possibly taken over) must do, from its state and whether that state's outputs are intact. */
export async function resumePoint(store: ObjectStore, run: RunRecord): Promise<'validate' | 'embed' | 'finalize' | 'train' | 'publish'> {
  const shardsIntact = async () => {
    if (!run.shards && run.shards !== 0) return false;
    const present = new Set(await store.list(`${PREFIX.shards}${run.runId}/`));
    return present.has(keys.shardList(run.runId)) && Array.from({ length: run.shards }, (_, i) => keys.rowShard(run.runId, i)).every((k) => present.has(k));
  };
  switch (run.state) {
    case 'TRAINED':
      if (run.modelVersion && (await modelComplete(store, run.modelVersion))) return 'publish';
    // falls through: the model is not all there, train it again
    case 'EMBEDDED':
      if (await store.exists(`${keys.embeddings(run.runId)}${MANIFEST_FILE}`)) return 'train';
    // falls through
    case 'VALIDATED':
      if (await shardsIntact()) return 'embed';
    // falls through
    default:
      return 'validate';
  }
}

/** Options of {@link runSteps}. */
export interface RunStepsOptions {
  /** See {@link validateAndSplit}. */
  datasetBytes?: Uint8Array;
  /** The owner holding the run's lease (from {@link startRun}); its lease is renewed every third of its length while the steps work. */
  owner?: RunOwner;
}

/**
 * Runs the steps after {@link startRun} for a registered run, from where it stands: a run
 * taken over after a crash resumes at its last completed step whose outputs are intact
 * (embedding only the shards that are missing), else from validation. A failure is recorded
 * (unless the lease was lost to another owner, who then owns the outcome) and re-thrown.
 */
export async function runSteps(store: ObjectStore, runId: string, options: RunStepsOptions = {}): Promise<RunRecord> {
  const owner = options.owner ?? processRunOwner();
  let lost: LeaseLostError | undefined;
  const heartbeat = setInterval(() => {
    renewLease(store, runId, owner).catch((err: unknown) => {
      if (err instanceof LeaseLostError) lost = err;
      else log('warn', `run ${runId}: could not renew the lease (${(err as Error).message}); retrying`);
    });
  }, Math.max(50, Math.floor(owner.leaseMs / 3)));
  heartbeat.unref();
  const checkLease = () => {
    if (lost) throw lost;
  };
  let step = 'validate';
  try {
    const run = await getRun(store, runId);
    assertOwned(run, owner);
    const from = await resumePoint(store, run);
    const order = ['validate', 'embed', 'finalize', 'train', 'publish'] as const;
    const at = (s: (typeof order)[number]) => order.indexOf(from) <= order.indexOf(s);
    if (from !== 'validate') log('info', `run ${runId}: resuming at ${from} (state ${run.state})`);
    let shards: ShardRef[] | undefined;
    if (at('validate')) ({ shards } = await validateAndSplit(store, { runId, datasetBytes: options.datasetBytes, owner }));
    checkLease();
    if (at('embed')) {
      step = 'embed';
      shards ??= await getJson<ShardRef[]>(store, keys.shardList(runId));
      const done = new Set(await store.list(`${keys.embeddings(runId)}parts/`));
      for (const shard of shards) {
        checkLease();
        if (!done.has(sidecarKey(runId, shard.index))) await embedShard(store, { runId, shard, owner });
      }
    }
    // The dataset may have been replaced while this run worked (the cloud learns it from the
    // replacement's start; here the steps may read the dataset, so each checks it first).
    const unchanged = async () => assertDatasetUnchanged(store, await getRun(store, runId));
    if (at('finalize')) {
      step = 'finalize';
      checkLease();
      await unchanged();
      await finalizeEmbeddings(store, { runId, owner });
    }
    let modelVersion = run.modelVersion;
    if (at('train')) {
      step = 'train';
      checkLease();
      await unchanged();
      ({ modelVersion } = await trainRun(store, { runId, owner }));
    }
    step = 'publish';
    checkLease();
    await unchanged();
    return await publishModel(store, { runId, modelVersion: modelVersion!, owner });
  } catch (err) {
    if (err instanceof LeaseLostError) {
      log('warn', `run ${runId}: ${err.message}`);
      throw err;
    }
    await failRun(store, { runId, step, error: err, owner }).catch((recordErr: unknown) =>
      // The store may be down: the lease then lapses and the run is resumed by the next start or sweep.
      log('error', `run ${runId}: could not record the failure of step ${step} (${(recordErr as Error).message}); it will be resumed once its lease expires`),
    );
    throw err;
  } finally {
    clearInterval(heartbeat);
  }
}
