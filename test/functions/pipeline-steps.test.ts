import { beforeEach, describe, expect, it, vi } from 'vitest';
import { objectCreated } from './fakes.ts';

const mocks = vi.hoisted(() => {
  process.env.SIMPAIR_BUCKET = 'test-bucket';
  process.env.SIMPAIR_MODEL_SOURCE = 'bert-base-uncased';
  return {
    startRun: vi.fn(),
    validateAndSplit: vi.fn(),
    embedShard: vi.fn(),
    finalizeEmbeddings: vi.fn(),
    getRun: vi.fn(),
    publishModel: vi.fn(),
    failRun: vi.fn(),
  };
});
vi.mock('../../src/pipeline/cloud/start.ts', () => ({ startRun: mocks.startRun }));
vi.mock('../../src/pipeline/cloud/validate.ts', () => ({ validateAndSplit: mocks.validateAndSplit }));
vi.mock('../../src/pipeline/cloud/embed.ts', () => ({ embedShard: mocks.embedShard }));
vi.mock('../../src/pipeline/cloud/finalize.ts', () => ({ finalizeEmbeddings: mocks.finalizeEmbeddings }));
vi.mock('../../src/pipeline/cloud/publish.ts', () => ({ publishModel: mocks.publishModel }));
vi.mock('../../src/pipeline/cloud/fail.ts', () => ({ failRun: mocks.failRun }));
vi.mock('../../src/pipeline/run-record.ts', async (original) => ({ ...(await original<object>()), getRun: mocks.getRun }));

const validateSplit = (await import('../../functions/validate-split/index.ts')).handler;
const embed = (await import('../../functions/embed-shard/index.ts')).handler;
const publish = (await import('../../functions/publish-model/index.ts')).handler;

beforeEach(() => {
  for (const m of Object.values(mocks)) m.mockReset();
});

describe('validate-split handler', () => {
  it('starts a run for a dataset upload and returns the shard list key', async () => {
    mocks.startRun.mockResolvedValue({ runId: 'run-1', duplicate: false });
    mocks.validateAndSplit.mockResolvedValue({ runId: 'run-1', shards: [{ index: 0, key: 'shards/run-1/rows-00000.jsonl', count: 3 }], embeddingsReady: false });
    expect(await validateSplit(objectCreated('datasets/qqp.tsv'))).toEqual({ runId: 'run-1', duplicate: false, shardsKey: 'shards/run-1/shards.json', shardCount: 1, embeddingsReady: false });
    expect(mocks.startRun.mock.calls[0][1]).toMatchObject({ datasetKey: 'datasets/qqp.tsv', options: { modelSource: 'bert-base-uncased' }, owner: { id: 'aws/step-functions' } });
  });

  it('stops at a duplicate upload without splitting', async () => {
    mocks.startRun.mockResolvedValue({ runId: 'run-1', duplicate: true });
    expect(await validateSplit(objectCreated('datasets/again.tsv'))).toEqual({ runId: 'run-1', duplicate: true, datasetKey: 'datasets/again.tsv' });
    expect(mocks.validateAndSplit).not.toHaveBeenCalled();
  });

  it('continues a run started by POST /train from its marker', async () => {
    mocks.validateAndSplit.mockResolvedValue({ runId: 'run-7', shards: [], embeddingsReady: true });
    // A run whose embeddings are stored: the state machine's Choice skips the map on embeddingsReady.
    expect(await validateSplit(objectCreated('runs/run-7/start.json'))).toMatchObject({ runId: 'run-7', duplicate: false, shardCount: 0, embeddingsReady: true });
    expect(mocks.startRun).not.toHaveBeenCalled();
  });

  it('refuses events of another bucket or another prefix, and malformed events', async () => {
    await expect(validateSplit(objectCreated('datasets/x.tsv', 'other-bucket'))).rejects.toThrow(/bucket "other-bucket".*"test-bucket"/);
    await expect(validateSplit(objectCreated('models/live.json'))).rejects.toThrow(/neither under datasets\//);
    await expect(validateSplit({ detail: {} })).rejects.toThrow(/Invalid event for validate-split/);
  });
});

describe('embed-shard handler', () => {
  it('passes the map item to the core', async () => {
    mocks.embedShard.mockResolvedValue({ runId: 'run-1', index: 4, count: 256 });
    const item = { runId: 'run-1', shard: { index: 4, key: 'shards/run-1/rows-00004.jsonl', count: 256 } };
    expect(await embed(item)).toEqual({ runId: 'run-1', index: 4, count: 256 });
    expect(mocks.embedShard.mock.calls[0][1]).toEqual(item);
    await expect(embed({ runId: 'run-1', shard: { index: -1, key: 'k', count: 1 } })).rejects.toThrow(/shard.index/);
  });
});

describe('publish-model handler', () => {
  it('publishes the model version the trainer recorded', async () => {
    mocks.getRun.mockResolvedValue({ runId: 'run-1', state: 'TRAINED', modelVersion: 'v-1' });
    mocks.publishModel.mockResolvedValue({ state: 'SUCCEEDED' });
    expect(await publish({ runId: 'run-1' })).toEqual({ runId: 'run-1', modelVersion: 'v-1', state: 'SUCCEEDED' });
    expect(mocks.publishModel.mock.calls[0][1]).toEqual({ runId: 'run-1', modelVersion: 'v-1' });
  });
  it('publishes nothing when the run has no model', async () => {
    mocks.getRun.mockResolvedValue({ runId: 'run-1', state: 'EMBEDDED' });
    await expect(publish({ runId: 'run-1' })).rejects.toThrow(/without a modelVersion/);
    expect(mocks.publishModel).not.toHaveBeenCalled();
  });
});

describe('validate-split failure after the run exists', () => {
  it('records the failure on the run, then rethrows for the Catch', async () => {
    mocks.startRun.mockResolvedValue({ runId: 'run-2', duplicate: false });
    const { DatasetError } = await import('../../src/errors.ts');
    mocks.validateAndSplit.mockRejectedValue(new DatasetError('2 bad rows'));
    mocks.failRun.mockResolvedValue({});
    await expect(validateSplit(objectCreated('datasets/bad.tsv'))).rejects.toThrow('2 bad rows');
    expect(mocks.failRun.mock.calls[0][1]).toMatchObject({ runId: 'run-2', step: 'validate', error: expect.objectContaining({ name: 'DatasetError' }) });
  });
});
