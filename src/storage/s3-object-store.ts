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
import { NotFoundError, SimpairError } from '../errors.ts';
import type { ObjectStore } from './object-store.ts';

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
    } = options;
    const problems: string[] = [];
    if (!bucket) problems.push('bucket must be a non-empty bucket name');
    if (partSize < MIN_PART_SIZE) problems.push(`partSize is ${partSize} bytes; S3 needs at least ${MIN_PART_SIZE} (5 MiB)`);
    if (!(listPageSize >= 1 && listPageSize <= 1000)) problems.push(`listPageSize is ${listPageSize}; use 1..1000`);
    if (!(uploadConcurrency >= 1)) problems.push(`uploadConcurrency is ${uploadConcurrency}; use 1 or more`);
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
  }

  private key(key: string): string {
    if (key.startsWith('/') || key.split('/').includes('..')) {
      throw new SimpairError(`Object key "${key}" is not a relative key; use "a/b/c" without a leading "/" or "..".`);
    }
    return this.prefix + key;
  }

  async get(key: string): Promise<Uint8Array> {
    const body = await this.getBody(key);
    if (body === undefined) return new Uint8Array();
    if (typeof (body as { transformToByteArray?: unknown }).transformToByteArray === 'function') {
      return (body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray();
    }
    const chunks: Buffer[] = [];
    for await (const chunk of body as AsyncIterable<Uint8Array | string>) chunks.push(Buffer.from(chunk));
    return Buffer.concat(chunks);
  }

  async getStream(key: string): Promise<Readable> {
    const body = await this.getBody(key);
    if (body === undefined) return Readable.from([]);
    if (body instanceof Readable) return body;
    // In Node the SDK returns an IncomingMessage (a Readable); anything else is adapted.
    return Readable.from(body as AsyncIterable<Uint8Array>);
  }

  private async getBody(key: string): Promise<unknown> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(key) }));
      return out.Body;
    } catch (err) {
      if (isNotFound(err)) throw new NotFoundError(`No object "${key}" in ${this.location}.`, { cause: err });
      throw err;
    }
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

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(key) }));
  }
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
  // A missing bucket is a configuration error, not a missing object: let it through.
  if (e?.name === 'NoSuchBucket' || e?.Code === 'NoSuchBucket') return false;
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.Code === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404;
}
