import { beforeEach, describe, expect, it, vi } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { apiEvent } from './fakes.ts';

const mocks = vi.hoisted(() => {
  process.env.SIMPAIR_BUCKET = 'test-bucket';
  process.env.SIMPAIR_MODEL_SOURCE = 's3://test-bucket/encoders/bert/';
  process.env.SIMPAIR_EMBED_MEMORY_MB = '3008';
  return { startRun: vi.fn(), getRun: vi.fn() };
});
vi.mock('../../src/pipeline/cloud/start.ts', () => ({ startRun: mocks.startRun }));
vi.mock('../../src/pipeline/run-record.ts', async (original) => ({ ...(await original<object>()), getRun: mocks.getRun }));

const { handler } = await import('../../functions/train-api/index.ts');
const { NotFoundError } = await import('../../src/errors.ts');
const s3 = mockClient(S3Client);

describe('train-api handler', () => {
  beforeEach(() => {
    s3.reset();
    s3.on(PutObjectCommand).resolves({});
    mocks.startRun.mockReset();
    mocks.getRun.mockReset();
  });

  it('starts a run with the stack default model and writes its start marker (202)', async () => {
    mocks.startRun.mockResolvedValue({ runId: 'run-abc', duplicate: false });
    const res = await handler(apiEvent({ httpMethod: 'POST', resource: '/train', body: JSON.stringify({ datasetKey: 'datasets/qqp.tsv', options: { epochs: 2 } }) }));
    expect(res.statusCode).toBe(202);
    expect(JSON.parse(res.body)).toEqual({ runId: 'run-abc', duplicate: false, status: '/runs/run-abc' });
    expect(mocks.startRun.mock.calls[0][1]).toMatchObject({ datasetKey: 'datasets/qqp.tsv', options: { modelSource: 's3://test-bucket/encoders/bert/', epochs: 2, maxLen: 128 }, owner: { id: 'aws/step-functions' } });
    const puts = s3.commandCalls(PutObjectCommand);
    expect(puts).toHaveLength(1);
    expect(puts[0].args[0].input).toMatchObject({ Bucket: 'test-bucket', Key: 'runs/run-abc/start.json' });
  });

  it('records who asked (the IAM caller\'s ARN or the API key id, the source address) in the run and the log', async () => {
    mocks.startRun.mockResolvedValue({ runId: 'run-abc', duplicate: false });
    const lines: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => (lines.push(String(chunk)), true)) as typeof process.stdout.write;
    const level = process.env.SIMPAIR_LOG_LEVEL;
    process.env.SIMPAIR_LOG_LEVEL = 'info'; // the request's logger reads it
    try {
      await handler(
        apiEvent({
          httpMethod: 'POST',
          resource: '/train',
          body: JSON.stringify({ datasetKey: 'datasets/qqp.tsv' }),
          requestContext: { requestId: 'req-9', identity: { userArn: 'arn:aws:iam::123456789012:user/alice', apiKeyId: 'k-1', sourceIp: '203.0.113.7' } } as never,
        }),
      );
    } finally {
      process.stdout.write = write;
      if (level === undefined) delete process.env.SIMPAIR_LOG_LEVEL;
      else process.env.SIMPAIR_LOG_LEVEL = level;
    }
    expect(mocks.startRun.mock.calls[0][1].requestedBy).toEqual({ userArn: 'arn:aws:iam::123456789012:user/alice', apiKeyId: 'k-1', sourceIp: '203.0.113.7', requestId: 'req-9' });
    const logged = lines.map((l) => JSON.parse(l) as { message: string; caller?: unknown }).find((l) => l.message === 'Train requested');
    expect(logged?.caller).toEqual({ userArn: 'arn:aws:iam::123456789012:user/alice', apiKeyId: 'k-1', sourceIp: '203.0.113.7' });
  });

  it('refuses unknown options and model sources other than the deployment\'s with 400, starting nothing', async () => {
    const unknown = await handler(apiEvent({ httpMethod: 'POST', resource: '/train', body: JSON.stringify({ datasetKey: 'datasets/qqp.tsv', options: { epoch: 2 } }) }));
    expect(unknown.statusCode).toBe(400);
    expect(JSON.parse(unknown.body).message).toMatch(/epoch/);
    const source = await handler(apiEvent({ httpMethod: 'POST', resource: '/train', body: JSON.stringify({ datasetKey: 'datasets/qqp.tsv', options: { modelSource: 'evil/model' } }) }));
    expect(source.statusCode).toBe(400);
    expect(JSON.parse(source.body).message).toMatch(/modelSource "evil\/model" is not allowed/);
    expect(mocks.startRun).not.toHaveBeenCalled();
  });

  it('answers 200 for a duplicate and starts nothing', async () => {
    mocks.startRun.mockResolvedValue({ runId: 'run-abc', duplicate: true });
    const res = await handler(apiEvent({ httpMethod: 'POST', resource: '/train', body: JSON.stringify({ datasetKey: 'datasets/qqp.tsv' }) }));
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body).duplicate).toBe(true);
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
  });

  it('refuses a key outside datasets/ with 400 before starting anything', async () => {
    const res = await handler(apiEvent({ httpMethod: 'POST', resource: '/train', body: JSON.stringify({ datasetKey: 'models/live.json' }) }));
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body).message).toMatch(/datasetKey: must be a key under datasets\//);
    expect(mocks.startRun).not.toHaveBeenCalled();
  });

  it('answers GET /runs/{id} with the record, 404 when absent, 400 for a bad id', async () => {
    mocks.getRun.mockResolvedValueOnce({ runId: 'run-abc', state: 'EMBEDDED' });
    const ok = await handler(apiEvent({ httpMethod: 'GET', resource: '/runs/{id}', pathParameters: { id: 'run-abc' } }));
    expect(ok.statusCode).toBe(200);
    expect(JSON.parse(ok.body)).toEqual({ runId: 'run-abc', state: 'EMBEDDED' });
    mocks.getRun.mockRejectedValueOnce(new NotFoundError('No run "run-zzz".'));
    const missing = await handler(apiEvent({ httpMethod: 'GET', resource: '/runs/{id}', pathParameters: { id: 'run-zzz' } }));
    expect(missing.statusCode).toBe(404);
    const bad = await handler(apiEvent({ httpMethod: 'GET', resource: '/runs/{id}', pathParameters: { id: '../etc' } }));
    expect(bad.statusCode).toBe(400);
    expect(mocks.getRun).toHaveBeenCalledTimes(2);
  });
});

