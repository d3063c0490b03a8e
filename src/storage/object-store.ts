import type { Readable } from 'node:stream';
import type { PreconditionFailedError } from '../errors.ts';

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
  /** Size, modification time and version tag of an object; undefined when absent. */
  head(key: string): Promise<ObjectVersion | undefined>;
  /** Whole object and the version tag of exactly those bytes (for a later `ifMatch`). */
  getVersioned(key: string): Promise<{ body: Uint8Array; etag: string }>;
  /**
   * Conditional write: `{ ifNoneMatch: '*' }` creates the object only if it is absent,
   * `{ ifMatch: etag }` replaces it only if it is still that version. Throws
   * {@link PreconditionFailedError} when the condition does not hold.
   */
  putIf(key: string, body: Uint8Array | string, condition: WriteCondition): Promise<void>;
}

/** What {@link ObjectStore.head} reports. */
export interface ObjectVersion {
  /** Changes whenever the object is written (S3 ETag; on disk inode, size and mtime). */
  readonly etag: string;
  readonly size: number;
  readonly modifiedMs: number;
}

/** Condition of {@link ObjectStore.putIf}. */
export type WriteCondition = { readonly ifNoneMatch: '*' } | { readonly ifMatch: string };

/** Helpers on top of {@link ObjectStore}. */
export async function getJson<T>(store: ObjectStore, key: string): Promise<T> {
  return JSON.parse(Buffer.from(await store.get(key)).toString('utf8')) as T;
}

export async function putJson(store: ObjectStore, key: string, value: unknown): Promise<void> {
  await store.put(key, JSON.stringify(value, null, 2) + '\n');
}
