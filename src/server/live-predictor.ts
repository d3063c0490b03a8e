import { LIVE_MODEL_KEY } from '../pipeline/layout.ts';
import { loadPredictor, type LiveModelPointer, type Predictor, type PredictorOptions } from '../pipeline/predictor.ts';
import type { PredictResponse } from './predict-request.ts';
import { getJson, type ObjectStore } from '../storage/object-store.ts';

/** Options of {@link createLivePredictor}. */
export interface LivePredictorOptions {
  readonly predictor?: PredictorOptions;
  /**
   * How long a read of `models/live.json` is trusted before it is read again. 0 reads it on
   * every prediction (local); the Lambda uses a few seconds to save S3 requests.
   * @default 0
   */
  readonly pointerTtlMs?: number;
}

/** The published model of a store, reloaded when `models/live.json` changes. */
export interface LivePredictor {
  predict(pairs: readonly { sentence1: string; sentence2: string }[]): Promise<PredictResponse['predictions']>;
  /** Version `models/live.json` names, if any. */
  modelVersion(): Promise<string | undefined>;
  /** Releases the loaded model, if any. */
  dispose(): Promise<void>;
}

/** First wait after a failed load of a live model, doubled on each failure up to {@link MAX_RETRY_MS}. */
const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 60_000;

/** A loaded (or loading) model and the requests using it. */
interface Loaded {
  readonly version: string;
  readonly predictor: Promise<Predictor>;
  inFlight: number;
  retired: boolean;
}

/**
 * Predicts with the model `models/live.json` of `store` names: loaded on first use and again
 * when the pointer changes. The model swapped out is disposed once the requests that use it
 * have finished (never under them). A model that fails to load is not loaded again for the
 * same pointer before a backoff (1 s, doubling up to 1 min): the requests meanwhile get the
 * same error at once; a new pointer is tried at once. Kept apart from the run steps, so the
 * predict Lambda's bundle holds prediction alone.
 *
 * @example
 * const live = createLivePredictor(store, { pointerTtlMs: 30_000 });
 * await live.predict([{ sentence1: 'A cat sat.', sentence2: 'A cat was sitting.' }]);
 */
export function createLivePredictor(store: ObjectStore, options: LivePredictorOptions = {}): LivePredictor {
  let current: Loaded | undefined;
  let failed: { version: string; error: unknown; retryAt: number; waitMs: number } | undefined;
  let pointerRead: { at: number; pointer: LiveModelPointer | undefined } | undefined;

  async function readPointer(): Promise<LiveModelPointer | undefined> {
    const ttl = options.pointerTtlMs ?? 0;
    if (pointerRead && Date.now() - pointerRead.at < ttl) return pointerRead.pointer;
    const pointer = (await store.exists(LIVE_MODEL_KEY)) ? await getJson<LiveModelPointer>(store, LIVE_MODEL_KEY) : undefined;
    pointerRead = { at: Date.now(), pointer };
    return pointer;
  }

  function retire(entry: Loaded): Promise<void> {
    entry.retired = true;
    return entry.inFlight === 0 ? entry.predictor.then((p) => p.dispose()).catch(() => undefined) : Promise.resolve();
  }

  /** The live model's entry, counted as in use by the caller (synchronously with the choice, so a swap cannot dispose it first). */
  async function acquire(): Promise<Loaded> {
    const pointer = await readPointer();
    const version = pointer?.version ?? '';
    if (!current || current.version !== version) {
      if (failed?.version === version && Date.now() < failed.retryAt) throw failed.error;
      const previous = current;
      const entry: Loaded = { version, predictor: loadPredictor(store, { ...options.predictor, ...(pointer ? { modelPrefix: pointer.prefix } : {}) }), inFlight: 0, retired: false };
      current = entry;
      entry.predictor.then(
        () => {
          if (failed?.version === version) failed = undefined;
        },
        (error: unknown) => {
          if (current === entry) current = undefined;
          const waitMs = failed?.version === version ? Math.min(MAX_RETRY_MS, failed.waitMs * 2) : FIRST_RETRY_MS;
          failed = { version, error, retryAt: Date.now() + waitMs, waitMs };
        },
      );
      if (previous) void retire(previous);
    }
    current.inFlight++;
    return current;
  }

  return {
    async predict(pairs) {
      const entry = await acquire();
      try {
        return await (await entry.predictor).predict(pairs);
      } finally {
        entry.inFlight--;
        if (entry.retired && entry.inFlight === 0) void entry.predictor.then((p) => p.dispose()).catch(() => undefined);
      }
    },
    async modelVersion() {
      return (await readPointer())?.version;
    },
    async dispose() {
      if (current) {
        const last = current;
        current = undefined;
        await retire(last);
      }
    },
  };
}
