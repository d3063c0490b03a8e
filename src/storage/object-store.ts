import type { Readable } from 'node:stream';

/** Options of {@link ObjectStore.get}. */
export interface GetOptions {
  /**
   * The object's size when the caller knows it (a manifest says so): lets a remote store
   * read a large object in parallel ranges without asking for its size first. A wrong
   * value costs speed, never correctness: the store then reads the object in one piece.
   * @default undefined (unknown)
   */
  readonly expectedBytes?: number;
}

/**
 * One small interface over objects (keys are `/`-separated, no leading slash). The local
 * default is {@link FsObjectStore}; the cloud one is `S3ObjectStore`. Implementations know
 * nothing of what the objects mean.
 */
export interface ObjectStore {
  /** Human-readable location, for messages (`/path/to/dir`, `s3://bucket/prefix`). */
  readonly location: string;
  /** Whole object as bytes; throws {@link NotFoundError} when absent. */
  get(key: string, options?: GetOptions): Promise<Uint8Array>;
  /** Streaming read; throws {@link NotFoundError} when absent. */
  getStream(key: string): Promise<Readable>;
  /** Writes an object atomically: readers see the old object or the new one, never half. */
  put(key: string, body: Uint8Array | string): Promise<void>;
  exists(key: string): Promise<boolean>;
  /** Keys under a prefix, sorted. */
  list(prefix: string): Promise<string[]>;
  delete(key: string): Promise<void>;
}

/** Helpers on top of {@link ObjectStore}. */
export async function getJson<T>(store: ObjectStore, key: string): Promise<T> {
  return JSON.parse(Buffer.from(await store.get(key)).toString('utf8')) as T;
}

export async function putJson(store: ObjectStore, key: string, value: unknown): Promise<void> {
  await store.put(key, JSON.stringify(value, null, 2) + '\n');
}
