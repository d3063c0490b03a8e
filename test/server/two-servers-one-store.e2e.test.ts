import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsObjectStore } from '../../src/storage/fs-object-store.ts';
import { getJson } from '../../src/storage/object-store.ts';
import { startServe } from '../helpers/cli.ts';
import { ROOT, TINY_BERT } from '../helpers/paths.ts';

let root: string;
let store: FsObjectStore;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'simpair-two-'));
  store = new FsObjectStore(root);
});
afterEach(() => rm(root, { recursive: true, force: true }));

interface Record {
  runId: string;
  state: string;
  attempt: number;
  modelVersion?: string;
  error?: { message: string };
}

describe('two serve --store on one store, short lease', () => {
  it('every run trains exactly once and ends SUCCEEDED; neither server takes a run from the living other', async () => {
    const [header, ...rows] = (await readFile(join(ROOT, 'examples', 'train.tsv'), 'utf8')).trim().split('\n');
    // Three datasets of different content (so three runs), each with both labels.
    const datasets = [rows, rows.slice(0, 40), rows.slice(4)].map((r) => [header, ...r].join('\n') + '\n');
    const args = ['--store', root, '--model', TINY_BERT, '--max-len', '32', '--epochs', '2', '--lease', '1000', '--quiet-period', '200'];
    const a = await startServe(args);
    const b = await startServe(args);
    try {
      for (const [i, content] of datasets.entries()) await store.put(`datasets/d${i}.tsv`, content);
      let records: Record[];
      for (;;) {
        const keys = (await store.list('runs/')).filter((k) => /^runs\/[\w-]+\/status\.json$/.test(k));
        records = await Promise.all(keys.map((k) => getJson<Record>(store, k)));
        if (records.length === datasets.length && records.every((r) => r.state === 'SUCCEEDED' || r.state === 'FAILED')) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const logs = `${a.stderr()}\n${b.stderr()}`;
      expect(records.map((r) => [r.state, r.attempt, r.error?.message]), logs).toEqual(records.map(() => ['SUCCEEDED', 1, undefined]));
      expect(logs).not.toMatch(/taking over stale run|stops working on it|abandoned/);
      // Trained once each: one model folder per run, none orphaned by a second training.
      const versions = new Set((await store.list('models/')).filter((k) => k.endsWith('/metadata.json')).map((k) => k.split('/')[1]));
      expect([...versions].sort()).toEqual(records.map((r) => r.modelVersion).sort());
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});
