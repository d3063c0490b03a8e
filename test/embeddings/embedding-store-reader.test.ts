import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { LabelError, ShapeMismatchError } from '../../src/errors.ts';
import {
  EmbeddingStoreReader,
  encodeSafetensors,
  writeEmbeddingManifest,
  writeEmbeddingShard,
  type ShardInfo,
} from '../../src/embeddings/index.ts';
import { putJson } from '../../src/storage/object-store.ts';
import { PREFIX, SHA_A, SHA_B, batch, tempStore } from './store-fixture.ts';

const meta = { modelId: 'test/tiny', tokenizerSha256: SHA_A, maxLen: 2, hidden: 3, datasetSha256: SHA_B };

/** Writes raw tensors as shard `index` and returns a ShardInfo for it (bypassing the writer's checks). */
async function rawShard(store: Awaited<ReturnType<typeof tempStore>>, index: number, file: Uint8Array, count: number): Promise<ShardInfo> {
  const key = `shard-${String(index).padStart(5, '0')}.safetensors`;
  await store.put(PREFIX + key, file);
  return { key, index, count, positives: 0, sha256: createHash('sha256').update(file).digest('hex'), bytes: file.byteLength, maxLen: 2, hidden: 3, dtype: 'float32' };
}

describe('EmbeddingStoreReader', () => {
  it('reads back F32 shards exactly, labels as float32', async () => {
    const store = await tempStore();
    const b0 = batch(3);
    const b1 = batch(2, 2, 3, 100);
    const shards = [await writeEmbeddingShard(store, PREFIX, 0, b0, [1, 0, 1]), await writeEmbeddingShard(store, PREFIX, 1, b1, [0, 1])];
    await writeEmbeddingManifest(store, PREFIX, { ...meta, dtype: 'float32' }, shards);
    const reader = await EmbeddingStoreReader.open(store, PREFIX);
    expect(reader.manifest.count).toBe(5);
    expect(reader.shardCount).toBe(2);
    const s1 = await reader.readShard(1);
    expect(s1.count).toBe(2);
    expect(Array.from(s1.embeddings)).toEqual(Array.from(b1.data));
    expect(s1.labels).toEqual(Float32Array.from([0, 1]));
  });

  it('reads back F16 shards within half-precision rounding', async () => {
    const store = await tempStore();
    const b = batch(2);
    b.data.forEach((_, i) => (b.data[i] = Math.sin(i) * 3));
    await writeEmbeddingManifest(store, PREFIX, { ...meta, dtype: 'float16' }, [await writeEmbeddingShard(store, PREFIX, 0, b, [0, 1], { dtype: 'float16' })]);
    const { embeddings } = await (await EmbeddingStoreReader.open(store, PREFIX)).readShard(0);
    for (let i = 0; i < b.data.length; i++) expect(Math.abs(embeddings[i] - b.data[i])).toBeLessThanOrEqual(Math.abs(b.data[i]) * 2 ** -11 + 1e-7);
  });

  it('refuses a shard whose bytes changed since the manifest', async () => {
    const store = await tempStore();
    await writeEmbeddingManifest(store, PREFIX, { ...meta, dtype: 'float32' }, [await writeEmbeddingShard(store, PREFIX, 0, batch(1), [1])]);
    const reader = await EmbeddingStoreReader.open(store, PREFIX);
    const file = await store.get(`${PREFIX}shard-00000.safetensors`);
    file[file.length - 2] ^= 0xff;
    await store.put(`${PREFIX}shard-00000.safetensors`, file);
    await expect(reader.readShard(0)).rejects.toThrow(/changed or truncated/);
  });

  it('names shard and row of a label that is not 0/1', async () => {
    const store = await tempStore();
    const file = encodeSafetensors({
      embeddings: { dtype: 'F32', shape: [3, 2, 3], data: batch(3).data },
      labels: { dtype: 'U8', shape: [3], data: Uint8Array.from([0, 1, 7]) },
    });
    const good = await writeEmbeddingShard(store, PREFIX, 0, batch(1), [1]);
    await writeEmbeddingManifest(store, PREFIX, { ...meta, dtype: 'float32' }, [good, { ...(await rawShard(store, 1, file, 3)), positives: 1 }]);
    const err = await (await EmbeddingStoreReader.open(store, PREFIX)).readShard(1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LabelError);
    expect((err as Error).message).toMatch(/shard 1 .*row 2: label 7 is not 0 or 1/);
  });

  it('names both counts when labels and embeddings disagree', async () => {
    const store = await tempStore();
    const file = encodeSafetensors({
      embeddings: { dtype: 'F32', shape: [3, 2, 3], data: batch(3).data },
      labels: { dtype: 'U8', shape: [2], data: Uint8Array.from([0, 1]) },
    });
    await writeEmbeddingManifest(store, PREFIX, { ...meta, dtype: 'float32' }, [await rawShard(store, 0, file, 3)]);
    const err = await (await EmbeddingStoreReader.open(store, PREFIX)).readShard(0).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LabelError);
    expect((err as Error).message).toMatch(/2 labels for 3 embedding rows/);
  });

  it('refuses a shard whose shape disagrees with the manifest', async () => {
    const store = await tempStore();
    const file = encodeSafetensors({
      embeddings: { dtype: 'F32', shape: [1, 3, 2], data: batch(1).data },
      labels: { dtype: 'U8', shape: [1], data: Uint8Array.from([1]) },
    });
    await writeEmbeddingManifest(store, PREFIX, { ...meta, dtype: 'float32' }, [{ ...(await rawShard(store, 0, file, 1)), positives: 1 }]);
    const err = await (await EmbeddingStoreReader.open(store, PREFIX)).readShard(0).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ShapeMismatchError);
    expect((err as Error).message).toMatch(/F32 \[1, 3, 2\], the manifest says F32 \[1, 2, 3\]/);
  });

  it('validates manifest.json with zod, naming each problem', async () => {
    const store = await tempStore();
    await putJson(store, `${PREFIX}manifest.json`, { format: 'simpair-embeddings/1', maxLen: 0, count: 1 });
    await expect(EmbeddingStoreReader.open(store, PREFIX)).rejects.toThrow(/not a valid simpair-embeddings\/1 manifest: .*maxLen/);
  });
});

