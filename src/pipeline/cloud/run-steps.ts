/**
 * The whole flow in-process, in order (the local face of the state machine): the local
 * server and CLI call these; they may read everything in the store, so they also check the
 * dataset is unchanged before each step after validation.
 */
import { DatasetChangedError } from '../../errors.ts';
import { getJson, type ObjectStore } from '../../storage/object-store.ts';
import { log } from '../../util/log.ts';
import { PREFIX, keys } from '../layout.ts';
import type { RunOptions } from '../run-options.ts';
import { assertOwned, getRun, LeaseLostError, processRunOwner, renewLease, type RunOwner, type RunRecord } from '../run-record.ts';
import { embeddingIdOf, embeddingsStored, modelComplete, sha256, sidecarKey, type ShardRef } from './common.ts';
import { startRun } from './start.ts';
import { validateAndSplit } from './validate.ts';
import { embedShard } from './embed.ts';
import { finalizeEmbeddings } from './finalize.ts';
import { trainRun } from './train.ts';
import { publishModel } from './publish.ts';
import { failRun } from './fail.ts';

/**
 * Throws {@link DatasetChangedError} when the run's dataset object now holds other bytes than
 * the run read (an overwrite, or the rest of a slow upload): its model must not go live.
 * In-process only ({@link runSteps}, which may read `datasets/`): the cloud steps after
 * validation may not, and rely on the next start failing the run instead
 * ({@link supersedeRunsOfReplacedContent}).
 */
export async function assertDatasetUnchanged(store: ObjectStore, run: RunRecord): Promise<void> {
  const now = await store.head(run.datasetKey);
  if (!now || !run.datasetVersion || now.etag === run.datasetVersion.etag) return; // deleted after reading, or nothing to compare
  if (now.size === run.datasetVersion.size && sha256(await store.get(run.datasetKey)) === run.datasetSha256) return; // rewritten with the same bytes
  throw new DatasetChangedError(
    `${run.datasetKey} was replaced after run ${run.runId} read it (${run.datasetVersion.size} bytes then, ${now.size} now); this run stops and the new content gets its own run.`,
  );
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
      if (await embeddingsStored(store, run)) return 'train';
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
    // Embeddings already stored (by a run with other training options): straight to training.
    let reuse = false;
    if (at('validate')) ({ shards, embeddingsReady: reuse } = await validateAndSplit(store, { runId, datasetBytes: options.datasetBytes, owner }));
    checkLease();
    if (at('embed') && !reuse) {
      step = 'embed';
      shards ??= await getJson<ShardRef[]>(store, keys.shardList(runId));
      const embeddingId = embeddingIdOf(run);
      const done = new Set(await store.list(`${keys.embeddings(embeddingId)}parts/`));
      for (const shard of shards) {
        checkLease();
        if (!done.has(sidecarKey(embeddingId, shard.index))) await embedShard(store, { runId, shard, owner });
      }
    }
    // The dataset may have been replaced while this run worked (the cloud learns it from the
    // replacement's start; here the steps may read the dataset, so each checks it first).
    const unchanged = async () => assertDatasetUnchanged(store, await getRun(store, runId));
    if (at('finalize') && !reuse) {
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