describe('POST /train against the embedding function\'s memory (SIMPAIR_EMBED_MEMORY_MB 3008)', () => {
  it('refuses a shard that cannot fit (shardSize 10000 x maxLen 512: 31 GB of embeddings), naming the largest shardSize that fits; starts nothing', async () => {
    mocks.startRun.mockReset();
    const res = await handler(apiEvent({ httpMethod: 'POST', resource: '/train', body: JSON.stringify({ datasetKey: 'datasets/qqp.tsv', options: { shardSize: 10000, maxLen: 512 } }) }));
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body).message).toMatch(/shardSize 10000 with maxLen 512 .* 31\.46 GB .* 3008 MB .*Use shardSize 490 or less/);
    expect(mocks.startRun).not.toHaveBeenCalled();
  });

  it('accepts the defaults and the largest shard that fits', async () => {
    const { checkShardFits, shardBytes, shardMemoryBudgetBytes } = await import('../../src/pipeline/run-options.ts');
    expect(() => checkShardFits({ shardSize: 256, maxLen: 128, dtype: 'float32' }, 3008)).not.toThrow();
    expect(() => checkShardFits({ shardSize: 490, maxLen: 512, dtype: 'float32' }, 3008)).not.toThrow();
    expect(() => checkShardFits({ shardSize: 491, maxLen: 512, dtype: 'float32' }, 3008)).toThrow(/Use shardSize 490 or less/);
    expect(shardBytes({ shardSize: 10000, maxLen: 512, dtype: 'float32' })).toBe(10000 * 512 * 768 * 8);
    expect(shardMemoryBudgetBytes(10240)).toBe((10240 - 1536) * 1024 * 1024);
  });
});

