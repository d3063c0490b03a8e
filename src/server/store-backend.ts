import { basename } from 'node:path';
import { z } from 'zod';
import { RequestError } from '../errors.ts';
import { failRun, getRun, runSteps, startRun, takeOverStaleRun } from '../pipeline/cloud/index.ts';
import { PREFIX } from '../pipeline/layout.ts';
import type { PredictorOptions } from '../pipeline/predictor.ts';
import { resolveRunOptions, type RunOptions } from '../pipeline/run-options.ts';
import { DEFAULT_LEASE_MS, holdRuns, isStale, LeaseLostError, newRunOwner, releaseRunOwner, renewLease, TERMINAL_STATES, type RunRecord } from '../pipeline/run-record.ts';
import type { ObjectStore, ObjectVersion } from '../storage/object-store.ts';
import { log } from '../util/log.ts';
import type { ApiBackend } from './api-router.ts';
import type { BackgroundRuns } from './background-runs.ts';
import { createLivePredictor } from './live-predictor.ts';
import { RunWorkerExitError, startRunWorker, storeSpecOf, type RunWorker, type StoreSpec } from './run-worker.ts';

const trainBody = z.strictObject({
  datasetKey: z.string().min(1).max(1024),
  options: z.unknown().optional(),
});

/** Options of {@link createStoreBackend}. */
export interface StoreBackendOptions {
  /** Defaults for runs started here (e.g. the embedding model source). */
  readonly runDefaults?: Partial<RunOptions>;
  /**
   * Model sources `POST /train` may name in `options.modelSource`.
   * @default only the default model source (`runDefaults.modelSource`)
   */
  readonly allowedModelSources?: readonly string[];
  readonly predictor?: PredictorOptions;
  /**
   * How long a read of `models/live.json` is trusted before it is read again. 0 reads it on
   * every prediction (local); the Lambda uses a few seconds to save S3 requests.
   * @default 0
   */
  readonly pointerTtlMs?: number;
  /**
   * Runs worked on at once; more wait in a queue (in the order they were started, which is
   * also the order they publish in).
   * @default 1
   */
  readonly concurrency?: number;
  /**
   * Lease of the runs this backend owns, renewed every third of it. A run whose owner stops
   * renewing (a crash, the store unreachable) is stale after this long and is resumed.
   * @default 60 s
   */
  readonly leaseMs?: number;
  /**
   * Where a run's steps work: in a fresh child process per run that opens the store from this
   * description (see `run-worker.ts`: the server keeps answering, and an aborted ML backend
   * cannot affect the next run), or `false` for this process's event loop (tests, custom stores).
   * @default a child process for a directory store, this process for any other store
   */
  readonly worker?: StoreSpec | false;
}

/** Options of the `datasets/` watcher. */
export interface WatchOptions {
  /** How often `datasets/` is listed. @default 1000 ms */
  readonly intervalMs?: number;
  /**
   * A file is taken once its size, modification time and version have not changed for this
   * long (and still match after it was read).
   * @default 5000 ms
   */
  readonly quietMs?: number;
}

/** Names the watcher leaves alone: uploads in progress by convention (`.x.tsv`, `x.tsv.tmp`, `x.tsv.part`, ...). */
export function isTemporaryName(key: string): boolean {
  const name = basename(key);
  return name.startsWith('.') || name.endsWith('~') || /\.(tmp|temp|part|partial|crdownload|swp|filepart)$/i.test(name);
}

/**
 * The local face of the cloud flow over a store (a directory or an S3 bucket): `/train`
 * starts the same steps in-process, `/runs/{id}` reads the run record, `/predict` uses the
 * model `models/live.json` names, reloaded when the pointer changes.
 *
 * Runs go through a queue (`concurrency` at once). Every run this backend starts or takes
 * over is leased to it and the lease is renewed while it waits or works, so after a crash the
 * next start ({@link recoverRuns}) or a sweep of another process finds the run stale and
 * resumes it.
 */
