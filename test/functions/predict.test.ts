import { beforeEach, describe, expect, it, vi } from 'vitest';
import { apiEvent } from './fakes.ts';

const mocks = vi.hoisted(() => {
  process.env.SIMPAIR_BUCKET = 'test-bucket';
  process.env.SIMPAIR_PREDICT_MAX_PAIRS = '2';
  // An in-memory store standing in for the bucket: only models/live.json matters here.
  const objects = new Map<string, string>();
  const store = {
    location: 's3://test-bucket',
    exists: async (k: string) => objects.has(k),
    get: async (k: string) => Buffer.from(objects.get(k) ?? ''),
  };
  return { loadPredictor: vi.fn(), predict: vi.fn(), objects, store };
});
vi.mock('../../src/pipeline/predictor.ts', () => ({ loadPredictor: mocks.loadPredictor }));
vi.mock('../../functions/commons/index.ts', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../functions/commons/index.ts')>()),
  pipelineStore: () => mocks.store,
}));

const publish = (version: string) => mocks.objects.set('models/live.json', JSON.stringify({ version, prefix: `models/${version}/`, runId: 'r', publishedAt: '' }));
publish('v1');

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
    expect(mocks.loadPredictor).toHaveBeenCalledWith(mocks.store, { modelPrefix: 'models/v1/' });
    expect(mocks.predict).toHaveBeenCalledWith([{ sentence1: 'a b', sentence2: 'a c' }]);
  });

  it('switches to a newly published model once the pointer TTL (30 s) has passed', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const e = apiEvent({ httpMethod: 'POST', resource: '/predict', body: body([{ sentence1: 'a b', sentence2: 'a c' }]) });
      mocks.predict.mockResolvedValue([{ probability: 0.9, similar: true }]);
      await handler(e);
      const calls = mocks.loadPredictor.mock.calls.length;
      publish('v2');
      expect((await handler(e)).headers).toMatchObject({ 'x-model-version': 'v1' });
      vi.advanceTimersByTime(31_000);
      const after = await handler(e);
      expect(after.headers).toMatchObject({ 'x-model-version': 'v2' });
      expect(mocks.loadPredictor).toHaveBeenCalledTimes(calls + 1);
      expect(mocks.loadPredictor).toHaveBeenLastCalledWith(mocks.store, { modelPrefix: 'models/v2/' });
    } finally {
      vi.useRealTimers();
      publish('v1');
    }
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
  it('answers 404 when no model is live and loads one once it is published', async () => {
    const { NotFoundError } = await import('../../src/errors.ts');
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      mocks.objects.delete('models/live.json');
      // The previous test left the pointer read 31 s in its (fake) future: step past it.
      vi.advanceTimersByTime(62_000);
      mocks.loadPredictor.mockReset();
      mocks.loadPredictor.mockRejectedValueOnce(new NotFoundError('No live model (models/live.json); train one first.'));
      mocks.loadPredictor.mockResolvedValueOnce({ modelVersion: 'v3', predict: async () => [{ probability: 0.5, similar: false }] });
      const e = apiEvent({ httpMethod: 'POST', resource: '/predict', body: body([{ sentence1: 'x', sentence2: 'y' }]) });
      const first = await handler(e);
      expect(first.statusCode, first.body).toBe(404);
      expect(JSON.parse(first.body).message).toMatch(/No live model/);
      publish('v3');
      vi.advanceTimersByTime(31_000);
      const second = await handler(e);
      expect(second.statusCode).toBe(200);
      expect(mocks.loadPredictor).toHaveBeenCalledTimes(2);
    } finally {
      vi.useRealTimers();
    }
  });
});
