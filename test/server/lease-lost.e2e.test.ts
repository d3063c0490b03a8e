import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { getRun, updateRun } from '../../src/pipeline/run-record.ts';
import { createStoreBackend } from '../../src/server/store-backend.ts';
import { FsObjectStore } from '../../src/storage/fs-object-store.ts';
import { ROOT, TINY_BERT } from '../helpers/paths.ts';

let root: string;
let store: FsObjectStore;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'simpair-lost-'));
  store = new FsObjectStore(root);
  await store.put('datasets/train.tsv', await readFile(join(ROOT, 'examples', 'train.tsv')));
});
afterEach(() => rm(root, { recursive: true, force: true }));

describe('a lost compare-and-swap', () => {
  it('makes the loser stop working on the run at once: its worker is ended mid-training, nothing of it is written after', async () => {
    const backend = createStoreBackend(store, { leaseMs: 600, runDefaults: { modelSource: TINY_BERT, maxLen: 16, epochs: 100 } });
    try {
      const { runId } = await backend.startTraining!({ datasetKey: 'datasets/train.tsv' });
      for (;;) {
        const { state } = await getRun(store, runId);
        if (state === 'EMBEDDED') break; // training has started (100 epochs: tens of seconds)
        expect(['STARTED', 'VALIDATED']).toContain(state);
        await new Promise((r) => setTimeout(r, 50));
      }
      // Another owner takes the run (as a take-over elsewhere would, by compare-and-swap).
      await updateRun(store, runId, (r) => ({ ...r, lease: { owner: 'elsewhere/thief/1', expiresAt: new Date(Date.now() + 3_600_000).toISOString(), durationMs: 3_600_000 } }));
      const stolenAt = Date.now();
      await backend.idle();
      // Generous bound (the machine is loaded); training alone takes far longer.
      expect(Date.now() - stolenAt).toBeLessThan(5000);
      const record = await getRun(store, runId);
      expect(record).toMatchObject({ state: 'EMBEDDED', lease: { owner: 'elsewhere/thief/1' } });
      expect(await store.list('models/')).toEqual([]);
    } finally {
      await backend.close();
    }
  });
});
