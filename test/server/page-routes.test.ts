import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routeApiRequest, type ApiBackend } from '../../src/server/api-router.ts';
import { createPageBackend } from '../../src/server/page-backend.ts';
import { createRequestGuard } from '../../src/server/request-guard.ts';
import { FsObjectStore } from '../../src/storage/fs-object-store.ts';

let root: string;
let store: FsObjectStore;

const METADATA = {
  format: 'simpair-model/1',
  maxLen: 24,
  hidden: 32,
  embeddingModel: 'test/fixtures/tiny-bert',
  tokenizerSha256: 'a'.repeat(64),
  threshold: 0.5,
  padding: 'masked',
  training: { epochs: 1, batchSize: 32, validationSplit: 0.1, seed: 42, earlyStopping: null },
  datasetSha256: 'b'.repeat(64),
  backend: 'wasm',
  createdAt: '2026-01-02T03:04:05.000Z',
};

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'simpair-page-'));
  store = new FsObjectStore(root);
  // A published model as the store flow leaves it, with one picture and classifier.onnx.
  await store.put('models/v1/metadata.json', JSON.stringify(METADATA));
  await store.put('models/v1/metrics.json', JSON.stringify({ accuracy: 0.75, f1: 0.8, rocAuc: 0.9, n: 12, evaluatedOn: 'test.tsv' }));
  await store.put('models/v1/roc.svg', '<svg xmlns="http://www.w3.org/2000/svg"></svg>');
  await store.put('models/v1/classifier.onnx', new Uint8Array([1]));
  await store.put('runs/r-old/status.json', JSON.stringify({ runId: 'r-old', state: 'FAILED', datasetKey: 'datasets/a.tsv', error: { step: 'validate', name: 'DatasetError', message: 'line 3: no label' }, updatedAt: '2026-01-01T00:00:00Z' }));
  await store.put('runs/r-new/status.json', JSON.stringify({ runId: 'r-new', state: 'EMBEDDED', datasetKey: 'datasets/b.tsv', updatedAt: '2026-01-02T00:00:00Z' }));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function backendWith(page: ApiBackend['page']): ApiBackend {
  return { predict: async (pairs) => pairs.map(() => ({ probability: 0.9, similar: true })), page };
}

