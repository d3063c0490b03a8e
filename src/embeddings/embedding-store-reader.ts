import { createHash } from 'node:crypto';
import { ShapeMismatchError, SimpairError } from '../errors.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { log } from '../util/log.ts';
import { float16ArrayToFloat32 } from './float16.ts';
import { MANIFEST_FILE, joinKey, parseEmbeddingManifest, type EmbeddingManifest, type EmbeddingShardEntry } from './manifest.ts';
import { asFloat16Bits, asFloat32, decodeSafetensors, type SafetensorsEntry } from './safetensors.ts';
import type { ShardCache } from './shard-cache.ts';
import { checkLabels } from './write-embedding-shard.ts';

/** One shard in memory: embeddings `[count, maxLen, hidden]` row-major, labels 0/1. */
export interface EmbeddingShard {
  readonly embeddings: Float32Array;
  readonly labels: Float32Array;
  readonly count: number;
  /** Mean-pooled vectors of each row's two sentences `[count, 2, hidden]`, when the shard has them. */
  readonly pooled?: Float32Array;
}

/** Options of {@link EmbeddingStoreReader.open}. */
export interface EmbeddingStoreReaderOptions {
  /**
   * Local copies of the shards: the first read of a shard from the store writes one, later
   * reads (later epochs) come from it. Every copy is checked against the manifest's size
   * and SHA-256 like a remote read; a bad copy is dropped and the shard read again.
   * @default undefined (every read goes to the store)
   */
  readonly cache?: ShardCache;
}

/**
 * Reads an embeddings prefix written by {@link writeEmbeddingShard} and
 * {@link writeEmbeddingManifest}, one shard at a time so memory stays at one shard.
 *
 * @example
 * const reader = await EmbeddingStoreReader.open(store, 'embeddings/run-1/');
 * const cached = await EmbeddingStoreReader.open(s3Store, 'embeddings/run-1/', { cache: await ShardCache.create() });
 * for (let i = 0; i < reader.manifest.shards.length; i++) {
 *   const { embeddings, labels, count } = await reader.readShard(i);
 * }
 */
export class EmbeddingStoreReader {
  private constructor(
    readonly store: ObjectStore,
    readonly prefix: string,
    /** The validated manifest. */
    readonly manifest: EmbeddingManifest,
    private readonly cache?: ShardCache,
  ) {}

  /** Reads and validates `manifest.json` under `prefix`. */
  static async open(store: ObjectStore, prefix: string, options: EmbeddingStoreReaderOptions = {}): Promise<EmbeddingStoreReader> {
    const key = joinKey(prefix, MANIFEST_FILE);
    const bytes = await store.get(key);
    let json: unknown;
    try {
      json = JSON.parse(Buffer.from(bytes).toString('utf8'));
    } catch (err) {
      throw new SimpairError(`${store.location}/${key} is not JSON: ${(err as Error).message}.`, { cause: err });
    }
    return new EmbeddingStoreReader(store, prefix, parseEmbeddingManifest(json, `${store.location}/${key}`), options.cache);
  }

  /** Number of shards. */
  get shardCount(): number {
    return this.manifest.shards.length;
  }

  /**
   * Reads shard `index`, verifying its SHA-256 and size against the manifest and its
   * tensors' shapes and dtype; F16 embeddings come back as float32.
   *
   * @throws LabelError when labels do not align with the embeddings or are not 0/1.
   * @throws ShapeMismatchError when the shard's shapes or dtype disagree with the manifest.
   */
  async readShard(index: number): Promise<EmbeddingShard> {
    const raw = await this.readShardFile(index);
    const { embeddings: emb, count } = raw;
    const embeddings = emb.dtype === 'F16' ? float16ArrayToFloat32(asFloat16Bits(emb)) : asFloat32(emb);
    return { embeddings, labels: Float32Array.from(raw.labels), count, ...(raw.pooled ? { pooled: asFloat32(raw.pooled) } : {}) };
  }

  /**
   * Shard `index` as stored: the file's bytes and views on its tensors, checked against the
   * manifest like {@link readShard} (size, shapes, dtype, labels), undecoded. With
   * `deferHash`, a file whose SHA-256 still needs checking (one read from the store, not a
   * trusted cache copy, and no cache to write it to) comes back with `uncheckedSha256` set
   * instead of being hashed here: the caller must hash it before using the rows (ShardDataset's
   * worker threads do, off the main thread) and report a mismatch with {@link hashMismatch}.
   */
  async readShardFile(index: number, options: { deferHash?: boolean } = {}): Promise<StoredShard> {
    const { manifest } = this;
    const entry = manifest.shards[index];
    if (entry === undefined) {
      throw new SimpairError(`No embeddings shard ${index} under ${this.prefix}: it has ${manifest.shards.length} (0..${manifest.shards.length - 1}).`);
    }
    const key = joinKey(this.prefix, entry.key);
    const where = `Embeddings shard ${index} (${this.store.location}/${key})`;
    const { file, uncheckedSha256 } = await this.fetchVerified(entry, key, where, options.deferHash === true);
    try {
      return this.checkShardFile(file, entry, where, uncheckedSha256);
    } catch (err) {
      // A file not hashed yet that fails a check: the hash, when it differs, is the real story.
      if (uncheckedSha256 !== undefined) {
        const sha256 = sha256Hex(file);
        if (sha256 !== uncheckedSha256) throw this.hashMismatch({ where, file }, sha256, uncheckedSha256);
      }
      throw err;
    }
  }

