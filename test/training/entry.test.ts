import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainCachingShards } from '../../training/entry.ts';
import { embedShard, finalizeEmbeddings, getRun, startRun, validateAndSplit } from '../../src/pipeline/cloud/index.ts';
import { FsObjectStore } from '../../src/storage/fs-object-store.ts';
import type { ObjectStore } from '../../src/storage/object-store.ts';
import { ROOT, TINY_BERT } from '../helpers/paths.ts';

let root: string;
let parentDir: string;
let store: FsObjectStore;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'simpair-batch-'));
  parentDir = await mkdtemp(join(tmpdir(), 'simpair-batch-cache-'));
  store = new FsObjectStore(root);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
  await rm(parentDir, { recursive: true, force: true });
});

/** The store as the Batch job sees it, counting reads of embedding shards. */
function countShardReads(inner: ObjectStore): { store: ObjectStore; reads: Map<string, number> } {
  const reads = new Map<string, number>();
  const store = Object.create(inner) as ObjectStore;
  store.get = async (key, options) => {
    if (key.endsWith('.safetensors')) reads.set(key, (reads.get(key) ?? 0) + 1);
    return inner.get(key, options);
  };
  return { store, reads };
}

describe('the Batch training job', () => {
  it('reads each embedding shard from the store once over three epochs and removes its local cache', async () => {
    await store.put('datasets/train.tsv', await readFile(join(ROOT, 'examples', 'train.tsv')));
    const options = { modelSource: TINY_BERT, maxLen: 16, epochs: 3, shardSize: 16, validationSplit: 0.25 };
    const { runId } = await startRun(store, { datasetKey: 'datasets/train.tsv', options });
    const { shards } = await validateAndSplit(store, { runId });
    for (const shard of shards) await embedShard(store, { runId, shard });
    await finalizeEmbeddings(store, { runId });

    const { store: counted, reads } = countShardReads(store);
    const { modelVersion } = await trainCachingShards(counted, runId, { parentDir });
    expect((await getRun(store, runId)).state).toBe('TRAINED');
    expect(await store.exists(`models/${modelVersion}/model.json`)).toBe(true);
    // 3 shards. Without the cache every epoch reads every shard again, and validation the
    // shard it shares with training: [6, 3, 3] here.
    expect([...reads.values()]).toEqual([1, 1, 1]);
    expect(await readdir(parentDir)).toEqual([]);
  });

  it('removes its local cache when training fails', async () => {
    await expect(trainCachingShards(store, 'run-absent', { parentDir })).rejects.toThrow(/run-absent/);
    expect(await readdir(parentDir)).toEqual([]);
  });
});