describe('the page to try the model', () => {
  it('GET / answers the page: labelled boxes, a live answer region, its script from this server, nothing from elsewhere', async () => {
    const backend = backendWith(createPageBackend(store, { modelPrefix: 'models/v1/' }));
    const html = await routeApiRequest(backend, 'GET', '/', undefined);
    expect(html.statusCode).toBe(200);
    expect(html.headers['content-type']).toMatch(/^text\/html/);
    expect(html.headers['content-security-policy']).toMatch(/default-src 'none'/);
    expect(html.body).toMatch(/<label for="s1">/);
    expect(html.body).toMatch(/<label for="s2">/);
    expect(html.body).toMatch(/aria-live="polite"/);
    expect(html.body).toMatch(/<script src="\/try-page.js">/);
    const script = await routeApiRequest(backend, 'GET', '/try-page.js', undefined);
    expect(script.statusCode).toBe(200);
    expect(script.headers['content-type']).toMatch(/^text\/javascript/);
    for (const text of [html.body, script.body]) expect(text).not.toMatch(/(src|href)="?https?:|fetch\(['"]https?:|\/\/cdn/i);
  });

  it('marks the page as having runs only when the server has them, so a --model-dir page never asks GET /runs (issue 19)', async () => {
    const modelDir = await routeApiRequest(backendWith(createPageBackend(store, { modelPrefix: 'models/v1/' })), 'GET', '/', undefined);
    expect(modelDir.body).toMatch(/<body>/);
    expect(modelDir.body).not.toMatch(/data-runs/);
    const withRuns = await routeApiRequest(backendWith(createPageBackend(store, { startTraining: async () => ({ runId: 'r' }) })), 'GET', '/', undefined);
    expect(withRuns.body).toMatch(/<body data-runs>/);
  });

  it('GET /model gives the live model facts: version, maxLen, training date, metrics, runtime, pictures', async () => {
    await store.put('models/live.json', JSON.stringify({ version: 'v1', prefix: 'models/v1/', runId: 'r1', publishedAt: '2026-01-02T00:00:00Z' }));
    const backend = backendWith(createPageBackend(store));
    const res = await routeApiRequest(backend, 'GET', '/model', undefined);
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body)).toEqual({
      version: 'v1',
      embeddingModel: 'test/fixtures/tiny-bert',
      maxLen: 24,
      padding: 'masked',
      threshold: 0.5,
      trainedAt: '2026-01-02T03:04:05.000Z',
      runtime: 'onnx',
      classifier: 'classifier.onnx',
      metrics: { accuracy: 0.75, f1: 0.8, rocAuc: 0.9, n: 12, evaluatedOn: 'test.tsv' },
      pictures: ['roc.svg'],
    });
    const svg = await routeApiRequest(backend, 'GET', '/model/roc.svg', undefined);
    expect(svg.headers['content-type']).toBe('image/svg+xml');
    expect(svg.body).toMatch(/^<svg/);
    expect((await routeApiRequest(backend, 'GET', '/model/training-curves.svg', undefined)).statusCode).toBe(404);
    expect((await routeApiRequest(backend, 'GET', '/model/metadata.svg', undefined)).statusCode).toBe(404);
  });

  it('GET /model is a 404 with a message before any model is published', async () => {
    const empty = new FsObjectStore(await mkdtemp(join(tmpdir(), 'simpair-page-empty-')));
    const res = await routeApiRequest(backendWith(createPageBackend(empty)), 'GET', '/model', undefined);
    expect(res.statusCode).toBe(404);
    expect(JSON.parse(res.body).message).toMatch(/No model in service yet/);
    await rm(empty.location, { recursive: true, force: true });
  });

  it('in store mode lists runs newest first with state and failed step, and an upload stores the file and starts its run', async () => {
    const started: unknown[] = [];
    const page = createPageBackend(store, {
      startTraining: async (body) => {
        started.push(body);
        return { runId: 'r-up', duplicate: false };
      },
    });
    const runs = JSON.parse((await routeApiRequest(backendWith(page), 'GET', '/runs', undefined)).body) as { runs: { runId: string; state: string; error?: unknown }[] };
    expect(runs.runs.map((r) => r.runId)).toEqual(['r-new', 'r-old']);
    expect(runs.runs[1]).toMatchObject({ state: 'FAILED', error: { step: 'validate', message: 'line 3: no label' } });

    const content = 'sentence1\tsentence2\tlabel\nA.\tB.\t1\n';
    const up = await routeApiRequest(backendWith(page), 'POST', '/datasets', JSON.stringify({ name: 'mine.tsv', content }));
    expect(up.statusCode).toBe(202);
    expect(JSON.parse(up.body)).toEqual({ datasetKey: 'datasets/mine.tsv', runId: 'r-up', duplicate: false });
    expect(started).toEqual([{ datasetKey: 'datasets/mine.tsv' }]);
    expect(Buffer.from(await store.get('datasets/mine.tsv')).toString('utf8')).toBe(content);
  });

  it('refuses uploads with a path-like or odd name, or without a JSON body, with 400 and the rule', async () => {
    const page = createPageBackend(store, { startTraining: async () => ({ runId: 'x', duplicate: false }) });
    for (const name of ['../evil.tsv', 'a/b.tsv', 'x.exe', '.hidden.tsv']) {
      const res = await routeApiRequest(backendWith(page), 'POST', '/datasets', JSON.stringify({ name, content: 'x' }));
      expect(res.statusCode, name).toBe(400);
      expect(JSON.parse(res.body).message).toMatch(/plain file name ending in \.tsv, \.csv, \.jsonl or \.txt/);
    }
    expect((await routeApiRequest(backendWith(page), 'POST', '/datasets', 'not json')).statusCode).toBe(400);
    expect(await store.exists('datasets/x.exe')).toBe(false);
  });

  it('with one model directory, runs and uploads are a 404 saying which mode offers them', async () => {
    const backend = backendWith(createPageBackend(store, { modelPrefix: 'models/v1/' }));
    const res = await routeApiRequest(backend, 'GET', '/runs', undefined);
    expect(res.statusCode).toBe(404);
    expect(JSON.parse(res.body).message).toMatch(/--store DIR or --bucket NAME/);
    expect((await routeApiRequest(backend, 'POST', '/datasets', '{"name":"a.tsv","content":"x"}')).statusCode).toBe(404);
  });

  it('with a token, the page and its script load without it (they hold no data); the model facts, runs and predictions still need it', () => {
    const guard = createRequestGuard({ boundHost: '127.0.0.1', token: 'secret' });
    const headers = { host: '127.0.0.1:3000' };
    expect(guard({ method: 'GET', headers, target: '/' })).toBeUndefined();
    expect(guard({ method: 'GET', headers, target: '/try-page.js' })).toBeUndefined();
    for (const target of ['/model', '/runs', '/model/roc.svg', '/?x=1', '//']) expect(guard({ method: 'GET', headers, target })?.statusCode, target).toBe(401);
    expect(guard({ method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, target: '/' })?.statusCode).toBe(401);
    expect(guard({ method: 'GET', headers: { ...headers, authorization: 'Bearer secret' }, target: '/model' })).toBeUndefined();
    // The Host check still applies to the page.
    expect(guard({ method: 'GET', headers: { host: 'evil.example' }, target: '/' })?.statusCode).toBe(403);
  });
});
