import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStoreBackend } from '../../src/server/store-backend.ts';
import { FsObjectStore } from '../../src/storage/fs-object-store.ts';
import { routeApiRequest } from '../../src/server/api-router.ts';
import { ROOT, TINY_BERT } from '../helpers/paths.ts';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'simpair-watch-'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

const runIdOf = (bytes: Buffer) => `run-${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}`;

async function until<T>(fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('createStoreBackend over a local directory', () => {
  it('starts a run for a dataset dropped in datasets/ (only once its bytes are stable), then predicts with it', async () => {
    const store = new FsObjectStore(root);
    const backend = createStoreBackend(store, { runDefaults: { modelSource: TINY_BERT, maxLen: 16, epochs: 1 } });
    const full = await readFile(join(ROOT, 'examples', 'train.tsv'));
    const partial = full.subarray(0, Math.floor(full.length / 2));
    const stop = backend.watchDatasets(150);
    try {
      await store.put('datasets/dropped.tsv', partial);
      await store.put('datasets/dropped.tsv', full);
      const run = await until(async () => {
        const r = (await backend.getRun!(runIdOf(full))) as { state: string };
        return r.state === 'SUCCEEDED' || r.state === 'FAILED' ? r : undefined;
      });
      expect(run.state).toBe('SUCCEEDED');
      await expect(backend.getRun!(runIdOf(partial))).rejects.toThrow(/No run/);
      const res = await routeApiRequest(backend, 'POST', '/predict', JSON.stringify({ pairs: [{ sentence1: 'A cat naps.', sentence2: 'The cat sleeps.' }] }));
      expect(res.statusCode).toBe(200);
      expect(await backend.modelVersion()).toMatch(new RegExp(runIdOf(full)));
    } finally {
      stop();
      await backend.close();
    }
  });

  it('answers /train with 400 for a bad body and 404 for a missing dataset', async () => {
    const backend = createStoreBackend(new FsObjectStore(root));
    expect((await routeApiRequest(backend, 'POST', '/train', '{"dataset": "x"}')).statusCode).toBe(400);
    expect((await routeApiRequest(backend, 'POST', '/train', '{"datasetKey": "datasets/none.tsv"}')).statusCode).toBe(404);
    expect((await routeApiRequest(backend, 'GET', '/runs/run-unknown', undefined)).statusCode).toBe(404);
    await backend.close();
  });
});
