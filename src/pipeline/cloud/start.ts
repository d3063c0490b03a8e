/**
 * Step 1, start: registers a run for a dataset object (the run id derives from its content
 * and the effective options), takes over stale runs, and fails the runs still working on
 * content that the dataset key no longer holds.
 *
 * IAM (the validate function, and POST /train's function): s3:GetObject on datasets/*
 * (reads the dataset), s3:GetObject + s3:PutObject on runs/* (the run record, runs/by-key/).
 */
import { DatasetChangedError, NotFoundError, PreconditionFailedError, RequestError, SimpairError } from '../../errors.ts';
import type { ObjectStore, ObjectVersion } from '../../storage/object-store.ts';
import { log } from '../../util/log.ts';
import { PREFIX, keys } from '../layout.ts';
import { checkOptions, DEFAULT_RUN_OPTIONS, runIdFor, type RunOptions } from '../run-options.ts';
import {
  createRun,
  getRun,
  inProcessTurn,
  isStale,
  leaseFor,
  processRunOwner,
  nowIso,
  readRun,
  recordRunFailure,
  TERMINAL_STATES,
  updateRun,
  type RunOwner,
  type RunRecord,
  type RunState,
} from '../run-record.ts';
import { sha256 } from './common.ts';

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
  /** Who asked (the API caller), recorded in a run this start creates or restarts. */
  requestedBy?: RunRecord['requestedBy'];
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
  const started = await inProcessTurn(store, `start:${runId}`, () => decideStart(store, { runId, datasetKey, datasetSha256, datasetVersion, options, owner, maxAttempts, requestedBy: input.requestedBy }));
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
      message: `${datasetKey} was replaced after run ${old} read it (new content started run ${runId}); this run stops and the new content gets its own run.` });
    if (failed.state === 'FAILED' && failed.error?.name === 'DatasetChangedError') log('info', `run ${old} stopped: ${datasetKey} was replaced (new content: run ${runId})`);
  }
}

/** The step a run in a given state works on next. */
const STEP_OF_STATE: Partial<Record<RunState, string>> = { STARTED: 'validate', VALIDATED: 'embed', EMBEDDED: 'train', TRAINED: 'publish' };

async function decideStart(
  store: ObjectStore,
  {
    runId,
    datasetKey,
    datasetSha256,
    datasetVersion,
    options,
    owner,
    maxAttempts,
    requestedBy,
  }: { runId: string; datasetKey: string; datasetSha256: string; datasetVersion: RunRecord['datasetVersion']; options: RunOptions; owner: RunOwner; maxAttempts: number; requestedBy?: RunRecord['requestedBy'] },
): Promise<StartRunResult> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const existing = await readRun(store, runId);
    if (!existing) {
      const at = nowIso();
      const record: RunRecord = { runId, datasetKey, datasetSha256, datasetVersion, state: 'STARTED', options, attempt: 1, lease: leaseFor(owner), startedAt: at, createdAt: at, updatedAt: at, ...(requestedBy ? { requestedBy } : {}) };
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
        return {
          runId,
          datasetKey,
          datasetSha256,
          datasetVersion,
          state: 'STARTED',
          options,
          attempt: current.attempt + 1,
          lease: leaseFor(owner),
          startedAt: at,
          createdAt: current.createdAt,
          updatedAt: at,
          ...(requestedBy ? { requestedBy } : {}),
        };
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
