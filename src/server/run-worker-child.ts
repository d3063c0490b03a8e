/**
 * The process {@link startRunWorker} forks for one run: reads the request from the IPC
 * channel, runs the run's steps as the coordinator's owner, answers, exits. Started as
 * `node bin/run-ts.js src/server/run-worker-child.ts`; nothing here is a CLI.
 */
import { runSteps } from '../pipeline/cloud-steps.ts';
import { LeaseLostError } from '../pipeline/run-record.ts';
import { log } from '../util/log.ts';
import { openStoreSpec, type RunWorkerReply, type RunWorkerRequest } from './run-worker.ts';

if (!process.send) {
  process.stderr.write('simpair: run-worker-child is started by `simpair serve --store`, not by hand.\n');
  process.exit(2);
}

// The coordinator went away (killed, crashed): nobody renews the lease any more, stop now.
process.on('disconnect', () => process.exit(70));

const answer = (reply: RunWorkerReply) =>
  new Promise<void>((resolve) => {
    if (!process.connected) return resolve();
    process.send!(reply, undefined, {}, () => resolve());
  });

process.once('message', (request: RunWorkerRequest) => {
  void (async () => {
    try {
      const store = await openStoreSpec(request.store);
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
