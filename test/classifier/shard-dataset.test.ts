import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ShardDataset, splitRanges, type ShardRange, type ShardSource, type TensorBatch } from '../../src/classifier/shard-dataset.ts';
import { deriveSeed, seededRandom, shuffleInPlace } from '../../src/classifier/seeded-random.ts';
import { initTfBackend } from '../../src/classifier/tf-backend.ts';
import type { EmbeddingStoreReader } from '../../src/embeddings/index.ts';
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

/** All batches of one pass, as plain arrays (tensors disposed). */
async function batches(ds: ShardDataset): Promise<{ xs: Float32Array; ys: Float32Array; shape: number[] }[]> {
  const it = await ds.iterator();
  const out: { xs: Float32Array; ys: Float32Array; shape: number[] }[] = [];
  for (let r = await it.next(); !r.done; r = await it.next()) {
    const { xs, ys } = r.value;
    out.push({ xs: xs.dataSync() as Float32Array, ys: ys.dataSync() as Float32Array, shape: xs.shape });
    tf.dispose([xs, ys]);
  }
  return out;
}

/**
 * The batches the shuffle defines, computed from whole shards independently of
 * ShardDataset: shard order shuffled first, then the rows of each block of `mixShards`
 * consecutive shards shuffled together (with 1, the rows of each shard in that order).
 */
async function expectedBatches(reader: EmbeddingStoreReader, ranges: ShardRange[], batchSize: number, seed: number | undefined, epoch: number, mixShards = 1): Promise<{ xs: number[]; ys: number[] }[]> {
  const { maxLen, hidden } = reader.manifest;
  const rowSize = maxLen * hidden;
  const order = [...ranges];
  const random = seed === undefined ? undefined : seededRandom(deriveSeed(seed, epoch));
  if (random) shuffleInPlace(order, random);
  const rows: { x: Float32Array; y: number }[] = [];
  for (let b = 0; b < order.length; b += mixShards) {
    const block: { x: Float32Array; y: number }[] = [];
    for (const range of order.slice(b, b + mixShards)) {
      const shard = await reader.readShard(range.shard);
      for (let r = range.from; r < range.to; r++) block.push({ x: shard.embeddings.subarray(r * rowSize, (r + 1) * rowSize), y: shard.labels[r] });
    }
    if (random) shuffleInPlace(block, random);
    rows.push(...block);
  }
  const out: { xs: number[]; ys: number[] }[] = [];
  for (let i = 0; i < rows.length; i += batchSize) {
    const part = rows.slice(i, i + batchSize);
    out.push({ xs: part.flatMap((p) => [...p.x]), ys: part.map((p) => p.y) });
  }
  return out;
}

/** A reader that counts shard reads and lets each read finish only on a later event-loop turn. */
function countingReader(reader: EmbeddingStoreReader): { source: ShardSource; started: number[]; finished: number[] } {
  const started: number[] = [];
  const finished: number[] = [];
  const source: ShardSource = {
    manifest: reader.manifest,
    async readShard(index: number) {
      started.push(index);
      const shard = await reader.readShard(index);
      await new Promise((resolve) => setTimeout(resolve, 5));
      finished.push(index);
      return shard;
    },
  };
  return { source, started, finished };
}

