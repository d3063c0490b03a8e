import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createStoreBackend } from '../../src/server/store-backend.ts';
import { FsObjectStore } from '../../src/storage/fs-object-store.ts';
import { getJson } from '../../src/storage/object-store.ts';
import { routeApiRequest } from '../../src/server/api-router.ts';
import { ROOT, TINY_BERT } from '../helpers/paths.ts';

const runDefaults = { modelSource: TINY_BERT, maxLen: 16, epochs: 1 };
let root: string;
let outside: string;
let store: FsObjectStore;
let full: Buffer;

beforeAll(async () => {
  full = await readFile(join(ROOT, 'examples', 'train.tsv'));
});
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'simpair-watch-'));
  outside = await mkdtemp(join(tmpdir(), 'simpair-outside-'));
  await mkdir(join(root, 'datasets'), { recursive: true });
  store = new FsObjectStore(root);
});
afterEach(async () => {
  vi.restoreAllMocks();
  await rm(root, { recursive: true, force: true });
  await rm(outside, { recursive: true, force: true });
});

const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

interface Record {
  runId: string;
  state: string;
  datasetKey: string;
  datasetSha256: string;
  options: { epochs: number; seed: number };
  error?: { name: string; message: string };
  publication?: { live: boolean };
}

async function until<T>(fn: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function records(): Promise<Record[]> {
  const keys = (await store.list('runs/')).filter((k) => k.endsWith('/status.json'));
  return Promise.all(keys.map((k) => getJson<Record>(store, k)));
}

const terminal = (r: Record) => r.state === 'SUCCEEDED' || r.state === 'FAILED';

/** The run of a dataset content, once it has ended. */
function endedRunOf(content: Uint8Array) {
  return until(async () => (await records()).find((r) => r.datasetSha256 === sha(content) && terminal(r)));
}

async function liveRun(): Promise<Record> {
  const live = await getJson<{ runId: string }>(store, 'models/live.json');
  return getJson<Record>(store, `runs/${live.runId}/status.json`);
}

describe('the datasets/ watcher', () => {
  it('starts a run for a dropped dataset once it is complete, then predicts with it', async () => {
    const backend = createStoreBackend(store, { runDefaults });
    const stop = backend.watchDatasets({ intervalMs: 50, quietMs: 300 });
    try {
      await writeFile(join(root, 'datasets', '.dropped.tsv.tmp'), full);
      execFileSync('mv', [join(root, 'datasets', '.dropped.tsv.tmp'), join(root, 'datasets', 'dropped.tsv')]);
      expect(await endedRunOf(full)).toMatchObject({ state: 'SUCCEEDED', datasetKey: 'datasets/dropped.tsv' });
      const res = await routeApiRequest(backend, 'POST', '/predict', JSON.stringify({ pairs: [{ sentence1: 'A cat naps.', sentence2: 'The cat sleeps.' }] }));
      expect(res.statusCode).toBe(200);
      expect((await records()).map((r) => r.datasetKey)).toEqual(['datasets/dropped.tsv']); // the temp name was never taken
    } finally {
      stop();
      await backend.close();
    }
  });

  it('a slow writer pausing longer than the quiet period: the complete file is trained and goes live, never a partial one', async () => {
    const backend = createStoreBackend(store, { runDefaults });
    const stop = backend.watchDatasets({ intervalMs: 50, quietMs: 300 });
    const cut = full.indexOf('\n', full.length / 2) + 1;
    const path = join(root, 'datasets', 'slow.tsv');
    try {
      await writeFile(path, full.subarray(0, cut));
      // The writer pauses until the watcher has taken the half file (a real slow upload would look the same).
      await until(async () => ((await records()).some((r) => r.datasetKey === 'datasets/slow.tsv') ? true : undefined));
      await appendFile(path, full.subarray(cut));
      expect(await endedRunOf(full)).toMatchObject({ state: 'SUCCEEDED', datasetKey: 'datasets/slow.tsv' });
      await backend.idle();
      expect((await liveRun()).datasetSha256).toBe(sha(full));
      const partial = (await records()).find((r) => r.datasetSha256 === sha(full.subarray(0, cut)))!;
      expect(terminal(partial)).toBe(true);
      if (partial.state === 'FAILED') expect(partial.error?.name).toBe('DatasetChangedError');
    } finally {
      stop();
      await backend.close();
    }
  });

  it('retries a FAILED dataset overwritten with fixed content', async () => {
    const backend = createStoreBackend(store, { runDefaults });
    const stop = backend.watchDatasets({ intervalMs: 50, quietMs: 200 });
    const bad = Buffer.from('sentence1\tsentence2\tlabel\nA.\tB.\t1\nC.\tD.\t7\n');
    try {
      await store.put('datasets/fixme.tsv', bad);
      expect(await endedRunOf(bad)).toMatchObject({ state: 'FAILED', error: { name: 'DatasetError' } });
      await store.put('datasets/fixme.tsv', full);
      expect(await endedRunOf(full)).toMatchObject({ state: 'SUCCEEDED', datasetKey: 'datasets/fixme.tsv' });
    } finally {
      stop();
      await backend.close();
    }
  });

  it('skips a FIFO, a dangling symlink and a symlink leaving the root (logged once each) and still trains the good file', async () => {
    const logged: string[] = [];
    const level = process.env.SIMPAIR_LOG_LEVEL;
    process.env.SIMPAIR_LOG_LEVEL = 'warn';
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      logged.push(String(chunk));
      return true;
    });
    execFileSync('mkfifo', [join(root, 'datasets', 'a-fifo.tsv')]);
    await symlink(join(root, 'datasets', 'missing.tsv'), join(root, 'datasets', 'b-dangling.tsv'));
    // A "credentials" file outside the store that even parses as a dataset.
    await writeFile(join(outside, 'secret.tsv'), 'sentence1\tsentence2\tlabel\nSECRET-KEY-1\tSECRET-KEY-2\t1\n');
    await symlink(join(outside, 'secret.tsv'), join(root, 'datasets', 'c-leak.tsv'));
    await store.put('datasets/d-good.tsv', full);
    const backend = createStoreBackend(store, { runDefaults });
    const stop = backend.watchDatasets({ intervalMs: 50, quietMs: 200 });
    try {
      expect(await endedRunOf(full)).toMatchObject({ state: 'SUCCEEDED', datasetKey: 'datasets/d-good.tsv' });
    } finally {
      stop();
      await backend.close(); // returns: nothing waits on the FIFO
      process.env.SIMPAIR_LOG_LEVEL = level;
    }
    expect((await records()).map((r) => r.datasetKey)).toEqual(['datasets/d-good.tsv']);
    for (const key of await store.list('')) {
      if (key.startsWith('datasets/')) continue;
      expect(Buffer.from(await store.get(key)).toString('latin1')).not.toContain('SECRET-KEY');
    }
    const skips = (name: string) => logged.filter((l) => l.includes(`skipping datasets/${name}`)).length;
    expect(skips('a-fifo.tsv')).toBe(1);
    expect(skips('b-dangling.tsv')).toBe(1);
    expect(skips('c-leak.tsv')).toBe(1);
    expect(logged.join('')).not.toContain('SECRET-KEY');
    // POST /train of those entries answers at once, without reading them (no thread waits on a FIFO).
    const api = createStoreBackend(store, { runDefaults });
    for (const [name, message] of [['a-fifo.tsv', /FIFO/], ['c-leak.tsv', /outside the store/]] as const) {
      const res = await routeApiRequest(api, 'POST', '/train', JSON.stringify({ datasetKey: `datasets/${name}` }));
      expect(res.statusCode).toBeGreaterThanOrEqual(400);
      expect(res.statusCode).toBeLessThan(500);
      expect(JSON.parse(res.body).message).toMatch(message);
      expect(res.body).not.toContain('SECRET-KEY');
    }
    await api.close();
  });
});