  private checkShardFile(file: Uint8Array, entry: EmbeddingShardEntry, where: string, uncheckedSha256: string | undefined): StoredShard {
    const { manifest } = this;
    const { tensors } = decodeSafetensors(file, where);
    const emb = required(tensors, 'embeddings', where);
    const lab = required(tensors, 'labels', where);
    if (lab.dtype !== 'U8' || lab.shape.length !== 1) {
      throw new ShapeMismatchError(`${where}: labels are ${lab.dtype} [${lab.shape.join(', ')}], expected U8 [count].`);
    }
    if (emb.shape.length !== 3) {
      throw new ShapeMismatchError(`${where}: embeddings have shape [${emb.shape.join(', ')}], expected 3D [count, maxLen, hidden].`);
    }
    const labels = lab.bytes;
    checkLabels(labels, emb.shape[0], where);
    const expectedDtype = manifest.dtype === 'float16' ? 'F16' : 'F32';
    const [count, maxLen, hidden] = emb.shape;
    if (count !== entry.count || maxLen !== manifest.maxLen || hidden !== manifest.hidden || emb.dtype !== expectedDtype) {
      throw new ShapeMismatchError(
        `${where}: embeddings are ${emb.dtype} [${emb.shape.join(', ')}], the manifest says ${expectedDtype} ` +
          `[${entry.count}, ${manifest.maxLen}, ${manifest.hidden}]. Re-create the embeddings.`,
      );
    }
    const pooledEntry = tensors.get('pooled');
    if (pooledEntry && (pooledEntry.dtype !== 'F32' || pooledEntry.shape.join() !== [count, 2, hidden].join())) {
      throw new ShapeMismatchError(`${where}: pooled vectors are ${pooledEntry.dtype} [${pooledEntry.shape.join(', ')}], expected F32 [${count}, 2, ${hidden}]. Re-create the embeddings.`);
    }
    return { file, embeddings: emb, labels, count, where, ...(pooledEntry ? { pooled: pooledEntry } : {}), ...(uncheckedSha256 ? { uncheckedSha256 } : {}) };
  }

  /** The error {@link readShard} throws when a shard's bytes do not hash to the manifest's SHA-256. */
  hashMismatch(shard: Pick<StoredShard, 'where' | 'file'>, sha256: string, expected: string): SimpairError {
    return new SimpairError(
      `${shard.where} is ${shard.file.byteLength} bytes with SHA-256 ${sha256}, the manifest says ${shard.file.byteLength} bytes and ${expected}; ` +
        `the shard was changed or truncated. Re-create the embeddings.`,
    );
  }

  /**
   * The shard's bytes, from the cache when it has a good copy, checked against the manifest.
   * A copy the cache wrote after verifying it is not hashed again; with `deferHash`, a read
   * from the store without a cache is not hashed here (its expected hash is returned).
   */
  private async fetchVerified(entry: EmbeddingShardEntry, key: string, where: string, deferHash: boolean): Promise<{ file: Uint8Array; uncheckedSha256?: string }> {
    const { cache } = this;
    const local = await cache?.readEntry(entry.key, entry.bytes);
    if (local !== undefined && cache !== undefined) {
      if (local.verifiedSha256 === entry.sha256) return { file: local.bytes };
      if (sha256Hex(local.bytes) === entry.sha256) return { file: local.bytes };
      log('warn', 'Cached embeddings shard does not match the manifest; reading it from the store again', { shard: key, cacheDir: cache.dir });
      await cache.evict(entry.key);
    }
    const file = await this.store.get(key, { expectedBytes: entry.bytes });
    if (file.byteLength !== entry.bytes) {
      throw new SimpairError(
        `${where} is ${file.byteLength} bytes, the manifest says ${entry.bytes} bytes and SHA-256 ${entry.sha256}; the shard was changed or truncated. Re-create the embeddings.`,
      );
    }
    if (deferHash && cache === undefined) return { file, uncheckedSha256: entry.sha256 };
    const sha256 = sha256Hex(file);
    if (sha256 !== entry.sha256) {
      throw new SimpairError(
        `${where} is ${file.byteLength} bytes with SHA-256 ${sha256}, the manifest says ${entry.bytes} bytes and ${entry.sha256}; ` +
          `the shard was changed or truncated. Re-create the embeddings.`,
      );
    }
    await cache?.write(entry.key, file, sha256);
    return { file };
  }
}

/** A shard as stored (see EmbeddingStoreReader.readShardFile): the file and views on its tensors. */
export interface StoredShard {
  /** The whole safetensors file. */
  readonly file: Uint8Array;
  /** F32 or F16 `[count, maxLen, hidden]`, a view on `file` (or an aligned copy). */
  readonly embeddings: SafetensorsEntry;
  /** 0/1 per row, checked. */
  readonly labels: Uint8Array;
  readonly pooled?: SafetensorsEntry;
  readonly count: number;
  /** `Embeddings shard N (location/key)`, for messages. */
  readonly where: string;
  /** Set when the file's SHA-256 is still to be checked against this (readShardFile's deferHash). */
  readonly uncheckedSha256?: string;
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function required(tensors: ReadonlyMap<string, SafetensorsEntry>, name: string, where: string): SafetensorsEntry {
  const t = tensors.get(name);
  if (t === undefined) {
    throw new ShapeMismatchError(`${where} has no "${name}" tensor (has ${[...tensors.keys()].join(', ') || 'none'}).`);
  }
  return t;
}
