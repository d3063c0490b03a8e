import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EmbeddingStoreReader, ShardCache } from '../../src/embeddings/index.ts';
import type { ObjectStore } from '../../src/storage/object-store.ts';
import { writeSyntheticStore } from '../classifier/synthetic-store.ts';

/** Wraps a store and counts `get` calls per key: the remote reads a cache must save. */
function countingStore(inner: ObjectStore): { store: ObjectStore; gets: Map<string, number> } {
  const gets = new Map<string, number>();
  const store: ObjectStore = {
    location: inner.location,
    get: async (key, options) => {
      gets.set(key, (gets.get(key) ?? 0) + 1);
      return inner.get(key, options);
    },
    getStream: (key) => inner.getStream(key),
    put: (key, body) => inner.put(key, body),
    exists: (key) => inner.exists(key),
    list: (prefix) => inner.list(prefix),
    delete: (key) => inner.delete(key),
    head: (key) => inner.head(key),
    getVersioned: (key) => inner.getVersioned(key),
    putIf: (key, body, condition) => inner.putIf(key, body, condition),
  };
  return { store, gets };
}

const shardGets = (gets: Map<string, number>) => [...gets].filter(([k]) => k.endsWith('.safetensors')).map(([, n]) => n);

describe('ShardCache with EmbeddingStoreReader', () => {
  it('reads each shard from the store once; later epochs read the same bytes from local disk', async () => {
    const { store: inner, prefix } = await writeSyntheticStore({ shardSizes: [5, 4, 3] });
    const { store, gets } = countingStore(inner);
    const cache = await ShardCache.create();
    try {
      const cached = await EmbeddingStoreReader.open(store, prefix, { cache });
      const plain = await EmbeddingStoreReader.open(inner, prefix);
      for (let epoch = 0; epoch < 3; epoch++) {
        for (let i = 0; i < cached.shardCount; i++) {
          const a = await cached.readShard(i);
          const b = await plain.readShard(i);
          expect(a.embeddings).toEqual(b.embeddings);
          expect(a.labels).toEqual(b.labels);
        }
      }
      expect(shardGets(gets)).toEqual([1, 1, 1]);
      expect(cache.stats).toMatchObject({ hits: 6, misses: 3, writes: 3, skipped: 0, evicted: 0, trusted: 6 });
      // The local copies are the manifest's bytes exactly (size and SHA-256).
      const files = (await readdir(cache.dir)).sort();
      expect(files).toHaveLength(3);
      for (const [i, shard] of cached.manifest.shards.entries()) {
        const local = await readFile(join(cache.dir, files[i]));
        expect(local.byteLength).toBe(shard.bytes);
        expect(createHash('sha256').update(local).digest('hex')).toBe(shard.sha256);
      }
      expect(cache.bytes).toBe(cached.manifest.shards.reduce((a, s) => a + s.bytes, 0));
    } finally {
      await cache.clear();
    }
    expect(existsSync(cache.dir)).toBe(false);
  });

  it('drops a local copy whose bytes changed and reads the shard from the store again', async () => {
    const { store: inner, prefix } = await writeSyntheticStore({ shardSizes: [4, 4] });
    const { store, gets } = countingStore(inner);
    const cache = await ShardCache.create();
    try {
      const reader = await EmbeddingStoreReader.open(store, prefix, { cache });
      const good = await reader.readShard(1);
      const [file] = (await readdir(cache.dir)).filter((f) => f.includes('00001'));
      const bytes = await readFile(join(cache.dir, file));
      bytes[bytes.length - 1] ^= 0xff; // same size, different content
      await writeFile(join(cache.dir, file), bytes);
      expect((await reader.readShard(1)).embeddings).toEqual(good.embeddings);
      expect(cache.stats.evicted).toBe(1);
      await writeFile(join(cache.dir, file), bytes.subarray(0, 10)); // truncated: a miss
      expect((await reader.readShard(1)).embeddings).toEqual(good.embeddings);
      expect(shardGets(gets)).toEqual([3]);
      expect(await reader.readShard(1)).toBeDefined();
      expect(shardGets(gets)).toEqual([3]); // the re-read copy is good again
      expect(cache.bytes).toBe(reader.manifest.shards[1].bytes);
    } finally {
      await cache.clear();
    }
  });

  it('hashes a shard once, when it enters the cache: reads of the unchanged copy are trusted, a copy changed on disk is hashed again', async () => {
    const { store, prefix } = await writeSyntheticStore({ shardSizes: [4] });
    const cache = await ShardCache.create();
    try {
      const reader = await EmbeddingStoreReader.open(store, prefix, { cache });
      const first = await reader.readShard(0);
      expect(cache.stats).toMatchObject({ misses: 1, writes: 1, trusted: 0 });
      await reader.readShard(0);
      await reader.readShard(0);
      expect(cache.stats).toMatchObject({ hits: 2, trusted: 2 });
      // A local file rewritten (same bytes, so the manifest check passes): no longer the copy
      // the cache wrote, so it is hashed, not trusted.
      const [file] = await readdir(cache.dir);
      const bytes = await readFile(join(cache.dir, file));
      await new Promise((r) => setTimeout(r, 5));
      await writeFile(join(cache.dir, file), bytes);
      expect((await reader.readShard(0)).embeddings).toEqual(first.embeddings);
      expect(cache.stats).toMatchObject({ hits: 3, trusted: 2, evicted: 0 });
      // Changed bytes of the same size: hashed, dropped, read from the store again.
      bytes[bytes.length - 1] ^= 0xff;
      await writeFile(join(cache.dir, file), bytes);
      expect((await reader.readShard(0)).embeddings).toEqual(first.embeddings);
      expect(cache.stats).toMatchObject({ hits: 4, trusted: 2, evicted: 1, writes: 2 });
    } finally {
      await cache.clear();
    }
  });

  it('caches only what fits in maxBytes; the rest is read from the store every time', async () => {
    const { store: inner, prefix } = await writeSyntheticStore({ shardSizes: [4, 4, 4] });
    const { store, gets } = countingStore(inner);
    const probe = await EmbeddingStoreReader.open(inner, prefix);
    const cache = await ShardCache.create({ maxBytes: probe.manifest.shards[0].bytes + probe.manifest.shards[1].bytes });
    try {
      const reader = await EmbeddingStoreReader.open(store, prefix, { cache });
      for (let epoch = 0; epoch < 3; epoch++) for (let i = 0; i < 3; i++) await reader.readShard(i);
      expect(shardGets(gets)).toEqual([1, 1, 3]);
      expect(cache.stats.skipped).toBe(3);
    } finally {
      await cache.clear();
    }
  });

  it('caches nothing when the disk would keep less than minFreeBytes free', async () => {
    const { store: inner, prefix } = await writeSyntheticStore({ shardSizes: [4, 4] });
    const { store, gets } = countingStore(inner);
    const cache = await ShardCache.create({ minFreeBytes: Number.MAX_SAFE_INTEGER });
    try {
      const reader = await EmbeddingStoreReader.open(store, prefix, { cache });
      for (let epoch = 0; epoch < 2; epoch++) for (let i = 0; i < 2; i++) await reader.readShard(i);
      expect(shardGets(gets)).toEqual([2, 2]);
      expect(await readdir(cache.dir)).toEqual([]);
    } finally {
      await cache.clear();
    }
  });

  it('never caches a shard that fails the manifest check', async () => {
    const { store, prefix } = await writeSyntheticStore({ shardSizes: [4] });
    const reader = await EmbeddingStoreReader.open(store, prefix);
    const key = `${prefix}${reader.manifest.shards[0].key}`;
    const bytes = Buffer.from(await store.get(key));
    bytes[bytes.length - 1] ^= 0xff;
    await store.put(key, bytes);
    const cache = await ShardCache.create();
    try {
      const cached = await EmbeddingStoreReader.open(store, prefix, { cache });
      await expect(cached.readShard(0)).rejects.toThrow(/changed or truncated/);
      expect(await readdir(cache.dir)).toEqual([]);
    } finally {
      await cache.clear();
    }
  });

  it('rejects bad options and an unwritable parent folder with the fix', async () => {
    await expect(ShardCache.create({ maxBytes: -1, minFreeBytes: Number.NaN })).rejects.toThrow(/maxBytes is -1.*; minFreeBytes is NaN/);
    await expect(ShardCache.create({ parentDir: '/proc/nonexistent-simpair' })).rejects.toThrow(/Cannot make a shard cache folder in .*Give a writable parentDir/);
  });
});
