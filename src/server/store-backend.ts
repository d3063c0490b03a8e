import { createHash } from 'node:crypto';
import { z } from 'zod';
import { RequestError } from '../errors.ts';
import { failRun, getRun, runSteps, startRun, type RunOptions } from '../pipeline/cloud-steps.ts';
import { LIVE_MODEL_KEY, PREFIX } from '../pipeline/layout.ts';
import { loadPredictor, type LiveModelPointer, type Predictor, type PredictorOptions } from '../pipeline/predictor.ts';
import { getJson, type ObjectStore } from '../storage/object-store.ts';
import { log } from '../util/log.ts';
import type { ApiBackend } from './api-router.ts';
import type { BackgroundRuns } from './background-runs.ts';

const trainBody = z.object({
  datasetKey: z.string().min(1),
  options: z
    .object({ maxLen: z.number().int(), epochs: z.number().int(), batchSize: z.number().int(), modelSource: z.string(), shardSize: z.number().int(), padding: z.enum(['max-length', 'masked']) })
    .partial()
    .optional(),
});

/** Options of {@link createStoreBackend}. */
export interface StoreBackendOptions {
  /** Defaults for runs started here (e.g. the embedding model source). */
  readonly runDefaults?: Partial<RunOptions>;
  readonly predictor?: PredictorOptions;
  /**
   * How long a read of `models/live.json` is trusted before it is read again. 0 reads it on
   * every prediction (local); the Lambda uses a few seconds to save S3 requests.
   * @default 0
   */
  readonly pointerTtlMs?: number;
}

/**
 * The local face of the cloud flow over a store (a directory or an S3 bucket): `/train`
 * starts the same steps in-process, `/runs/{id}` reads the run record, `/predict` uses the
 * model `models/live.json` names, reloaded when the pointer changes.
 */
export function createStoreBackend(store: ObjectStore, options: StoreBackendOptions = {}): ApiBackend & BackgroundRuns & {
  /** Resolves when every run started through this backend has ended. */
  idle(): Promise<void>;
  /** Version of the live model last used, if any. */
  modelVersion(): Promise<string | undefined>;
  /** Polls `datasets/` and starts a run for each new object (duplicates are skipped by content). */
  watchDatasets(intervalMs?: number): () => void;
  close(): Promise<void>;
} {
  let current: { version: string; predictor: Promise<Predictor> } | undefined;
  const running = new Set<Promise<unknown>>();
  /** Run ids whose steps run in this process right now (for shutdown). */
  const inFlight = new Set<string>();

  let pointerRead: { at: number; pointer: LiveModelPointer | undefined } | undefined;
  async function readPointer(): Promise<LiveModelPointer | undefined> {
    const ttl = options.pointerTtlMs ?? 0;
    if (pointerRead && Date.now() - pointerRead.at < ttl) return pointerRead.pointer;
    const pointer = (await store.exists(LIVE_MODEL_KEY)) ? await getJson<LiveModelPointer>(store, LIVE_MODEL_KEY) : undefined;
    pointerRead = { at: Date.now(), pointer };
    return pointer;
  }

  async function livePredictor(): Promise<Predictor> {
    const pointer = await readPointer();
    const version = pointer?.version ?? '';
    if (!current || current.version !== version) {
      const previous = current;
      current = { version, predictor: loadPredictor(store, { ...options.predictor, ...(pointer ? { modelPrefix: pointer.prefix } : {}) }) };
      current.predictor.catch(() => (current = undefined));
      previous?.predictor.then((p) => p.dispose()).catch(() => undefined);
    }
    return current.predictor;
  }

  function track<T>(p: Promise<T>): Promise<T> {
    running.add(p);
    p.finally(() => running.delete(p)).catch(() => undefined);
    return p;
  }

  return {
    async predict(pairs) {
      return (await livePredictor()).predict(pairs);
    },
    async startTraining(body) {
      const parsed = trainBody.safeParse(body);
      if (!parsed.success) {
        throw new RequestError(`Invalid /train body: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')}. Send {"datasetKey": "datasets/<file>"}.`);
      }
      return startInBackground(parsed.data.datasetKey, parsed.data.options);
    },
    getRun: (runId) => getRun(store, runId),
    async modelVersion() {
      return (await readPointer())?.version;
    },
    inFlightRuns: () => [...inFlight],
    async interruptRuns(reason) {
      const error = { name: 'Interrupted', message: reason };
      await Promise.allSettled([...inFlight].map((runId) => failRun(store, { runId, step: 'interrupted', error })));
    },
    async idle() {
      while (running.size) await Promise.allSettled([...running]);
    },
    watchDatasets(intervalMs = 2000) {
      const started = new Set<string>();
      // A file being copied into datasets/ is seen half-written: start a run only once the
      // same bytes were read on two ticks in a row.
      const pending = new Map<string, string>();
      let busy = false;
      const tick = async () => {
        if (busy) return;
        busy = true;
        try {
          for (const key of await store.list(PREFIX.datasets)) {
            if (started.has(key)) continue;
            const digest = createHash('sha256').update(await store.get(key)).digest('hex');
            if (pending.get(key) !== digest) {
              pending.set(key, digest);
              continue;
            }
            pending.delete(key);
            started.add(key);
            const run = await startInBackground(key).catch((err: Error) => log('error', `dataset ${key}: ${err.message}`));
            if (run && !run.duplicate) log('info', `dataset ${key} started run ${run.runId}`);
          }
        } catch (err) {
          log('error', `watching ${PREFIX.datasets}: ${(err as Error).message}`);
        } finally {
          busy = false;
        }
      };
      const timer = setInterval(() => void tick(), intervalMs);
      void tick();
      return () => clearInterval(timer);
    },
    async close() {
      await this.idle();
      if (current) await (await current.predictor.catch(() => undefined))?.dispose();
    },
  };

  /** Registers the run synchronously (so the caller gets its id), then runs the steps in the background. */
  async function startInBackground(datasetKey: string, runOptions: Partial<RunOptions> = {}) {
    const merged = { ...options.runDefaults, ...runOptions };
    const started = await startRun(store, { datasetKey, options: merged });
    if (!started.duplicate) {
      inFlight.add(started.runId);
      track(
        runSteps(store, started.runId).finally(() => inFlight.delete(started.runId)).then(
          (r) => log('info', `run ${r.runId} ${r.state}`),
          (err: Error) => log('error', `run ${started.runId} failed: ${err.message}`),
        ),
      );
    }
    return started;
  }
}
