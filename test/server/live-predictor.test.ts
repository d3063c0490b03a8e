import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLivePredictor } from '../../src/server/live-predictor.ts';
import { FsObjectStore } from '../../src/storage/fs-object-store.ts';
import type { ObjectStore } from '../../src/storage/object-store.ts';
import { writeTinyModel } from '../helpers/tiny-model.ts';

let root: string;
let store: FsObjectStore;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'simpair-live-'));
  store = new FsObjectStore(root);
  await writeTinyModel(join(root, 'models', 'v1'), { seed: 1 });
  await writeTinyModel(join(root, 'models', 'v2'), { seed: 2 });
});
afterAll(() => rm(root, { recursive: true, force: true }));

const point = (s: ObjectStore, version: string) => s.put('models/live.json', JSON.stringify({ version, prefix: `models/${version}/`, runId: `run-${version}`, publishedAt: new Date().toISOString() }));
const pairs = [{ sentence1: 'A cat sits on the mat.', sentence2: 'The cat is sitting on a mat.' }];
// Requests long enough to be in flight when the model is swapped.
const manyPairs = Array.from({ length: 16 }, (_, i) => ({ sentence1: `A cat sits on mat number ${i}.`, sentence2: `The cat is sitting on a mat, ${i}.` }));

describe('the live predictor across model swaps', () => {
  it('8 clients predicting while live.json swaps back and forth: every request is answered, none meets a disposed session', async () => {
    await point(store, 'v1');
    const live = createLivePredictor(store);
    let swapping = true;
    const failures: string[] = [];
    let answered = 0;
    const client = async () => {
      while (swapping) {
        try {
          const [p] = await live.predict(manyPairs);
          expect(p.probability).toBeGreaterThanOrEqual(0);
          answered++;
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
    };
    const clients = Array.from({ length: 8 }, client);
    for (let i = 0; i < 30; i++) {
      await new Promise((r) => setTimeout(r, 15));
      await point(store, i % 2 ? 'v1' : 'v2');
    }
    swapping = false;
    await Promise.all(clients);
    await live.dispose();
    expect(failures, `${failures.length} of ${answered + failures.length} failed`).toEqual([]);
    expect(answered).toBeGreaterThan(30);
  });

  it('a long request on the old model finishes after live.json moved on and a request loaded the new one', async () => {
    await point(store, 'v1');
    const live = createLivePredictor(store);
    await live.predict(pairs); // v1 loaded
    const long = Array.from({ length: 3000 }, (_, i) => ({ sentence1: `Sentence ${i} about a cat.`, sentence2: `Another sentence ${i}.` }));
    const inFlight = live.predict(long);
    await point(store, 'v2');
    const [onNew] = await live.predict(pairs); // loads v2 and retires v1 while the long request runs on it
    expect(onNew.probability).toBeGreaterThanOrEqual(0);
    expect(await inFlight).toHaveLength(3000);
    await live.dispose();
  });

  it('a broken live model is loaded again with backoff, not on every request', async () => {
    let reads = 0;
    // The real store, counting the reads of the broken model's files.
    const counting: ObjectStore = new Proxy(store, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          if (typeof args[0] === 'string' && args[0].startsWith('models/broken/') && (prop === 'get' || prop === 'getVersioned')) reads++;
          return value.apply(target, args);
        };
      },
    });
    await store.put('models/broken/metadata.json', '{ not json');
    await store.put('models/broken/model.json', '{ not json');
    await point(store, 'broken');
    const live = createLivePredictor(counting);
    const errors: string[] = [];
    for (let i = 0; i < 50; i++) await live.predict(pairs).catch((err: Error) => errors.push(err.message));
    expect(errors).toHaveLength(50);
    // 50 requests in well under the first backoff (1 s): one load (a few reads), not 50.
    expect(reads).toBeGreaterThan(0);
    expect(reads).toBeLessThan(10);
    expect(errors[49]).toBe(errors[0]);
    // A new pointer is tried at once.
    await point(store, 'v1');
    expect((await live.predict(pairs))[0].probability).toBeGreaterThanOrEqual(0);
    await live.dispose();
  });
});
