/**
 * The process {@link startRunWorker} forks for one run: reads the request from the IPC
 * channel, runs the run's steps as the coordinator's owner, answers, exits. Started as
 * `node bin/run-ts.js src/server/run-worker-child.ts`; nothing here is a CLI.
 */
import { assertRunFitsMemory, MemoryBudgetError } from '../classifier/memory-budget.ts';
import { initTfBackend } from '../classifier/tf-backend.ts';
import { readHiddenSize } from '../embedder/bert-embedder.ts';
import { failRun, runSteps } from '../pipeline/cloud/index.ts';
import { getRun, LeaseLostError, type RunOwner } from '../pipeline/run-record.ts';
import { resolveModelSource } from '../model-source/index.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { log } from '../util/log.ts';
import { openStoreSpec, type RunWorkerReply, type RunWorkerRequest } from './run-worker.ts';

if (!process.send) {
  process.stderr.write('simpair: run-worker-child is started by `simpair serve --store`, not by hand.\n');
  process.exit(2);
}

// The coordinator went away (killed, crashed): nobody renews the lease any more, stop now.
process.on('disconnect', () => process.exit(70));
// Ctrl-C in a terminal signals the whole process group: serve decides (it waits for this run
// on the first signal, and ends it on the second), so the worker does not die of it by itself.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => undefined);

const answer = (reply: RunWorkerReply) =>
  new Promise<void>((resolve) => {
    if (!process.connected) return resolve();
    process.send!(reply, undefined, {}, () => resolve());
  });

/**
 * Before any step: a run not trained yet must fit what the TF.js backend can address (see
 * memory-budget.ts); one that cannot is recorded FAILED with the option to lower, instead of
 * aborting the backend mid-run. A batch is at most the dataset's rows.
 */
async function preflight(store: ObjectStore, runId: string, owner: RunOwner, datasetBytes?: Uint8Array): Promise<void> {
  const run = await getRun(store, runId);
  if (!['STARTED', 'VALIDATED', 'EMBEDDED'].includes(run.state)) return;
  const { maxLen, batchSize, shardSize, modelSource } = run.options;
  let rows = run.counts?.rows;
  if (rows === undefined) {
    const bytes = datasetBytes ?? (await store.get(run.datasetKey).catch(() => undefined));
    rows = bytes ? Buffer.from(bytes).toString('utf8').split('\n').length : batchSize;
  }
  const hidden = await readHiddenSize((await resolveModelSource(modelSource)).dir);
  const { backend } = await initTfBackend();
  try {
    assertRunFitsMemory({ backend, batchSize: Math.min(batchSize, rows), maxLen, hidden, shardSize: Math.min(shardSize, rows) }, { batchSize: 'batchSize', maxLen: 'maxLen', shardSize: 'shardSize' });
  } catch (err) {
    if (err instanceof MemoryBudgetError) await failRun(store, { runId, step: 'validate', error: err, owner });
    throw err;
  }
}

process.once('message', (request: RunWorkerRequest) => {
  void (async () => {
    try {
      const store = await openStoreSpec(request.store);
      await preflight(store, request.runId, request.owner, request.datasetBytes);
      const record = await runSteps(store, request.runId, { owner: request.owner, datasetBytes: request.datasetBytes });
      await answer({ type: 'done', record });
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      if (!(err instanceof LeaseLostError)) log('debug', `run ${request.runId}: worker error ${e.stack ?? e.message}`);
      await answer({ type: 'error', name: e.name, message: e.message, leaseLost: err instanceof LeaseLostError });
    }
    process.exit(0);
  })();
});
