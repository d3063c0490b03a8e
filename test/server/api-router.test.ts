import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { routeApiRequest, type ApiBackend } from '../../src/server/api-router.ts';
import { createStoreBackend } from '../../src/server/store-backend.ts';
import { FsObjectStore } from '../../src/storage/fs-object-store.ts';
import { S3ObjectStore } from '../../src/storage/s3-object-store.ts';
import { ModelMismatchError, NotFoundError } from '../../src/errors.ts';
import { TINY_BERT } from '../helpers/paths.ts';

const body = JSON.stringify({ pairs: [{ sentence1: 'a b', sentence2: 'c d' }] });

function backend(overrides: Partial<ApiBackend> = {}): ApiBackend {
  return { predict: vi.fn(async (pairs) => pairs.map(() => ({ probability: 0.75, similar: true }))), ...overrides };
}

describe('routeApiRequest', () => {
  it('answers POST /predict with the backend predictions', async () => {
    const b = backend();
    const res = await routeApiRequest(b, 'POST', '/predict', body);
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ predictions: [{ probability: 0.75, similar: true }] });
    expect(b.predict).toHaveBeenCalledWith([{ sentence1: 'a b', sentence2: 'c d' }]);
  });

  it('gives 400 for a bad body and does not call the model', async () => {
    const b = backend();
    const res = await routeApiRequest(b, 'POST', '/predict', '{"pairs":[{"sentence1":""}]}');
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body).message).toMatch(/sentence1: must not be empty/);
    expect(b.predict).not.toHaveBeenCalled();
  });

  it('accepts a JSON body that starts with a byte order mark (RFC 8259 section 8.1), on /predict and /train', async () => {
    const b = backend({ startTraining: vi.fn(async () => ({ runId: 'r1', duplicate: false })) });
    const res = await routeApiRequest(b, 'POST', '/predict', `\uFEFF${body}`);
    expect(res.statusCode, res.body).toBe(200);
    expect(b.predict).toHaveBeenCalledWith([{ sentence1: 'a b', sentence2: 'c d' }]);
    expect((await routeApiRequest(b, 'POST', '/train', '\uFEFF{"datasetKey":"datasets/a.tsv"}')).statusCode).toBe(202);
  });

  it('answers GET /health with 200 and does not call the model', async () => {
    const b = backend();
    const res = await routeApiRequest(b, 'GET', '/health', undefined);
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ status: 'ok' });
    expect(b.predict).not.toHaveBeenCalled();
    expect((await routeApiRequest(b, 'POST', '/health', '{}')).statusCode).toBe(405);
    expect(JSON.parse((await routeApiRequest(b, 'GET', '/nope', undefined)).body).message).toContain('GET /health');
  });

  it('gives 405, 404 for wrong methods and routes', async () => {
    expect((await routeApiRequest(backend(), 'GET', '/predict', undefined)).statusCode).toBe(405);
    const res = await routeApiRequest(backend(), 'POST', '/nope', body);
    expect(res.statusCode).toBe(404);
    expect(JSON.parse(res.body).message).toContain('POST /predict');
    // /train exists only where the backend can train.
    expect((await routeApiRequest(backend(), 'POST', '/train', '{}')).statusCode).toBe(404);
  });

  it('maps known errors to 4xx and hides internal errors behind a request id', async () => {
    const notFound = await routeApiRequest(backend({ predict: async () => { throw new NotFoundError('No live model'); } }), 'POST', '/predict', body);
    expect(notFound.statusCode).toBe(404);
    const mismatch = await routeApiRequest(backend({ predict: async () => { throw new ModelMismatchError('maxLen differs'); } }), 'POST', '/predict', body);
    expect(mismatch.statusCode).toBe(422);
    const boom = await routeApiRequest(backend({ predict: async () => { throw new Error('secret stack detail'); } }), 'POST', '/predict', body);
    expect(boom.statusCode).toBe(500);
    expect(boom.body).not.toContain('secret stack detail');
    expect(JSON.parse(boom.body).requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('routes /train and /runs/{id} when the backend trains', async () => {
    const b = backend({ startTraining: vi.fn(async () => ({ runId: 'r1', duplicate: false })), getRun: vi.fn(async (id: string) => ({ runId: id, state: 'SUCCEEDED' })) });
    const started = await routeApiRequest(b, 'POST', '/train', '{"datasetKey":"datasets/a.tsv"}');
    expect(started.statusCode).toBe(202);
    expect(b.startTraining).toHaveBeenCalledWith({ datasetKey: 'datasets/a.tsv' });
    const run = await routeApiRequest(b, 'GET', '/runs/r1', undefined);
    expect(JSON.parse(run.body)).toEqual({ runId: 'r1', state: 'SUCCEEDED' });
    expect((await routeApiRequest(b, 'POST', '/train', 'not json')).statusCode).toBe(400);
  });
});

describe('routeApiRequest over a store backend: keys, outages and run errors', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'simpair-router-'));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it.each([
    ['the datasets/ folder itself', 'datasets/'],
    ['a NUL byte', 'datasets/a\u0000.tsv'],
    ['900 KB', `datasets/${'k'.repeat(900_000)}.tsv`],
    ['a .. segment', 'datasets/../runs/x/status.json'],
    ['an empty segment', 'datasets//a.tsv'],
  ])('answers 400 to a datasetKey with %s, naming the key truncated', async (_what, key) => {
    const backend = createStoreBackend(new FsObjectStore(root));
    const res = await routeApiRequest(backend, 'POST', '/train', JSON.stringify({ datasetKey: key }));
    expect(res.statusCode).toBe(400);
    const body = JSON.parse(res.body);
    expect(body.message).toMatch(/datasetKey/);
    expect(body.message.length).toBeLessThan(400);
    expect(body.requestId).toMatch(/^[0-9a-f-]{36}$/);
    await backend.close();
  });

  it('answers 503 with Retry-After when the S3 store cannot be reached', async () => {
    // A port nothing listens on: bind one, note it, close it.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const { port } = probe.address() as AddressInfo;
    await new Promise((r) => probe.close(r));
    const store = new S3ObjectStore({ bucket: 'down', endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1' });
    const backend = createStoreBackend(store);
    const res = await routeApiRequest(backend, 'POST', '/predict', body);
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toMatch(/^\d+$/);
    expect(JSON.parse(res.body)).toMatchObject({ error: 'StoreUnavailable', requestId: expect.any(String) });
    const run = await routeApiRequest(backend, 'GET', '/runs/run-abc', undefined);
    expect(run.statusCode).toBe(503);
    await backend.close();
  });

  it('records a bad dataset without advising --skip-invalid (POST /train cannot pass it) and without quoting whole lines', async () => {
    const store = new FsObjectStore(root);
    const secret = 'root:x:0:0:root:/root:/bin/bash-SECRET-TAIL-THAT-MUST-NOT-APPEAR';
    await store.put('datasets/bad.tsv', `sentence1\tsentence2\tlabel\n${secret}\nA cat.\tA dog.\t1\n`);
    const backend = createStoreBackend(store, { runDefaults: { modelSource: TINY_BERT, maxLen: 16, epochs: 1 } });
    const started = JSON.parse((await routeApiRequest(backend, 'POST', '/train', '{"datasetKey":"datasets/bad.tsv"}')).body);
    await backend.idle();
    const run = JSON.parse((await routeApiRequest(backend, 'GET', `/runs/${started.runId}`, undefined)).body);
    expect(run.state).toBe('FAILED');
    expect(run.error.message).toMatch(/line 2: expected 3 tab-separated fields, got 1/);
    expect(run.error.message).not.toMatch(/skip-invalid/);
    expect(run.error.message).not.toContain('SECRET');
    await backend.close();
  });
});
