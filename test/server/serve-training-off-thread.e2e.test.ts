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
  root = await mkdtemp(join(tmpdir(), 'simpair-offthread-'));
  store = new FsObjectStore(root);
  await store.put('datasets/train.tsv', await readFile(join(ROOT, 'examples', 'train.tsv')));
});
afterEach(() => rm(root, { recursive: true, force: true }));

const post = (url: string, body: unknown) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('serve --store trains off its event loop', () => {
  it('answers /health within 200 ms, polled every 50 ms, while a run trains (tiny model, 3 epochs at maxLen 64)', async () => {
    const serve = await startServe(['--store', root, '--model', TINY_BERT, '--no-watch']);
    try {
      const res = await post(`${serve.url}/train`, { datasetKey: 'datasets/train.tsv', options: { maxLen: 64, epochs: 3 } });
      expect(res.status).toBe(202);
      const { runId } = (await res.json()) as { runId: string };
      const slowest: number[] = [];
      const states = new Set<string>();
      for (;;) {
        const t0 = performance.now();
        const health = await fetch(`${serve.url}/health`);
        slowest.push(performance.now() - t0);
        expect(health.status).toBe(200);
        const { state } = await getJson<{ state: string }>(store, `runs/${runId}/status.json`);
        states.add(state);
        if (state === 'SUCCEEDED' || state === 'FAILED') break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(states).toContain('SUCCEEDED');
      // The run went through training while /health was polled.
      expect(states.has('EMBEDDED') || states.has('VALIDATED')).toBe(true);
      slowest.sort((a, b) => b - a);
      expect(slowest[0], `slowest /health answers (ms): ${slowest.slice(0, 5).map((v) => v.toFixed(0)).join(', ')}`).toBeLessThan(200);
    } finally {
      await serve.stop();
    }
  });
});
