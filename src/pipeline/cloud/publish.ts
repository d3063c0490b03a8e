/**
 * Step 6, publish: points models/live.json at the trained version, in the order runs were
 * started (compare-and-swap), and records the run SUCCEEDED.
 *
 * IAM (the publish function): s3:GetObject + s3:PutObject on runs/*, s3:GetObject on
 * models/*, s3:PutObject on models/live.json.
 */
import { NotFoundError, PreconditionFailedError } from '../../errors.ts';
import type { ObjectStore } from '../../storage/object-store.ts';
import { LIVE_MODEL_KEY, keys } from '../layout.ts';
import type { LiveModelPointer } from '../predictor.ts';
import { advanceRun, assertOwned, getRun, inProcessTurn, nowIso, RunStateError, type RunRecord } from '../run-record.ts';
import { modelComplete, type StepInput } from './common.ts';

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
        reason: `run ${livePointer.runId}, started after this one, has already published; its model stays live (this run's model is kept at ${pointer.prefix})` };
    }
    try {
      await store.putIf(LIVE_MODEL_KEY, JSON.stringify(pointer, null, 2) + '\n', live ? { ifMatch: live.etag } : { ifNoneMatch: '*' });
      return { live: true };
    } catch (err) {
      if (!(err instanceof PreconditionFailedError) || attempt >= 20) throw err;
    }
  }
}