describe('POST /train', () => {
  it('starts its own run for options, and refuses unknown options and model sources off the allowlist with 400', async () => {
    const backend = createStoreBackend(store, { runDefaults });
    try {
      await store.put('datasets/t.tsv', full);
      const plain = await routeApiRequest(backend, 'POST', '/train', JSON.stringify({ datasetKey: 'datasets/t.tsv' }));
      expect(plain.statusCode).toBe(202);
      const withOptions = await routeApiRequest(backend, 'POST', '/train', JSON.stringify({ datasetKey: 'datasets/t.tsv', options: { epochs: 2 } }));
      expect(withOptions.statusCode).toBe(202);
      const a = JSON.parse(plain.body) as { runId: string; duplicate: boolean };
      const b = JSON.parse(withOptions.body) as { runId: string; duplicate: boolean };
      expect(b.duplicate).toBe(false);
      expect(b.runId).not.toBe(a.runId);
      const unknown = await routeApiRequest(backend, 'POST', '/train', JSON.stringify({ datasetKey: 'datasets/t.tsv', options: { epoch: 2 } }));
      expect(unknown.statusCode).toBe(400);
      expect(JSON.parse(unknown.body).message).toMatch(/"epoch"/);
      const source = await routeApiRequest(backend, 'POST', '/train', JSON.stringify({ datasetKey: 'datasets/t.tsv', options: { modelSource: '/etc' } }));
      expect(source.statusCode).toBe(400);
      expect(JSON.parse(source.body).message).toMatch(/modelSource "\/etc" is not allowed/);
      const huge = await routeApiRequest(backend, 'POST', '/train', JSON.stringify({ datasetKey: 'datasets/t.tsv', options: { epochs: 1000 } }));
      expect(huge.statusCode).toBe(400);
      await backend.idle();
      const ended = await records();
      expect(ended.map((r) => [r.runId, r.state, r.options.epochs]).sort()).toEqual([[a.runId, 'SUCCEEDED', 1], [b.runId, 'SUCCEEDED', 2]].sort());
      expect((await routeApiRequest(backend, 'POST', '/train', '{"dataset": "x"}')).statusCode).toBe(400);
      expect((await routeApiRequest(backend, 'POST', '/train', '{"datasetKey": "datasets/none.tsv"}')).statusCode).toBe(404);
      expect((await routeApiRequest(backend, 'GET', '/runs/run-unknown', undefined)).statusCode).toBe(404);
    } finally {
      await backend.close();
    }
  });

  it('runs one run at a time by default and publishes in the order runs were started', async () => {
    const backend = createStoreBackend(store, { runDefaults });
    await store.put('datasets/q.tsv', full);
    const ids: string[] = [];
    for (const seed of [1, 2, 3]) {
      const res = await routeApiRequest(backend, 'POST', '/train', JSON.stringify({ datasetKey: 'datasets/q.tsv', options: { seed } }));
      ids.push((JSON.parse(res.body) as { runId: string }).runId);
    }
    let mostWorking = 0;
    await until(async () => {
      const all = await records();
      mostWorking = Math.max(mostWorking, all.filter((r) => ['VALIDATED', 'EMBEDDED', 'TRAINED'].includes(r.state)).length);
      return all.length === 3 && all.every(terminal) ? true : undefined;
    });
    await backend.close();
    expect(mostWorking).toBeLessThanOrEqual(1);
    expect((await liveRun()).runId).toBe(ids[2]);
  });
});
