import { describe, expect, it } from 'vitest';
import { ShapeMismatchError } from '../../src/errors.ts';
import { writeEmbeddingManifest, writeEmbeddingShard, type ShardInfo } from '../../src/embeddings/index.ts';
import { PREFIX, SHA_A, SHA_B, batch, tempStore } from './store-fixture.ts';

const meta = { modelId: 'test/tiny', tokenizerSha256: SHA_A, maxLen: 2, hidden: 3, dtype: 'float32' as const, datasetSha256: SHA_B };

describe('writeEmbeddingManifest', () => {
  it('totals the shards (written in any order) into manifest.json', async () => {
    const store = await tempStore();
    const s1 = await writeEmbeddingShard(store, PREFIX, 1, batch(2), [0, 0]);
    const s0 = await writeEmbeddingShard(store, PREFIX, 0, batch(3), [1, 0, 1]);
    const manifest = await writeEmbeddingManifest(store, PREFIX, { ...meta, createdAt: '2025-01-01T00:00:00.000Z' }, [s1, s0]);
    expect(manifest).toMatchObject({ format: 'simpair-embeddings/1', count: 5, positives: 2, negatives: 3, maxLen: 2, hidden: 3, dtype: 'float32' });
    expect(manifest.shards.map((s) => s.index)).toEqual([0, 1]);
    expect(Object.keys(manifest.shards[0]).sort()).toEqual(['bytes', 'count', 'index', 'key', 'positives', 'sha256']);
    const stored = JSON.parse(Buffer.from(await store.get(`${PREFIX}manifest.json`)).toString());
    expect(stored).toEqual(manifest);
  });

  it('names missing and duplicate shard indices', async () => {
    const store = await tempStore();
    const s0 = await writeEmbeddingShard(store, PREFIX, 0, batch(1), [1]);
    const s3 = await writeEmbeddingShard(store, PREFIX, 3, batch(1), [1]);
    await expect(writeEmbeddingManifest(store, PREFIX, meta, [s0, s3, s3])).rejects.toThrow(/missing index 1, 2; duplicate index 3/);
  });

  it('refuses shards of another shape or dtype', async () => {
    const store = await tempStore();
    const s0 = await writeEmbeddingShard(store, PREFIX, 0, batch(1), [1]);
    const s1: ShardInfo = { ...(await writeEmbeddingShard(store, PREFIX, 1, batch(1, 4, 3), [1])) };
    await expect(writeEmbeddingManifest(store, PREFIX, meta, [s0, s1])).rejects.toBeInstanceOf(ShapeMismatchError);
    await expect(writeEmbeddingManifest(store, PREFIX, meta, [s0, s1])).rejects.toThrow(/shard 1 is \[maxLen 4, hidden 3, float32\]/);
  });

  it('refuses an empty shard list', async () => {
    await expect(writeEmbeddingManifest(await tempStore(), PREFIX, meta, [])).rejects.toThrow(/No shards/);
  });
});