export function createStoreBackend(store: ObjectStore, options: StoreBackendOptions = {}): ApiBackend & BackgroundRuns & {
  /** Resolves when every run started through this backend has ended (queued ones included). */
  idle(): Promise<void>;
  /** Version of the live model last used, if any. */
  modelVersion(): Promise<string | undefined>;
  /** Polls `datasets/` and starts a run for each complete new content (see {@link WatchOptions}). Returns a stop function. */
  watchDatasets(watch?: WatchOptions): () => void;
  /** Resumes (or, after too many attempts, marks FAILED) every stale run in the store. */
  recoverRuns(): Promise<{ resumed: string[]; failed: string[] }>;
  /** Runs {@link recoverRuns} now and then every lease period; returns a stop function. */
  sweepStaleRuns(): () => void;
  close(): Promise<void>;
} {
  const { concurrency = 1, leaseMs = DEFAULT_LEASE_MS } = options;
  if (!(Number.isInteger(concurrency) && concurrency >= 1)) throw new RequestError(`concurrency must be an integer of at least 1, got ${concurrency}.`);
  const owner = newRunOwner(leaseMs);
  const workerSpec = options.worker === undefined ? storeSpecOf(store) : options.worker || undefined;
  const live = createLivePredictor(store, { predictor: options.predictor, pointerTtlMs: options.pointerTtlMs });

  // The queue: runs leased to this backend that wait for a slot, in start order.
  const queue: { runId: string; datasetBytes?: Uint8Array }[] = [];
  const active = new Map<string, Promise<unknown>>();
  const workers = new Map<string, RunWorker>();
  let closing = false;
  // This process holds exactly the runs it queues or works on: another backend of this process
  // may take over a run of ours only once we let it go (see isStale).
  holdRuns(owner, (runId) => active.has(runId) || queue.some((q) => q.runId === runId));
  // Renews the leases of queued and working runs from here, on a timer no step can hold up;
  // started with the first run. A lost lease drops a queued run and stops a working one at once.
  let heartbeat: NodeJS.Timeout | undefined;
  const renewing = new Set<string>();
  const renewAll = () => {
    for (const runId of [...queue.map((q) => q.runId), ...active.keys()]) {
      if (renewing.has(runId)) continue; // the store is slow: one renewal per run at a time
      renewing.add(runId);
      renewLease(store, runId, owner)
        .catch((err: unknown) => {
          if (err instanceof LeaseLostError) {
            dropQueued(runId);
            // A run its worker has just finished (SUCCEEDED, FAILED) is not lost: the worker is exiting.
            void getRun(store, runId)
              .then((r) => (TERMINAL_STATES.has(r.state) ? undefined : workers.get(runId)?.stop(err.message)))
              .catch(() => workers.get(runId)?.stop(err.message));
          } else log('warn', `run ${runId}: could not renew its lease (${(err as Error).message}); retrying`);
        })
        .finally(() => renewing.delete(runId));
    }
  };

  function dropQueued(runId: string) {
    const i = queue.findIndex((q) => q.runId === runId);
    if (i >= 0) queue.splice(i, 1);
  }

  function enqueue(runId: string, datasetBytes?: Uint8Array) {
    if (active.has(runId) || queue.some((q) => q.runId === runId)) return;
    queue.push({ runId, datasetBytes });
    if (!heartbeat) {
      heartbeat = setInterval(renewAll, Math.max(50, Math.floor(leaseMs / 3)));
      heartbeat.unref();
    }
    if (queue.length + active.size > concurrency) log('info', `run ${runId} queued (${active.size} running, ${queue.length} waiting)`);
    pump();
  }

  function pump() {
    while (!closing && active.size < concurrency && queue.length) {
      const { runId, datasetBytes } = queue.shift()!;
      const work = steps(runId, datasetBytes).then(
        (r) => log('info', `run ${r.runId} ${r.state}${r.publication && !r.publication.live ? ` (not published: ${r.publication.reason})` : ''}`),
        (err: Error) => log(err instanceof LeaseLostError ? 'warn' : 'error', `run ${runId} ${err instanceof LeaseLostError ? 'stopped here' : 'failed'}: ${err.message}`),
      );
      active.set(runId, work);
      void work.finally(() => {
        active.delete(runId);
        workers.delete(runId);
        pump();
      });
    }
  }

  /** A run's steps: in a child process of its own (see run-worker.ts), or here without a worker spec. */
  async function steps(runId: string, datasetBytes?: Uint8Array): Promise<RunRecord> {
    if (!workerSpec) return runSteps(store, runId, { datasetBytes, owner });
    const worker = startRunWorker({ store: workerSpec, runId, owner: { id: owner.id, leaseMs: owner.leaseMs }, datasetBytes });
    workers.set(runId, worker);
    try {
      return await worker.result;
    } catch (err) {
      // The process died without recording why (killed, out of memory, a native crash): record it here.
      if (err instanceof RunWorkerExitError) {
        await failRun(store, { runId, step: 'worker', error: err, owner }).catch((recordErr: unknown) =>
          log('error', `run ${runId}: could not record the failure (${(recordErr as Error).message}); it will be resumed once its lease expires`),
        );
      }
      throw err;
    }
  }

  // Per dataset key, the version last started here (by POST /train, an upload or the watcher).
  const startedVersions = new Map<string, string>();

  /** Registers the run (so the caller gets its id), then queues its steps. */
  async function start(datasetKey: string, requested: unknown, read?: { bytes: Uint8Array; version: ObjectVersion }) {
    const runOptions = resolveRunOptions(requested, { defaults: options.runDefaults, allowedModelSources: options.allowedModelSources });
    const started = await startRun(store, { datasetKey, options: runOptions, datasetBytes: read?.bytes, datasetVersion: read?.version, owner });
    // The watcher must not start this content again (a run that FAILED quickly would be restarted).
    const etag = read?.version.etag ?? (await getRun(store, started.runId).catch(() => undefined))?.datasetVersion?.etag;
    if (etag) startedVersions.set(datasetKey, etag);
    if (!started.duplicate) enqueue(started.runId, read?.bytes);
    return { runId: started.runId, duplicate: started.duplicate };
  }

  async function recoverRuns() {
    const resumed: string[] = [];
    const failed: string[] = [];
    for (const key of await store.list(PREFIX.runs)) {
      const runId = /^runs\/([\w-]+)\/status\.json$/.exec(key)?.[1];
      if (!runId || active.has(runId) || queue.some((q) => q.runId === runId)) continue;
      try {
        const record: RunRecord = await getRun(store, runId);
        if (TERMINAL_STATES.has(record.state) || !isStale(record)) continue;
        const outcome = await takeOverStaleRun(store, runId, { owner, seen: record });
        if (outcome === 'taken') {
          resumed.push(runId);
          enqueue(runId);
        } else if (outcome === 'failed') failed.push(runId);
      } catch (err) {
        log('error', `recovering run ${runId}: ${(err as Error).message}`);
      }
    }
    if (resumed.length || failed.length) log('info', `stale runs: resumed ${resumed.join(', ') || 'none'}; marked FAILED ${failed.join(', ') || 'none'}`);
    return { resumed, failed };
  }

  const stoppers = new Set<() => void>();

  return {
    predict: (pairs) => live.predict(pairs),
    async startTraining(body) {
      const parsed = trainBody.safeParse(body);
      if (!parsed.success) {
        throw new RequestError(`Invalid /train body: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')}. Send {"datasetKey": "datasets/<file>", "options": {...}}.`);
      }
      return start(parsed.data.datasetKey, parsed.data.options);
    },
    getRun: (runId) => getRun(store, runId),
    modelVersion: () => live.modelVersion(),
    // Runs being worked on; queued ones are not started once closing and stay leased to this
    // process, so the next serve on the store resumes them.
    inFlightRuns: () => [...active.keys()],
    async interruptRuns(reason) {
      // The operator will not wait: record the working runs FAILED rather than leave them to be resumed.
      const error = { name: 'Interrupted', message: reason };
      queue.length = 0;
      for (const worker of workers.values()) worker.stop(reason);
      await Promise.allSettled([...active.keys()].map((runId) => failRun(store, { runId, step: 'interrupted', error, owner })));
    },
    async idle() {
      while (active.size || (queue.length && !closing)) await Promise.allSettled([...active.values()]);
    },
    recoverRuns,
    sweepStaleRuns() {
      let busy = false;
      let sweepProblem: string | undefined;
      const sweep = async () => {
        if (busy) return;
        busy = true;
        await recoverRuns()
          .then(() => (sweepProblem = undefined))
          .catch((err: Error) => {
            if (err.message !== sweepProblem) log('error', `sweeping stale runs: ${err.message}; retrying quietly until it works`);
            sweepProblem = err.message;
          })
          .finally(() => (busy = false));
      };
      const timer = setInterval(() => void sweep(), leaseMs);
      timer.unref();
      void sweep();
      const stop = () => clearInterval(timer);
      stoppers.add(stop);
      return stop;
    },
    watchDatasets({ intervalMs = 1000, quietMs = 5000 }: WatchOptions = {}) {
      // Per key: the version seen and since when (a file is taken once quiet), the version
      // already handled (so a changed file is looked at again: its content decides the run),
      // and the last problem logged (so a bad entry is logged once, not on every pass).
      const seen = new Map<string, { etag: string; since: number }>();
      const handled = new Map<string, string>();
      const problems = new Map<string, string>();
      const problem = (key: string, message: string) => {
        if (problems.get(key) === message) return;
        problems.set(key, message);
        log('warn', `skipping ${key}: ${message}`);
      };
      let busy = false;
      let listProblem: string | undefined;
      const tick = async () => {
        if (busy) return;
        busy = true;
        try {
          for (const key of await store.list(PREFIX.datasets)) {
            if (closing) break;
            if (isTemporaryName(key)) continue;
            try {
              const version = await store.head(key);
              if (!version) {
                problem(key, 'it is listed but cannot be read (a dangling symbolic link, or removed)');
                continue;
              }
              if (handled.get(key) === version.etag || startedVersions.get(key) === version.etag) continue;
              const last = seen.get(key);
              if (!last || last.etag !== version.etag) {
                seen.set(key, { etag: version.etag, since: Date.now() });
                continue;
              }
              if (Date.now() - last.since < quietMs) continue;
              // Quiet long enough: read it, and take it only if it did not change meanwhile.
              const bytes = await store.get(key);
              const after = await store.head(key);
              if (!after || after.etag !== version.etag || after.size !== bytes.byteLength) {
                seen.delete(key);
                continue;
              }
              handled.set(key, version.etag);
              seen.delete(key);
              problems.delete(key);
              const run = await start(key, undefined, { bytes, version: after });
              log('info', run.duplicate ? `dataset ${key} is run ${run.runId}, already there` : `dataset ${key} started run ${run.runId}`);
            } catch (err) {
              problem(key, (err as Error).message);
            }
          }
          if (listProblem) log('info', `${PREFIX.datasets} can be listed again`);
          listProblem = undefined;
        } catch (err) {
          // Logged once, not on every pass while the store is down (ECONNREFUSED every second).
          const message = (err as Error).message;
          if (message !== listProblem) log('error', `watching ${PREFIX.datasets}: ${message}; retrying quietly until it works`);
          listProblem = message;
        } finally {
          busy = false;
        }
      };
      const timer = setInterval(() => void tick(), intervalMs);
      void tick();
      const stop = () => clearInterval(timer);
      stoppers.add(stop);
      return stop;
    },
    async close() {
      closing = true;
      for (const stop of stoppers) stop();
      if (queue.length) log('info', `${queue.length} queued runs not started; the next serve on this store resumes them`);
      await this.idle();
      clearInterval(heartbeat);
      releaseRunOwner(owner);
      await live.dispose();
    },
  };
}
