import { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { NotFoundError, PreconditionFailedError, SimpairError } from '../errors.ts';
import { runPool } from '../util/run-pool.ts';
import { parseContentRange, planByteRanges, rangeHeader, type ByteRange } from './byte-ranges.ts';
import type { GetOptions, ObjectStore, ObjectVersion, WriteCondition } from './object-store.ts';
import { downloadObjectToFile, type DownloadedFile, type DownloadToFileOptions } from './s3-download.ts';

const MIB = 1024 * 1024;
/** S3 refuses multipart parts under 5 MiB (except the last one). */
const MIN_PART_SIZE = 5 * MIB;

/** Options of {@link S3ObjectStore}. */
export interface S3ObjectStoreOptions {
  /** Bucket name. */
  readonly bucket: string;
  /** Key prefix every key is placed under (`a/b/` or `a/b`; a missing trailing slash is added). @default '' (bucket root) */
  readonly prefix?: string;
  /** A ready client (tests, custom credentials). When given, `region`, `endpoint` and `forcePathStyle` are ignored. @default a new S3Client */
  readonly client?: S3Client;
  /** @default the SDK's resolution (AWS_REGION, profile) */
  readonly region?: string;
  /** Endpoint of an S3-compatible server, e.g. `http://127.0.0.1:4569`. @default AWS */
  readonly endpoint?: string;
  /** `http://host/bucket/key` addressing, needed by most local servers. @default true when `endpoint` is set, else false */
  readonly forcePathStyle?: boolean;
  /** Bodies larger than this many bytes go up as a multipart upload. @default 8 MiB */
  readonly multipartThreshold?: number;
  /** Part size of multipart uploads, at least 5 MiB. @default 8 MiB */
  readonly partSize?: number;
  /** Parts uploaded in parallel. @default 4 */
  readonly uploadConcurrency?: number;
  /** Keys per ListObjectsV2 page (S3 caps it at 1000). @default 1000 */
  readonly listPageSize?: number;
  /** `get` reads objects larger than this in ranged GETs of this many bytes. @default 8 MiB */
  readonly readPartSize?: number;
  /** Ranged GETs of one `get` in flight at once. @default 8 */
  readonly readConcurrency?: number;
}

/**
 * {@link ObjectStore} on an S3 bucket (or any S3-protocol server). Small bodies are one
 * PutObject (atomic by S3's semantics); bodies over `multipartThreshold` go through
 * `@aws-sdk/lib-storage`'s multipart Upload, which S3 also makes visible only once complete.
 *
 * @example
 * const store = new S3ObjectStore({ bucket: 'my-simpair-bucket' });
 * await store.put('runs/1/status.json', '{}');
 * const local = new S3ObjectStore({ bucket: 'b', endpoint: 'http://127.0.0.1:4569' });
 */
export class S3ObjectStore implements ObjectStore {
  readonly bucket: string;
  readonly prefix: string;
  readonly location: string;
  readonly client: S3Client;
  private readonly multipartThreshold: number;
  private readonly partSize: number;
  private readonly uploadConcurrency: number;
  private readonly listPageSize: number;
  private readonly readPartSize: number;
  private readonly readConcurrency: number;

  constructor(options: S3ObjectStoreOptions) {
    const {
      bucket,
      prefix = '',
      client,
      region,
      endpoint,
      forcePathStyle = endpoint !== undefined,
      multipartThreshold = 8 * MIB,
      partSize = 8 * MIB,
      uploadConcurrency = 4,
      listPageSize = 1000,
      readPartSize = 8 * MIB,
      readConcurrency = 8,
    } = options;
    const problems: string[] = [];
    if (!bucket) problems.push('bucket must be a non-empty bucket name');
    if (partSize < MIN_PART_SIZE) problems.push(`partSize is ${partSize} bytes; S3 needs at least ${MIN_PART_SIZE} (5 MiB)`);
    if (!(listPageSize >= 1 && listPageSize <= 1000)) problems.push(`listPageSize is ${listPageSize}; use 1..1000`);
    if (!(uploadConcurrency >= 1)) problems.push(`uploadConcurrency is ${uploadConcurrency}; use 1 or more`);
    if (!(Number.isSafeInteger(readPartSize) && readPartSize >= 1)) problems.push(`readPartSize is ${readPartSize}; use a whole number of bytes >= 1`);
    if (!(Number.isInteger(readConcurrency) && readConcurrency >= 1)) problems.push(`readConcurrency is ${readConcurrency}; use 1 or more`);
    if (prefix.startsWith('/')) problems.push(`prefix "${prefix}" starts with "/"; S3 keys have no leading slash`);
    if (problems.length) throw new SimpairError(`Invalid S3ObjectStore options: ${problems.join('; ')}.`);

    this.bucket = bucket;
    this.prefix = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
    this.location = `s3://${bucket}/${this.prefix}`;
    const config: S3ClientConfig = { forcePathStyle };
    if (region) config.region = region;
    if (endpoint) config.endpoint = endpoint;
    this.client = client ?? new S3Client(config);
    this.multipartThreshold = multipartThreshold;
    this.partSize = partSize;
    this.uploadConcurrency = uploadConcurrency;
    this.listPageSize = listPageSize;
    this.readPartSize = readPartSize;
    this.readConcurrency = readConcurrency;
  }

  private key(key: string): string {
    if (key.startsWith('/') || key.split('/').includes('..')) {
      throw new SimpairError(`Object key "${key}" is not a relative key; use "a/b/c" without a leading "/" or "..".`);
    }
    return this.prefix + key;
  }

  /**
   * Whole object. With `expectedBytes` over `readPartSize` (a manifest knows the size), it
   * comes in parallel ranged GETs ({@link getInParts}); otherwise in one GET.
   */
  async get(key: string, options: GetOptions = {}): Promise<Uint8Array> {
    const { expectedBytes } = options;
    if (expectedBytes !== undefined && expectedBytes > this.readPartSize) return this.getInParts(key, expectedBytes);
    return bodyBytes((await this.getObject(key)).Body);
  }

  async getStream(key: string): Promise<Readable> {
    const body = (await this.getObject(key)).Body as unknown;
    if (body === undefined) return Readable.from([]);
    if (body instanceof Readable) return body;
    // In Node the SDK returns an IncomingMessage (a Readable); anything else is adapted.
    return Readable.from(body as AsyncIterable<Uint8Array>);
  }

  private async getObject(key: string) {
    try {
      return await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(key) }));
    } catch (err) {
      if (isNotFound(err)) throw new NotFoundError(`No object "${key}" in ${this.location}.`, { cause: err });
      throw err;
    }
  }

  /**
   * Whole object of `totalBytes` through ranged GETs of `readPartSize` bytes (cut by
   * {@link planByteRanges}), `readConcurrency` in flight: one S3 connection tops out far
   * below an instance's bandwidth, parallel ranges do not. Every range must report the same
   * ETag, so an object replaced mid-read is an error, never a mix of two versions. When the
   * object is not `totalBytes` long (or the server ignores ranges) it falls back to one
   * plain GET, so the caller's own size check reports it.
   *
   * @throws NotFoundError when the object is absent.
   * @example
   * const bytes = await store.getInParts('embeddings/run-1/shard-00000.safetensors', entry.bytes);
   */
  async getInParts(key: string, totalBytes: number): Promise<Uint8Array> {
    const parts = planByteRanges(totalBytes, this.readPartSize);
    const out = new Uint8Array(totalBytes);
    const etags = new Set<string | undefined>();
    let sizeDiffers = false;
    try {
      await runPool(parts, this.readConcurrency, async (part) => {
        const got = await this.getRange(key, part);
        if (got?.range?.total !== totalBytes || got.range.start !== part.start || got.bytes.byteLength !== part.end - part.start + 1) {
          sizeDiffers = true;
          throw new SimpairError('size differs'); // stops the pool; handled below
        }
        etags.add(got.etag);
        out.set(got.bytes, part.start);
      });
    } catch (err) {
      if (!sizeDiffers) throw err;
      return bodyBytes((await this.getObject(key)).Body);
    }
    if (etags.size > 1) {
      throw new SimpairError(`Object "${key}" in ${this.location} was replaced while being read in ranges (ETags ${[...etags].join(', ')}). Retry.`);
    }
    return out;
  }

  /** One ranged GET; undefined when the range is not satisfiable (past the object's end). */
  private async getRange(key: string, part: ByteRange): Promise<{ bytes: Uint8Array; range?: { start: number; end: number; total: number }; etag?: string } | undefined> {
    let out;
    try {
      out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(key), Range: rangeHeader(part) }));
    } catch (err) {
      if (isNotFound(err)) throw new NotFoundError(`No object "${key}" in ${this.location}.`, { cause: err });
      if (errorName(err) === 'InvalidRange' || httpStatus(err) === 416) return undefined;
      throw err;
    }
    return { bytes: await bodyBytes(out.Body), range: parseContentRange(out.ContentRange), etag: out.ETag };
  }

  async put(key: string, body: Uint8Array | string): Promise<void> {
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    const Key = this.key(key);
    if (bytes.byteLength > this.multipartThreshold) {
      const upload = new Upload({
        client: this.client,
        params: { Bucket: this.bucket, Key, Body: bytes },
        partSize: this.partSize,
        queueSize: this.uploadConcurrency,
        // An aborted upload must not leave billed, invisible parts behind.
        leavePartsOnError: false,
      });
      await upload.done();
      return;
    }
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key, Body: bytes, ContentLength: bytes.byteLength }));
  }

  async getVersioned(key: string): Promise<{ body: Uint8Array; etag: string }> {
    const out = await this.getObject(key);
    return { body: await bodyBytes(out.Body), etag: out.ETag ?? '' };
  }

  async head(key: string): Promise<ObjectVersion | undefined> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(key) }));
      return { etag: out.ETag ?? '', size: out.ContentLength ?? 0, modifiedMs: out.LastModified?.getTime() ?? 0 };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /**
   * One PutObject with `If-None-Match: *` or `If-Match: <etag>` (S3 honours both since
   * 2024). S3 answers 412 when the condition fails and 409 when a concurrent conditional
   * write won; both become {@link PreconditionFailedError}. Note: s3rver 3.7, the local test
   * server, ignores these headers on PUT, so there the write is unconditional.
   */
  async putIf(key: string, body: Uint8Array | string, condition: WriteCondition): Promise<void> {
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    const cond = 'ifNoneMatch' in condition ? { IfNoneMatch: condition.ifNoneMatch } : { IfMatch: condition.ifMatch };
    try {
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.key(key), Body: bytes, ContentLength: bytes.byteLength, ...cond }));
    } catch (err) {
      const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
      const status = e?.$metadata?.httpStatusCode;
      if (status === 412 || status === 409 || e?.name === 'PreconditionFailed' || e?.name === 'ConditionalRequestConflict') {
        throw new PreconditionFailedError(`Conditional write of "${key}" in ${this.location} lost (${'ifNoneMatch' in condition ? 'it already exists' : 'it changed since it was read'}).`, { cause: err });
      }
      throw err;
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(key) }));
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  async list(prefix: string): Promise<string[]> {
    const out: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.key(prefix), MaxKeys: this.listPageSize, ContinuationToken: token }),
      );
      for (const o of page.Contents ?? []) {
        if (o.Key !== undefined) out.push(o.Key.slice(this.prefix.length));
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out.sort();
  }

  /**
   * Streams an object to a local file in parallel ranged GETs, never holding it whole in
   * memory (see {@link downloadObjectToFile}); the file appears only when complete.
   */
  async downloadToFile(key: string, path: string, options: DownloadToFileOptions = {}): Promise<DownloadedFile> {
    return downloadObjectToFile(this.client, this.bucket, this.key(key), path, options);
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(key) }));
  }
}

/** An SDK response body (a Readable in Node, a web stream elsewhere) as bytes. */
async function bodyBytes(body: unknown): Promise<Uint8Array> {
  if (body === undefined) return new Uint8Array();
  if (typeof (body as { transformToByteArray?: unknown }).transformToByteArray === 'function') {
    return (body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray();
  }
  const chunks: Buffer[] = [];
  for await (const chunk of body as AsyncIterable<Uint8Array | string>) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

function errorName(err: unknown): string | undefined {
  const e = err as { name?: string; Code?: string };
  return e?.name ?? e?.Code;
}

function httpStatus(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
  // A missing bucket is a configuration error, not a missing object: let it through.
  if (e?.name === 'NoSuchBucket' || e?.Code === 'NoSuchBucket') return false;
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.Code === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404;
}
