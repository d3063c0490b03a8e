import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { LabelError, ShapeMismatchError } from '../../src/errors.ts';
import { decodeSafetensors, writeEmbeddingShard } from '../../src/embeddings/index.ts';
import { PREFIX, batch, tempStore } from './store-fixture.ts';

describe('writeEmbeddingShard', () => {
  it('writes shard-NNNNN.safetensors with embeddings F32 and labels U8, and describes it', async () => {
    const store = await tempStore();
    const info = await writeEmbeddingShard(store, PREFIX, 3, batch(4), [1, 0, 1, 1]);
    expect(info).toMatchObject({ key: 'shard-00003.safetensors', index: 3, count: 4, positives: 3, maxLen: 2, hidden: 3, dtype: 'float32' });
    const file = await store.get(`${PREFIX}shard-00003.safetensors`);
    expect(info.bytes).toBe(file.byteLength);
    expect(info.sha256).toBe(createHash('sha256').update(file).digest('hex'));
    const { tensors } = decodeSafetensors(file);
    expect(tensors.get('embeddings')).toMatchObject({ dtype: 'F32', shape: [4, 2, 3] });
    expect(tensors.get('labels')).toMatchObject({ dtype: 'U8', shape: [4] });
  });

  it('writes F16 at half the size', async () => {
    const store = await tempStore();
    const f32 = await writeEmbeddingShard(store, PREFIX, 0, batch(4, 8, 16), [1, 0, 1, 1]);
    const f16 = await writeEmbeddingShard(store, 'other/', 0, batch(4, 8, 16), [1, 0, 1, 1], { dtype: 'float16' });
    expect(decodeSafetensors(await store.get('other/shard-00000.safetensors')).tensors.get('embeddings')!.dtype).toBe('F16');
    expect(f16.bytes).toBeLessThan(f32.bytes * 0.55);
  });

  it('refuses labels that do not match the batch size, naming both counts', async () => {
    const store = await tempStore();
    const err = await writeEmbeddingShard(store, PREFIX, 2, batch(4), [1, 0, 1]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LabelError);
    expect((err as Error).message).toMatch(/shard 2: 3 labels for 4 embedding rows/);
  });

  it('refuses a label that is not 0/1, naming shard and row', async () => {
    const store = await tempStore();
    const err = await writeEmbeddingShard(store, PREFIX, 5, batch(3), [1, 2, 0]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LabelError);
    expect((err as Error).message).toMatch(/shard 5, row 1: label 2 is not 0 or 1/);
    expect(await store.list(PREFIX)).toEqual([]);
  });

  it('refuses data that does not fill [batch, maxLen, hidden]', async () => {
    const store = await tempStore();
    await expect(writeEmbeddingShard(store, PREFIX, 0, { ...batch(2), batchSize: 3 }, [0, 1, 1])).rejects.toBeInstanceOf(ShapeMismatchError);
  });

  it('refuses non-finite values', async () => {
    const store = await tempStore();
    const b = batch(2);
    b.data[7] = NaN;
    await expect(writeEmbeddingShard(store, PREFIX, 0, b, [0, 1])).rejects.toThrow(/row 1: embedding value NaN/);
  });
});
