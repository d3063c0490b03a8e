import { describe, expect, it, vi } from 'vitest';
import { routeApiRequest, type ApiBackend } from '../../src/server/api-router.ts';
import { ModelMismatchError, NotFoundError } from '../../src/errors.ts';

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
