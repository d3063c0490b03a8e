import { mkdtemp, readFile, rename, rm, stat, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { SimpairError } from '../errors.ts';
import { log } from '../util/log.ts';

const GIB = 1024 ** 3;

/** Options of {@link ShardCache.create}. */
export interface ShardCacheOptions {
  /** Directory the cache makes its own temporary folder in (and removes on `clear`). @default os.tmpdir() */
  readonly parentDir?: string;
  /** Most bytes the cache holds; shards past it are read from the store every time. @default Infinity */
  readonly maxBytes?: number;
  /** Free space to leave on the cache's disk: a shard that would leave less is not cached. @default 1 GiB */
  readonly minFreeBytes?: number;
}

/** What a cache did, for logs and tests. */
export interface ShardCacheStats {
  /** Reads answered from local disk. */
  hits: number;
  /** Reads that found no local copy. */
  misses: number;
  /** Shards copied to local disk. */
  writes: number;
  /** Shards not copied because of `maxBytes` or `minFreeBytes`. */
  skipped: number;
  /** Local copies dropped because their bytes no longer matched the manifest. */
  evicted: number;
}

/**
 * Local-disk copies of embedding shards, so that a training job reads each shard from
 * remote storage once and every later epoch from disk. It stores bytes only: the
 * {@link EmbeddingStoreReader} that uses it checks every copy against the manifest's size
 * and SHA-256 on every read, and drops a copy that fails. The cache lives in a folder of its
 * own, removed by {@link clear}.
 *
 * @example
 * const cache = await ShardCache.create({ parentDir: '/scratch' });
 * try {
 *   const reader = await EmbeddingStoreReader.open(s3Store, 'embeddings/run-1/', { cache });
 *   // ... train several epochs ...
 * } finally {
 *   await cache.clear();
 * }
 */
export class ShardCache {
  readonly stats: ShardCacheStats = { hits: 0, misses: 0, writes: 0, skipped: 0, evicted: 0 };
  /** Bytes of each cached key. */
  private readonly held = new Map<string, number>();
  private warned = false;

  private constructor(
    /** The cache's own folder. */
    readonly dir: string,
    private readonly maxBytes: number,
    private readonly minFreeBytes: number,
  ) {}

  /** Makes the cache's folder under `parentDir`. */
  static async create(options: ShardCacheOptions = {}): Promise<ShardCache> {
    const { parentDir = tmpdir(), maxBytes = Number.POSITIVE_INFINITY, minFreeBytes = GIB } = options;
    const problems: string[] = [];
    if (!(maxBytes >= 0)) problems.push(`maxBytes is ${maxBytes}; use a number of bytes >= 0`);
    if (!(minFreeBytes >= 0)) problems.push(`minFreeBytes is ${minFreeBytes}; use a number of bytes >= 0`);
    if (problems.length) throw new SimpairError(`Invalid ShardCache options: ${problems.join('; ')}.`);
    let dir: string;
    try {
      dir = await mkdtemp(join(parentDir, 'simpair-shards-'));
    } catch (err) {
      throw new SimpairError(`Cannot make a shard cache folder in ${parentDir}: ${(err as Error).message}. Give a writable parentDir.`, { cause: err });
    }
    return new ShardCache(dir, maxBytes, minFreeBytes);
  }

  /** Bytes of the shards cached now. */
  get bytes(): number {
    let total = 0;
    for (const n of this.held.values()) total += n;
    return total;
  }

  private path(key: string): string {
    // One flat folder: the key's `/` cannot make sub-folders or escape it.
    return join(this.dir, encodeURIComponent(key));
  }

  /** The local copy of `key` when there is one of `expectedBytes` bytes; undefined otherwise. */
  async read(key: string, expectedBytes: number): Promise<Uint8Array | undefined> {
    const path = this.path(key);
    const size = await stat(path).then(
      (s) => s.size,
      () => undefined,
    );
    if (size !== expectedBytes) {
      this.stats.misses++;
      return undefined;
    }
    this.stats.hits++;
    return readFile(path);
  }

  /**
   * Copies `bytes` as `key` (atomically: a temporary file renamed into place) unless that
   * would pass `maxBytes` or leave less than `minFreeBytes` free. A full disk is not an
   * error for training: the shard is then just read remotely again.
   *
   * @returns whether the shard was cached.
   */
  async write(key: string, bytes: Uint8Array): Promise<boolean> {
    const free = await statfs(this.dir).then(
      (s) => s.bavail * s.bsize,
      () => 0,
    );
    const others = this.bytes - (this.held.get(key) ?? 0);
    if (others + bytes.byteLength > this.maxBytes || free - bytes.byteLength < this.minFreeBytes) {
      this.stats.skipped++;
      if (!this.warned) {
        this.warned = true;
        log('warn', 'Shard cache full: further shards are read from the store every epoch', {
          dir: this.dir,
          cachedBytes: this.bytes,
          freeBytes: free,
          maxBytes: this.maxBytes,
          minFreeBytes: this.minFreeBytes,
        });
      }
      return false;
    }
    const path = this.path(key);
    const tmp = `${path}.${randomUUID()}.tmp`;
    try {
      await writeFile(tmp, bytes);
      await rename(tmp, path);
    } catch (err) {
      await rm(tmp, { force: true });
      this.stats.skipped++;
      log('warn', 'Shard cache write failed; the shard is read from the store again next time', { key, error: (err as Error).message });
      return false;
    }
    this.held.set(key, bytes.byteLength);
    this.stats.writes++;
    return true;
  }

  /** Drops the local copy of `key` (its bytes did not match the manifest). */
  async evict(key: string): Promise<void> {
    await rm(this.path(key), { force: true });
    this.held.delete(key);
    this.stats.evicted++;
  }

  /** Removes the cache's folder and everything in it. */
  async clear(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
    this.held.clear();
  }
}
