import type { Stats } from 'node:fs';
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
  /**
   * Hits whose bytes needed no new SHA-256: the copy this cache wrote after the reader had
   * verified it, unchanged since (same inode, size and modification time).
   */
  trusted: number;
}

/** What the cache knows of a copy it wrote. */
interface HeldCopy {
  readonly bytes: number;
  /** The SHA-256 the reader verified before handing the bytes to `write`, when it said. */
  readonly sha256?: string;
  readonly ino: number;
  readonly mtimeMs: number;
}

/** One local copy read back: its bytes, and its verified SHA-256 when it is trusted. */
export interface CachedShard {
  readonly bytes: Uint8Array;
  /**
   * Set when this cache wrote the copy with that verified SHA-256 and the file is unchanged
   * since (inode, size, modification time): the reader skips hashing it again.
   */
  readonly verifiedSha256?: string;
}

/**
 * Local-disk copies of embedding shards, so that a training job reads each shard from
 * remote storage once and every later epoch from disk. It stores bytes only: the
 * {@link EmbeddingStoreReader} that uses it verifies a shard's size and SHA-256 before
 * writing it here, and hashes a copy again only when the file is not the one the cache
 * wrote (another inode, size or modification time); a copy that fails is dropped. Hashing
 * once at entry, not on every read, is what lets a reader keep a GPU fed (bench datapath
 * stage). The cache lives in a folder of its own (mode 0700, from mkdtemp), removed by
 * {@link clear}.
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
  readonly stats: ShardCacheStats = { hits: 0, misses: 0, writes: 0, skipped: 0, evicted: 0, trusted: 0 };
  /** Each cached key's copy. */
  private readonly held = new Map<string, HeldCopy>();
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
    for (const c of this.held.values()) total += c.bytes;
    return total;
  }

  private path(key: string): string {
    // One flat folder: the key's `/` cannot make sub-folders or escape it.
    return join(this.dir, encodeURIComponent(key));
  }

  /** The local copy of `key` when there is one of `expectedBytes` bytes; undefined otherwise. */
  async read(key: string, expectedBytes: number): Promise<Uint8Array | undefined> {
    return (await this.readEntry(key, expectedBytes))?.bytes;
  }

  /**
   * The local copy of `key` when there is one of `expectedBytes` bytes, with its verified
   * SHA-256 when the cache wrote it and it is unchanged (see {@link CachedShard}).
   */
  async readEntry(key: string, expectedBytes: number): Promise<CachedShard | undefined> {
    const path = this.path(key);
    const info = await stat(path).then(
      (s) => s,
      () => undefined,
    );
    if (info?.size !== expectedBytes) {
      this.stats.misses++;
      return undefined;
    }
    this.stats.hits++;
    const bytes = await readFile(path);
    const held = this.held.get(key);
    // Checked after the read too: a file replaced while it was read is not trusted.
    const after = await stat(path).then(
      (s) => s,
      () => undefined,
    );
    const same = (s: Stats | undefined) => s !== undefined && held !== undefined && s.ino === held.ino && s.size === held.bytes && s.mtimeMs === held.mtimeMs;
    if (held?.sha256 !== undefined && same(info) && same(after)) {
      this.stats.trusted++;
      return { bytes, verifiedSha256: held.sha256 };
    }
    return { bytes };
  }

  /**
   * Copies `bytes` as `key` (atomically: a temporary file renamed into place) unless that
   * would pass `maxBytes` or leave less than `minFreeBytes` free. A full disk is not an
   * error for training: the shard is then just read remotely again.
   *
   * `sha256` is the hash the caller verified `bytes` against: later reads of this copy
   * return it as `verifiedSha256` (and skip hashing) while the file is unchanged.
   *
   * @returns whether the shard was cached.
   */
  async write(key: string, bytes: Uint8Array, sha256?: string): Promise<boolean> {
    const free = await statfs(this.dir).then(
      (s) => s.bavail * s.bsize,
      () => 0,
    );
    const others = this.bytes - (this.held.get(key)?.bytes ?? 0);
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
    let written: { ino: number; mtimeMs: number };
    try {
      await writeFile(tmp, bytes);
      written = await stat(tmp);
      await rename(tmp, path); // rename keeps the inode and modification time
    } catch (err) {
      await rm(tmp, { force: true });
      this.stats.skipped++;
      log('warn', 'Shard cache write failed; the shard is read from the store again next time', { key, error: (err as Error).message });
      return false;
    }
    this.held.set(key, { bytes: bytes.byteLength, ...(sha256 !== undefined ? { sha256 } : {}), ino: written.ino, mtimeMs: written.mtimeMs });
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
