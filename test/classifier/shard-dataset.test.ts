import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ShardDataset, splitRanges, type TensorBatch } from '../../src/classifier/shard-dataset.ts';
import { initTfBackend } from '../../src/classifier/tf-backend.ts';
import { writeSyntheticStore } from './synthetic-store.ts';

beforeAll(async () => {
  await initTfBackend();
});

async function drain(ds: ShardDataset): Promise<{ sizes: number[]; labels: number[]; firsts: number[] }> {
  const it = await ds.iterator();
  const sizes: number[] = [];
  const labels: number[] = [];
  const firsts: number[] = [];
  for (;;) {
    const r = await it.next();
    if (r.done) break;
    const { xs, ys } = r.value as TensorBatch;
    sizes.push(xs.shape[0]);
    labels.push(...ys.dataSync());
    const x = xs.dataSync();
    for (let i = 0; i < xs.shape[0]; i++) firsts.push(x[i * xs.shape[1] * xs.shape[2] + 5]);
    tf.dispose([xs, ys]);
  }
  return { sizes, labels, firsts };
}

describe('splitRanges', () => {
  it('takes validation from the end in manifest order, across shard boundaries', () => {
    expect(splitRanges([70, 70, 60], 80)).toEqual({
      train: [{ shard: 0, from: 0, to: 70 }, { shard: 1, from: 0, to: 50 }],
      validation: [{ shard: 1, from: 50, to: 70 }, { shard: 2, from: 0, to: 60 }],
    });
    expect(splitRanges([5, 5], 0)).toEqual({ train: [{ shard: 0, from: 0, to: 5 }, { shard: 1, from: 0, to: 5 }], validation: [] });
  });
});

describe('ShardDataset', () => {
  it('yields every row once per epoch in full batches across shards, only the last one short', async () => {
    const { reader } = await writeSyntheticStore({ shardSizes: [7, 5, 6] });
    const ds = new ShardDataset(reader, splitRanges([7, 5, 6], 0).train, 4, 1);
    expect(ds.size).toBe(5);
    const { sizes, firsts } = await drain(ds);
    expect(sizes).toEqual([4, 4, 4, 4, 2]);
    // In order (no seed), the same 18 rows come out as a permutation when shuffled.
    const ordered = await drain(new ShardDataset(reader, splitRanges([7, 5, 6], 0).train, 4));
    expect([...firsts].sort()).toEqual([...ordered.firsts].sort());
    expect(firsts).not.toEqual(ordered.firsts);
  });

  it('shuffles the same way for the same seed and epoch, differently for the next epoch', async () => {
    const { reader } = await writeSyntheticStore({ shardSizes: [7, 5, 6] });
    const ranges = splitRanges([7, 5, 6], 0).train;
    const a = new ShardDataset(reader, ranges, 4, 9);
    const b = new ShardDataset(reader, ranges, 4, 9);
    const ea = await drain(a);
    expect((await drain(b)).firsts).toEqual(ea.firsts);
    a.epoch = 1;
    expect((await drain(a)).firsts).not.toEqual(ea.firsts);
  });
});
