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

/**
 * Predicts with the model `models/live.json` of `store` names: loaded on first use and again
 * when the pointer changes (the old model disposed), a failed load retried on the next call.
 * Kept apart from the run steps, so the predict Lambda's bundle holds prediction alone.
 *
 * @example
 * const live = createLivePredictor(store, { pointerTtlMs: 30_000 });
 * await live.predict([{ sentence1: 'A cat sat.', sentence2: 'A cat was sitting.' }]);
 */
export function createLivePredictor(store: ObjectStore, options: LivePredictorOptions = {}): LivePredictor {
  let current: { version: string; predictor: Promise<Predictor> } | undefined;
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

  return {
    async predict(pairs) {
      return (await livePredictor()).predict(pairs);
    },
    async modelVersion() {
      return (await readPointer())?.version;
    },
    async dispose() {
      if (current) await (await current.predictor.catch(() => undefined))?.dispose();
    },
  };
}
