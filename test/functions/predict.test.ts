import { beforeEach, describe, expect, it, vi } from 'vitest';
import { apiEvent } from './fakes.ts';

const mocks = vi.hoisted(() => {
  process.env.SIMPAIR_BUCKET = 'test-bucket';
  process.env.SIMPAIR_PREDICT_MAX_PAIRS = '2';
  return { loadPredictor: vi.fn(), predict: vi.fn() };
});
vi.mock('../../src/pipeline/predictor.ts', () => ({ loadPredictor: mocks.loadPredictor }));

const { handler } = await import('../../functions/predict/index.ts');

const body = (pairs: unknown) => JSON.stringify({ pairs });

describe('predict handler', () => {
  beforeEach(() => {
    mocks.predict.mockReset();
  });

  it('loads the live model once per container and answers the predictions', async () => {
    mocks.loadPredictor.mockResolvedValue({ modelVersion: 'v1', predict: mocks.predict });
    mocks.predict.mockResolvedValue([{ probability: 0.9, similar: true }]);
    const e = apiEvent({ httpMethod: 'POST', resource: '/predict', body: body([{ sentence1: 'a b', sentence2: 'a c' }]) });
    const first = await handler(e);
    const second = await handler(e);
    expect(first.statusCode).toBe(200);
    expect(JSON.parse(first.body)).toEqual({ predictions: [{ probability: 0.9, similar: true }] });
    expect(first.headers).toMatchObject({ 'x-model-version': 'v1', 'x-request-id': 'req-123' });
    expect(second.statusCode).toBe(200);
    expect(mocks.loadPredictor).toHaveBeenCalledTimes(1);
    expect(mocks.predict).toHaveBeenCalledWith([{ sentence1: 'a b', sentence2: 'a c' }]);
  });

  it('answers 400 naming the field, with the limits from the environment, before touching the model', async () => {
    const tooMany = await handler(apiEvent({ httpMethod: 'POST', resource: '/predict', body: body([1, 2, 3].map(() => ({ sentence1: 'a', sentence2: 'b' }))) }));
    expect(tooMany.statusCode).toBe(400);
    expect(JSON.parse(tooMany.body).message).toMatch(/at most 2 pairs/);
    const empty = await handler(apiEvent({ httpMethod: 'POST', resource: '/predict', body: body([{ sentence1: ' ', sentence2: 'b' }]) }));
    expect(JSON.parse(empty.body)).toMatchObject({ error: 'RequestError', message: expect.stringMatching(/pairs\[0\]\.sentence1: must not be empty/), requestId: 'req-123' });
    const notJson = await handler(apiEvent({ httpMethod: 'POST', resource: '/predict', body: '{' }));
    expect(notJson.statusCode).toBe(400);
    expect(mocks.predict).not.toHaveBeenCalled();
  });

  it('reads base64 bodies', async () => {
    mocks.predict.mockResolvedValue([{ probability: 0.1, similar: false }]);
    const res = await handler(apiEvent({ httpMethod: 'POST', resource: '/predict', isBase64Encoded: true, body: Buffer.from(body([{ sentence1: 'x', sentence2: 'y' }])).toString('base64') }));
    expect(res.statusCode).toBe(200);
  });

  it('answers 500 without internals when prediction breaks', async () => {
    mocks.predict.mockRejectedValue(new Error('ORT session exploded at /opt/nodejs'));
    const res = await handler(apiEvent({ httpMethod: 'POST', resource: '/predict', body: body([{ sentence1: 'x', sentence2: 'y' }]) }));
    expect(res.statusCode).toBe(500);
    expect(res.body).not.toMatch(/ORT|opt/);
  });
});

describe('predict handler model loading', () => {
  it('answers 404 when no model is live and retries the load on the next call', async () => {
    vi.resetModules();
    mocks.loadPredictor.mockReset();
    // After resetModules the handler sees a fresh errors.ts: throw its NotFoundError.
    const fresh404 = (await import('../../src/errors.ts')).NotFoundError;
    mocks.loadPredictor.mockRejectedValueOnce(new fresh404('No live model (models/live.json); train one first.'));
    mocks.loadPredictor.mockResolvedValueOnce({ modelVersion: 'v2', predict: async () => [{ probability: 0.5, similar: true }] });
    const { handler: fresh } = await import('../../functions/predict/index.ts');
    const e = apiEvent({ httpMethod: 'POST', resource: '/predict', body: body([{ sentence1: 'x', sentence2: 'y' }]) });
    const first = await fresh(e);
    expect(first.statusCode).toBe(404);
    expect(JSON.parse(first.body).message).toMatch(/No live model/);
    const second = await fresh(e);
    expect(second.statusCode).toBe(200);
    expect(mocks.loadPredictor).toHaveBeenCalledTimes(2);
  });
});
