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
    const { manifest } = this;
    const entry = manifest.shards[index];
    if (entry === undefined) {
      throw new SimpairError(`No embeddings shard ${index} under ${this.prefix}: it has ${manifest.shards.length} (0..${manifest.shards.length - 1}).`);
    }
    const key = joinKey(this.prefix, entry.key);
    const where = `Embeddings shard ${index} (${this.store.location}/${key})`;
    const file = await this.fetchVerified(entry, key, where);
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
    const embeddings = emb.dtype === 'F16' ? float16ArrayToFloat32(asFloat16Bits(emb)) : asFloat32(emb);
    const pooledEntry = tensors.get('pooled');
    if (pooledEntry && (pooledEntry.dtype !== 'F32' || pooledEntry.shape.join() !== [count, 2, hidden].join())) {
      throw new ShapeMismatchError(`${where}: pooled vectors are ${pooledEntry.dtype} [${pooledEntry.shape.join(', ')}], expected F32 [${count}, 2, ${hidden}]. Re-create the embeddings.`);
    }
    return { embeddings, labels: Float32Array.from(labels), count, ...(pooledEntry ? { pooled: asFloat32(pooledEntry) } : {}) };
  }

  /** The shard's bytes, from the cache when it has a good copy, checked against the manifest. */
  private async fetchVerified(entry: EmbeddingShardEntry, key: string, where: string): Promise<Uint8Array> {
    const { cache } = this;
    const local = await cache?.read(entry.key, entry.bytes);
    if (local !== undefined && cache !== undefined) {
      if (sha256Hex(local) === entry.sha256) return local;
      log('warn', 'Cached embeddings shard does not match the manifest; reading it from the store again', { shard: key, cacheDir: cache.dir });
      await cache.evict(entry.key);
    }
    const file = await this.store.get(key, { expectedBytes: entry.bytes });
    const sha256 = sha256Hex(file);
    if (file.byteLength !== entry.bytes || sha256 !== entry.sha256) {
      throw new SimpairError(
        `${where} is ${file.byteLength} bytes with SHA-256 ${sha256}, the manifest says ${entry.bytes} bytes and ${entry.sha256}; ` +
          `the shard was changed or truncated. Re-create the embeddings.`,
      );
    }
    await cache?.write(entry.key, file);
    return file;
  }
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