describe('pooled sentence vectors beside the token embeddings', () => {
  it('writes them as a float32 "pooled" tensor [count, 2, hidden] and reads them back (also in a float16 store); shards without them read as before', async () => {
    const store = await tempStore();
    const pooled = Float32Array.from({ length: 3 * 2 * 3 }, (_, i) => i / 7 - 1);
    const shards = [await writeEmbeddingShard(store, PREFIX, 0, batch(3), [1, 0, 1], { dtype: 'float16', pooled })];
    await writeEmbeddingManifest(store, PREFIX, { ...meta, dtype: 'float16' }, shards);
    const s0 = await (await EmbeddingStoreReader.open(store, PREFIX)).readShard(0);
    expect(Array.from(s0.pooled!)).toEqual(Array.from(pooled));

    const plain = await tempStore();
    await writeEmbeddingManifest(plain, PREFIX, { ...meta, dtype: 'float32' }, [await writeEmbeddingShard(plain, PREFIX, 0, batch(2), [1, 0])]);
    expect((await (await EmbeddingStoreReader.open(plain, PREFIX)).readShard(0)).pooled).toBeUndefined();
  });

  it('refuses pooled vectors that do not hold count x 2 x hidden values', async () => {
    const store = await tempStore();
    await expect(writeEmbeddingShard(store, PREFIX, 0, batch(3), [1, 0, 1], { pooled: new Float32Array(5) })).rejects.toThrow(
      /Embeddings shard 0: pooled vectors hold 5 values, shape \[3, 2, 3\] needs 18/,
    );
  });
});