describe('ShardDataset prefetch', () => {
  const layouts: { shards: number[]; validation: number; batch: number }[] = [
    { shards: [7, 5, 6], validation: 0, batch: 4 },
    { shards: [3], validation: 0, batch: 5 },
    { shards: [1, 1, 1, 1, 1], validation: 0, batch: 2 },
    { shards: [9, 2, 9, 4], validation: 6, batch: 3 },
    { shards: [4, 4, 4], validation: 0, batch: 4 },
  ];
  for (const { shards, validation, batch } of layouts) {
    it(`gives the same batches in the same order at every depth: shards [${shards}], batch ${batch}`, async () => {
      const { reader } = await writeSyntheticStore({ shardSizes: shards, maxLen: 3, hidden: 4 });
      const { train, validation: held } = splitRanges(shards, validation);
      for (const ranges of held.length ? [train, held] : [train]) {
        for (const seed of [undefined, 1, 42]) {
          for (const epoch of [0, 3]) {
            for (const mixShards of [1, 2, ranges.length]) {
              const expected = await expectedBatches(reader, ranges, batch, seed, epoch, mixShards);
              for (const prefetch of [0, 1, 2, 5]) {
                const ds = new ShardDataset(reader, ranges, batch, seed, { prefetch, mixShards });
                ds.epoch = epoch;
                const got = await batches(ds);
                expect(got.map((b) => ({ xs: [...b.xs], ys: [...b.ys] })), `seed ${seed}, epoch ${epoch}, prefetch ${prefetch}, mixShards ${mixShards}`).toEqual(expected);
                expect(got.length).toBe(ds.size);
              }
            }
          }
        }
      }
    });
  }

  it('reads the next shards while the current one is batched, never more than depth ahead', async () => {
    const sizes = [6, 6, 6, 6, 6, 6];
    const { reader } = await writeSyntheticStore({ shardSizes: sizes, maxLen: 2, hidden: 3 });
    for (const prefetch of [0, 1, 2]) {
      const { source, started, finished } = countingReader(reader);
      const ds = new ShardDataset(source, splitRanges(sizes, 0).train, 3, 5, { prefetch });
      const it = await ds.iterator();
      let yielded = 0;
      for (let r = await it.next(); !r.done; r = await it.next()) {
        yielded += r.value.xs.shape[0];
        tf.dispose([r.value.xs, r.value.ys]);
        // The shard holding the last row yielded is position `current` in read order: reads
        // never run more than `prefetch` shards past it (memory: prefetch + 1 shards).
        const current = Math.ceil(yielded / 6) - 1;
        expect(started.length, `prefetch ${prefetch}`).toBeLessThanOrEqual(current + 1 + prefetch);
        if (yielded % 6 === 3) {
          // Half-way through a shard the reads ahead of it have been started...
          expect(started.length).toBe(Math.min(current + 1 + prefetch, sizes.length));
        }
      }
      expect(started).toHaveLength(sizes.length);
      expect(finished).toHaveLength(sizes.length);
    }
  });

  it('mixes the rows of a block of shards in one batch, and holds at most (prefetch + 1) blocks', async () => {
    const sizes = [6, 6, 6, 6, 6, 6];
    const { reader } = await writeSyntheticStore({ shardSizes: sizes, maxLen: 2, hidden: 3 });
    // Which shard each row comes from, by its first value.
    const shardOf = new Map<number, number>();
    for (let i = 0; i < sizes.length; i++) {
      const shard = await reader.readShard(i);
      for (let r = 0; r < 6; r++) shardOf.set(shard.embeddings[r * 6], i);
    }
    for (const prefetch of [0, 1]) {
      const { source, started } = countingReader(reader);
      const ds = new ShardDataset(source, splitRanges(sizes, 0).train, 4, 5, { prefetch, mixShards: 3 });
      const it = await ds.iterator();
      let yielded = 0;
      const mixed: number[] = [];
      for (let r = await it.next(); !r.done; r = await it.next()) {
        const x = r.value.xs.dataSync();
        mixed.push(new Set(Array.from({ length: r.value.xs.shape[0] }, (_, i) => shardOf.get(x[i * 6]))).size);
        yielded += r.value.xs.shape[0];
        tf.dispose([r.value.xs, r.value.ys]);
        const block = Math.ceil(yielded / 18) - 1; // blocks of 3 shards = 18 rows
        expect(started.length, `prefetch ${prefetch}`).toBeLessThanOrEqual(3 * (block + 1 + prefetch));
      }
      expect(yielded).toBe(36);
      expect(Math.max(...mixed)).toBeGreaterThan(1); // a batch holds rows of more than one shard
    }
  });

  it('rejects a mixShards that is not a positive integer', async () => {
    const { reader } = await writeSyntheticStore({ shardSizes: [2] });
    expect(() => new ShardDataset(reader, splitRanges([2], 0).train, 1, undefined, { mixShards: 0 })).toThrow(/mixShards must be an integer >= 1, received 0/);
  });

  it('lets a prefetched read finish while the consumer never leaves the microtask queue', async () => {
    // The trainer may await nothing but next(): prefetched I/O must still progress.
    const sizes = [6, 6];
    const { reader } = await writeSyntheticStore({ shardSizes: sizes, maxLen: 2, hidden: 3 });
    const loaded = [await reader.readShard(0), await reader.readShard(1)];
    let done = 0;
    const source: ShardSource = {
      manifest: reader.manifest,
      async readShard(index: number) {
        // Shard 0 is ready at once; shard 1 needs three event-loop turns, as a real read does.
        for (let turn = 0; turn < (index === 0 ? 0 : 3); turn++) await new Promise((resolve) => setImmediate(resolve));
        done++;
        return loaded[index];
      },
    };
    const it = await new ShardDataset(source, splitRanges(sizes, 0).train, 1, undefined, { prefetch: 1 }).iterator();
    for (let i = 0; i < 6; i++) {
      const r = await it.next();
      if (!r.done) tf.dispose([r.value.xs, r.value.ys]);
    }
    expect(done).toBe(2); // shard 1 is decoded before batching reaches it
  });

  it('reports a failed prefetch when its shard is reached, not as an unhandled rejection', async () => {
    const sizes = [4, 4, 4];
    const { reader } = await writeSyntheticStore({ shardSizes: sizes, maxLen: 2, hidden: 3 });
    const source: ShardSource = {
      manifest: reader.manifest,
      readShard: (index: number) => (index === 2 ? Promise.reject(new Error('shard 2 is gone')) : reader.readShard(index)),
    };
    const it = await new ShardDataset(source, splitRanges(sizes, 0).train, 4, undefined, { prefetch: 2 }).iterator();
    const first = await it.next();
    if (!first.done) tf.dispose([first.value.xs, first.value.ys]);
    await new Promise((resolve) => setTimeout(resolve, 10)); // the rejection has happened by now
    const second = await it.next();
    if (!second.done) tf.dispose([second.value.xs, second.value.ys]);
    await expect(it.next()).rejects.toThrow('shard 2 is gone');
  });

  it('rejects a prefetch depth that is not a non-negative integer', async () => {
    const { reader } = await writeSyntheticStore({ shardSizes: [2], maxLen: 2, hidden: 3 });
    expect(() => new ShardDataset(reader, splitRanges([2], 0).train, 1, undefined, { prefetch: -1 })).toThrow(/prefetch must be an integer >= 0, received -1/);
    expect(() => new ShardDataset(reader, splitRanges([2], 0).train, 1, undefined, { prefetch: 1.5 })).toThrow(/prefetch/);
  });
});

