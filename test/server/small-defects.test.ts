import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { RequestError } from '../../src/errors.ts';
import { Predictor } from '../../src/pipeline/predictor.ts';
import { routeApiRequest } from '../../src/server/api-router.ts';
import { createRequestGuard } from '../../src/server/request-guard.ts';
import { createStoreBackend } from '../../src/server/store-backend.ts';
import { FsObjectStore } from '../../src/storage/fs-object-store.ts';
import { getJson, type ObjectStore } from '../../src/storage/object-store.ts';
import { createPageBackend } from '../../src/server/page-backend.ts';
import { startHttpServer } from '../../src/server/http-server.ts';
import { gzipSync } from 'node:zlib';
import { TINY_BERT } from '../helpers/paths.ts';
import { writeTinyModel } from '../helpers/tiny-model.ts';

let work: string;
let store: FsObjectStore;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'simpair-small-'));
  store = new FsObjectStore(join(work, 'store'));
  await mkdir(join(work, 'store', 'datasets'), { recursive: true });
});
afterAll(() => rm(work, { recursive: true, force: true }));

const json = (body: string) => JSON.parse(body) as { error: string; message: string; requestId?: string };

describe('long names are the caller\'s mistake (400), not ENAMETOOLONG (500)', () => {
  const backend = () => createStoreBackend(store, { worker: false, runDefaults: { modelSource: TINY_BERT } });
  it.each([
    ['a datasetKey of 1,009 bytes', `datasets/${'a'.repeat(1000)}`],
    ['a file name of 300 characters', `datasets/${'x'.repeat(296)}.tsv`],
  ])('POST /train with %s', async (_, datasetKey) => {
    const b = backend();
    const res = await routeApiRequest(b, 'POST', '/train', JSON.stringify({ datasetKey }));
    expect(res.statusCode, res.body).toBe(400);
    expect(json(res.body).message).toMatch(/bytes/);
    await b.close();
  });

  it('GET /runs/ with a 5,000-character id', async () => {
    const b = backend();
    const res = await routeApiRequest(b, 'GET', `/runs/${'r'.repeat(5000)}`, undefined);
    expect(res.statusCode, res.body).toBe(400);
    expect(res.body.length).toBeLessThan(1000);
    await b.close();
  });
});

describe('404 and 405 answers', () => {
  it('carry the request id, and 405 an Allow header', async () => {
    const backend = { predict: async () => [] };
    const notFound = await routeApiRequest(backend, 'GET', '/nope', undefined, 'req-1');
    expect(notFound.statusCode).toBe(404);
    expect(json(notFound.body).requestId).toBe('req-1');
    const wrong = await routeApiRequest(backend, 'GET', '/predict', undefined, 'req-2');
    expect(wrong.statusCode).toBe(405);
    expect(json(wrong.body).requestId).toBe('req-2');
    expect(wrong.headers.allow).toBe('POST');
    const health = await routeApiRequest(backend, 'POST', '/health', undefined, 'req-3');
    expect(health.headers.allow).toBe('GET, HEAD');
  });
});

describe('the request guard', () => {
  it('accepts the bearer scheme in any case (RFC 9110), still compares the token exactly', () => {
    const guard = createRequestGuard({ boundHost: '127.0.0.1', token: 'secret-token' });
    const headers = (authorization: string) => ({ host: '127.0.0.1:3000', authorization });
    expect(guard({ method: 'GET', headers: headers('bearer secret-token'), target: '/model' })).toBeUndefined();
    expect(guard({ method: 'GET', headers: headers('BEARER secret-token'), target: '/model' })).toBeUndefined();
    expect(guard({ method: 'GET', headers: headers('bearer SECRET-TOKEN'), target: '/model' })?.statusCode).toBe(401);
  });

  it.each([['*'], [''], ['*.example.com']])('refuses --allowed-host %j instead of accepting it silently', (host) => {
    expect(() => createRequestGuard({ boundHost: '127.0.0.1', allowedHosts: [host] })).toThrow(/--allowed-host .* is not a host name/);
  });
});

describe('the datasets/ watcher while the store is down', () => {
  it('logs ECONNREFUSED once, not on every pass', async () => {
    // Stands in for an S3 endpoint that refuses connections: list() rejects as the SDK does.
    const down = new Proxy(store, {
      get(target, prop, receiver) {
        if (prop === 'list') return async () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4569'), { code: 'ECONNREFUSED' }));
        return Reflect.get(target, prop, receiver);
      },
    }) as ObjectStore;
    const lines: string[] = [];
    vi.stubEnv('SIMPAIR_LOG_LEVEL', 'info');
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => (lines.push(String(chunk)), true));
    const b = createStoreBackend(down, { worker: false });
    const stop = b.watchDatasets({ intervalMs: 20, quietMs: 100 });
    await new Promise((r) => setTimeout(r, 400));
    stop();
    spy.mockRestore();
    vi.unstubAllEnvs();
    await b.close();
    expect(lines.filter((l) => l.includes('ECONNREFUSED'))).toHaveLength(1);
  });
});

