import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { assertRunFitsMemory, MemoryBudgetError, trainingBatchBytes, WASM_HEAP_MAX_BYTES } from '../../src/classifier/memory-budget.ts';
import { FsObjectStore } from '../../src/storage/fs-object-store.ts';
import { getJson } from '../../src/storage/object-store.ts';
import { simpair, startServe } from '../helpers/cli.ts';
import { ROOT, TINY_BERT } from '../helpers/paths.ts';

const NO_STACK = /^\s+at /m;
let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'simpair-memory-'));
});
afterEach(() => rm(root, { recursive: true, force: true }));

/** 1,100 distinct pairs (more rows than the batch of 1,024 asked), made from the examples. */
async function bigDataset(): Promise<string> {
  const [header, ...rows] = (await readFile(join(ROOT, 'examples', 'train.tsv'), 'utf8')).trim().split('\n');
  const out = [header];
  for (let i = 0; out.length <= 1100; i++) {
    const [a, b, label] = rows[i % rows.length].split('\t');
    out.push(`${a} (${i})\t${b} (${i})\t${label}`);
  }
  return out.join('\n') + '\n';
}

interface Record {
  state: string;
  error?: { step: string; message: string };
}

async function ended(store: FsObjectStore, runId: string): Promise<Record> {
  for (;;) {
    const record = await getJson<Record>(store, `runs/${runId}/status.json`);
    if (record.state === 'SUCCEEDED' || record.state === 'FAILED') return record;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('the memory a run needs, checked before it starts', () => {
  it('refuses a batch over the wasm address space, naming the option, and lets one that fits through', () => {
    const names = { batchSize: '--batch-size', maxLen: '--max-len' };
    expect(() => assertRunFitsMemory({ backend: 'wasm', batchSize: 1024, maxLen: 512, hidden: 32 }, names)).toThrow(MemoryBudgetError);
    expect(() => assertRunFitsMemory({ backend: 'wasm', batchSize: 1024, maxLen: 512, hidden: 32 }, names)).toThrow(/Lower --batch-size to \d+ or less \(or --max-len\)/);
    expect(() => assertRunFitsMemory({ backend: 'wasm', batchSize: 32, maxLen: 128, hidden: 768 }, names)).not.toThrow();
    // The suggested batch size fits.
    const fit = Number(/to (\d+) or less/.exec((() => { try { assertRunFitsMemory({ backend: 'wasm', batchSize: 1024, maxLen: 512, hidden: 32 }, names); } catch (e) { return (e as Error).message; } return ''; })())![1]);
    expect(trainingBatchBytes(fit, 512, 32)).toBeLessThan(WASM_HEAP_MAX_BYTES);
    expect(() => assertRunFitsMemory({ backend: 'wasm', batchSize: fit, maxLen: 512, hidden: 32 }, names)).not.toThrow();
  });

  it('simpair run --max-len 512 --batch-size 1024: a message naming --batch-size, no RuntimeError stack trace', async () => {
    const data = join(root, 'big.tsv');
    await writeFile(data, await bigDataset());
    const r = await simpair(['run', '--data', data, '--out', join(root, 'out'), '--model', TINY_BERT, '--max-len', '512', '--batch-size', '1024', '--epochs', '1']);
    expect(r.code, r.stderr).not.toBe(0);
    expect(r.stderr).toMatch(/--batch-size/);
    expect(r.stderr).not.toMatch(/unexpected error|RuntimeError|Aborted/);
    expect(r.stderr).not.toMatch(NO_STACK);
  });

  it('serve --store: a run too large for the backend FAILS with a message naming batchSize, and the next run on that server succeeds', async () => {
    const store = new FsObjectStore(root);
    await store.put('datasets/train.tsv', await bigDataset());
    const serve = await startServe(['--store', root, '--model', TINY_BERT, '--no-watch']);
    const train = async (options: object) => {
      const res = await fetch(`${serve.url}/train`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ datasetKey: 'datasets/train.tsv', options }) });
      expect(res.status).toBe(202);
      return ((await res.json()) as { runId: string }).runId;
    };
    try {
      const big = await ended(store, await train({ maxLen: 512, batchSize: 1024, shardSize: 10000, epochs: 100 }));
      expect(big.state).toBe('FAILED');
      expect(big.error?.message).toMatch(/batchSize/);
      expect(big.error?.message).not.toMatch(/Aborted|out of bounds/);
      const next = await ended(store, await train({ maxLen: 16, epochs: 1, batchSize: 256 }));
      expect(next, serve.stderr()).toMatchObject({ state: 'SUCCEEDED' });
      expect((await fetch(`${serve.url}/health`)).status).toBe(200);
    } finally {
      await serve.stop();
    }
  });
});