describe('ShardDataset worker threads (batches prepared off the main thread)', () => {
  /** Every batch with its pair features, as plain arrays (NaN and -0 compared exactly by toEqual). */
  async function allBatches(ds: ShardDataset): Promise<{ xs: number[]; ys: number[]; pairs?: number[]; shape: number[] }[]> {
    const it = await ds.iterator();
    const out: { xs: number[]; ys: number[]; pairs?: number[]; shape: number[] }[] = [];
    try {
      for (let r = await it.next(); !r.done; r = await it.next()) {
        const { xs, ys, pairs } = r.value;
        out.push({ xs: [...xs.dataSync()], ys: [...ys.dataSync()], ...(pairs ? { pairs: [...pairs.dataSync()] } : {}), shape: xs.shape });
        tf.dispose([xs, ys, ...(pairs ? [pairs] : [])]);
      }
    } finally {
      await ds.close();
    }
    return out;
  }

  for (const dtype of ['float32', 'float16'] as const) {
    it(`gives exactly the in-thread batches (${dtype}, pair features, shuffles, blocks, prefetch depths, 1 and 2 workers)`, async () => {
      const shards = [9, 2, 9, 4];
      const { reader } = await writeSyntheticStore({ shardSizes: shards, maxLen: 3, hidden: 4, dtype, pooled: 'noise' });
      const { train, validation } = splitRanges(shards, 6);
      for (const ranges of [train, validation]) {
        for (const [seed, epoch, mixShards, prefetch, batch] of [
          [undefined, 0, 1, 0, 3],
          [42, 0, 1, 1, 3],
          [42, 3, 2, 2, 5],
          [7, 1, ranges.length, 0, 4],
          [7, 1, 1, 5, 32],
        ] as const) {
          const plain = new ShardDataset(reader, ranges, batch, seed, { prefetch, mixShards });
          plain.epoch = epoch;
          const expected = await allBatches(plain);
          expect(expected[0].pairs).toBeDefined();
          for (const workers of [1, 2]) {
            const ds = new ShardDataset(reader, ranges, batch, seed, { prefetch, mixShards, workers });
            ds.epoch = epoch;
            expect(await allBatches(ds), `seed ${seed}, epoch ${epoch}, mixShards ${mixShards}, prefetch ${prefetch}, batch ${batch}, workers ${workers}`).toEqual(expected);
          }
        }
      }
    });
  }

  it('decodes every one of the 65,536 float16 bit patterns (subnormals, ±0, ±Infinity, NaN) as the plain reader does', async () => {
    const { FsObjectStore } = await import('../../src/storage/fs-object-store.ts');
    const { encodeSafetensors, writeEmbeddingManifest, EmbeddingStoreReader: Reader, float16BitsToFloat32 } = await import('../../src/embeddings/index.ts');
    const { createHash } = await import('node:crypto');
    const { mkdtemp } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const store = new FsObjectStore(await mkdtemp(join(tmpdir(), 'simpair-f16-')));
    const [count, maxLen, hidden] = [16, 64, 64]; // 16 rows x 4,096 values = every pattern once
    const bits = Uint16Array.from({ length: 65536 }, (_, i) => i);
    const labels = Uint8Array.from({ length: count }, (_, i) => i % 2);
    const file = encodeSafetensors({ embeddings: { dtype: 'F16', shape: [count, maxLen, hidden], data: bits }, labels: { dtype: 'U8', shape: [count], data: labels } }, { format: 'simpair-embeddings/1', index: '0' });
    await store.put('shard-00000.safetensors', file);
    const entry = { key: 'shard-00000.safetensors', index: 0, count, positives: count / 2, sha256: createHash('sha256').update(file).digest('hex'), bytes: file.byteLength, maxLen, hidden, dtype: 'float16' as const };
    await writeEmbeddingManifest(store, '', { modelId: 'test/f16', tokenizerSha256: 'a'.repeat(64), maxLen, hidden, dtype: 'float16', datasetSha256: 'b'.repeat(64) }, [entry]);
    const reader = await Reader.open(store, '');
    const ranges = splitRanges([count], 0).train;
    const viaWorker = await allBatches(new ShardDataset(reader, ranges, count, undefined, { workers: 1 }));
    const plain = await allBatches(new ShardDataset(reader, ranges, count, undefined, {}));
    expect(viaWorker).toHaveLength(1);
    expect(viaWorker).toEqual(plain);
    // and both are the plain decoder's value of each pattern, in file order (no shuffle)
    const expected = Array.from(bits, (b) => float16BitsToFloat32(b));
    expect(viaWorker[0].xs.filter((v, i) => !Object.is(v, Math.fround(expected[i])) && !(Number.isNaN(v) && Number.isNaN(expected[i])))).toEqual([]);
    expect(viaWorker[0].xs.filter((v) => Number.isNaN(v))).toHaveLength(2 * 1023);
  });

  it('checks the SHA-256 of a shard read from the store in the worker, with the plain path\'s error', async () => {
    const { store, reader, prefix } = await writeSyntheticStore({ shardSizes: [4, 4], maxLen: 3, hidden: 4 });
    const key = `${prefix}shard-00001.safetensors`;
    const file = await store.get(key);
    file[file.length - 2] ^= 0xff; // same size, different bytes
    await store.put(key, file);
    const ranges = splitRanges([4, 4], 0).train;
    const plainError = await allBatches(new ShardDataset(reader, ranges, 2, undefined, { prefetch: 0 })).catch((e: Error) => e);
    const workerError = await allBatches(new ShardDataset(reader, ranges, 2, undefined, { prefetch: 0, workers: 1 })).catch((e: Error) => e);
    expect(plainError).toBeInstanceOf(Error);
    expect((workerError as Error).message).toBe((plainError as Error).message);
    expect((workerError as Error).message).toMatch(/shard 1 .*changed or truncated/);
  });

  it('rejects a workers count that is not a non-negative integer, and workers on a source without readShardFile', async () => {
    const { reader } = await writeSyntheticStore({ shardSizes: [2] });
    const ranges = splitRanges([2], 0).train;
    expect(() => new ShardDataset(reader, ranges, 2, undefined, { workers: 1.5 })).toThrow(/workers must be an integer >= 0/);
    expect(() => new ShardDataset({ manifest: reader.manifest, readShard: (i) => reader.readShard(i) }, ranges, 2, undefined, { workers: 1 })).toThrow(/need an EmbeddingStoreReader/);
  });
});