describe('a page upload that fails quickly', () => {
  it('runs once: the watcher does not start the uploaded content again', async () => {
    const root = join(work, 'upload-store');
    const s = new FsObjectStore(root);
    await mkdir(join(root, 'datasets'), { recursive: true });
    const b = createStoreBackend(s, { worker: false, runDefaults: { modelSource: TINY_BERT, maxLen: 16, epochs: 1 } });
    const page = createPageBackend(s, { startTraining: (body) => b.startTraining!(body) });
    const stop = b.watchDatasets({ intervalMs: 20, quietMs: 100 });
    try {
      const { runId } = (await page.uploadDataset!('bad.tsv', 'sentence1\tsentence2\tlabel\nA cat.\t\t1\n')) as { runId: string };
      await b.idle();
      await new Promise((r) => setTimeout(r, 600)); // several quiet periods of the watcher
      await b.idle();
      const record = await getJson<{ state: string; attempt: number }>(s, `runs/${runId}/status.json`);
      expect(record).toMatchObject({ state: 'FAILED', attempt: 1 });
    } finally {
      stop();
      await b.close();
    }
  });
});

describe('page uploads', () => {
  it('a gzip file gets a "compressed" hint', async () => {
    const s = new FsObjectStore(join(work, 'gz-store'));
    const page = createPageBackend(s, { startTraining: async () => ({ runId: 'x', duplicate: false }) });
    // What the browser sends for a gzip file read as text: 0x1f, then U+FFFD for the 0x8b byte.
    const gz = gzipSync('sentence1\tsentence2\tlabel\n').toString('utf8');
    await expect(page.uploadDataset!('big.tsv', gz)).rejects.toThrow(/compressed \(gzip\); decompress it first/);
    expect(await s.exists('datasets/big.tsv')).toBe(false);
  });

  it('an upload over 1 MB says how to bring a larger file, not "send fewer pairs"', async () => {
    const server = await startHttpServer({ predict: async () => [] }, { port: 0 });
    try {
      const res = await fetch(`http://127.0.0.1:${server.port}/datasets`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'big.tsv', content: 'x'.repeat(1_100_000) }) });
      expect(res.status).toBe(413);
      const body = (await res.json()) as { message: string };
      expect(body.message).toMatch(/datasets\/ folder/);
      expect(body.message).not.toMatch(/fewer pairs/);
    } finally {
      await server.close();
    }
  });
});

describe('FsObjectStore.list walks only the prefix\'s folder', () => {
  it('lists the same keys as filtering the whole store', async () => {
    const s = new FsObjectStore(join(work, 'listing'));
    for (const key of ['datasets/a.tsv', 'datasets/sub/b.tsv', 'datasets-old/c.tsv', 'embeddings/r/parts/00000.json', 'runs/r/status.json', 'top.json']) await s.put(key, '{}');
    const all = await s.list('');
    for (const prefix of ['datasets/', 'datasets', 'datasets/s', 'embeddings/r/', 'runs/r/status', 'nothing/', 't']) {
      expect(await s.list(prefix), prefix).toEqual(all.filter((k) => k.startsWith(prefix)));
    }
  });
});

describe('predictions', () => {
  let predictor: Predictor;
  let modelDir: string;
  beforeAll(async () => {
    modelDir = await writeTinyModel(join(work, 'model'));
    predictor = await Predictor.load(new FsObjectStore(modelDir), '');
  });
  afterAll(() => predictor.dispose());

  it.each([
    ['NUL', '\u0000'],
    ['a zero-width space', '\u200b'],
    ['a soft hyphen', '\u00ad'],
    ['a lone surrogate', '\ud800'],
  ])('a sentence of only %s gets a 400, not an answer', async (_, sentence) => {
    await expect(predictor.predict([{ sentence1: 'A cat sits.', sentence2: sentence }])).rejects.toBeInstanceOf(RequestError);
    const res = await routeApiRequest({ predict: (p) => predictor.predict(p) }, 'POST', '/predict', JSON.stringify({ pairs: [{ sentence1: 'A cat sits.', sentence2: sentence }] }));
    expect(res.statusCode).toBe(400);
    expect(json(res.body).message).toMatch(/pairs\[0\]\.sentence2 has no word the model can read/);
  });

  it('a damaged classifier.onnx is answered with advice to rebuild it, not to run the encoder\'s export script', async () => {
    const dir = await writeTinyModel(join(work, 'damaged'));
    await writeFile(join(dir, 'classifier.onnx'), 'not an onnx file');
    const err = await Predictor.load(new FsObjectStore(dir), '').then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(/simpair export --model-dir/);
    expect(err?.message).not.toMatch(/export_minilm/);
  });
});
