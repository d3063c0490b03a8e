import { Readable } from 'node:stream';
import { beforeEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { S3ObjectStore } from '../../src/storage/s3-object-store.ts';
import { NotFoundError, PreconditionFailedError, SimpairError } from '../../src/errors.ts';

const client = new S3Client({ region: 'us-east-1' });
const s3 = mockClient(client);

function store(extra: Partial<ConstructorParameters<typeof S3ObjectStore>[0]> = {}): S3ObjectStore {
  return new S3ObjectStore({ bucket: 'b', prefix: 'p', client, ...extra });
}

function notFound(name = 'NoSuchKey'): Error {
  if (name === 'NoSuchKey') return new NoSuchKey({ message: 'The specified key does not exist.', $metadata: { httpStatusCode: 404 } });
  return Object.assign(new Error(name), { name, $metadata: { httpStatusCode: 404 } });
}

beforeEach(() => s3.reset());

describe('S3ObjectStore', () => {
  it('puts small bodies with one PutObject under the prefix', async () => {
    s3.on(PutObjectCommand).resolves({});
    await store().put('runs/1/status.json', '{"a":1}');
    const calls = s3.commandCalls(PutObjectCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0].args[0].input).toMatchObject({ Bucket: 'b', Key: 'p/runs/1/status.json', ContentLength: 7 });
    expect(Buffer.from(calls[0].args[0].input.Body as Uint8Array).toString()).toBe('{"a":1}');
    expect(s3.commandCalls(CreateMultipartUploadCommand)).toHaveLength(0);
  });

  it('uses a multipart upload above the threshold', async () => {
    s3.on(CreateMultipartUploadCommand).resolves({ UploadId: 'u1' });
    s3.on(UploadPartCommand).resolves({ ETag: '"e"' });
    s3.on(CompleteMultipartUploadCommand).resolves({});
    const body = new Uint8Array(12 * 1024 * 1024);
    await store({ multipartThreshold: 8 * 1024 * 1024, partSize: 5 * 1024 * 1024 }).put('embeddings/r/0.bin', body);
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
    expect(s3.commandCalls(CreateMultipartUploadCommand)[0].args[0].input).toMatchObject({ Bucket: 'b', Key: 'p/embeddings/r/0.bin' });
    // 12 MiB in 5 MiB parts: 5 + 5 + 2.
    expect(s3.commandCalls(UploadPartCommand)).toHaveLength(3);
    expect(s3.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(1);
  });

  it('reads whole objects and streams', async () => {
    s3.on(GetObjectCommand, { Key: 'p/a.txt' }).callsFake(async () => ({ Body: Readable.from([Buffer.from('hel'), Buffer.from('lo')]) }));
    expect(Buffer.from(await store().get('a.txt')).toString()).toBe('hello');
    const stream = await store().getStream('a.txt');
    expect(stream).toBeInstanceOf(Readable);
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(Buffer.from(c));
    expect(Buffer.concat(chunks).toString()).toBe('hello');
  });

  it('maps NoSuchKey to NotFoundError naming the key and location', async () => {
    s3.on(GetObjectCommand).rejects(notFound());
    await expect(store().get('missing.json')).rejects.toThrow(NotFoundError);
    await expect(store().getStream('missing.json')).rejects.toThrow(/No object "missing.json" in s3:\/\/b\/p\//);
  });

  it('does not turn a missing bucket into a missing object', async () => {
    s3.on(GetObjectCommand).rejects(notFound('NoSuchBucket'));
    const err = await store().get('x').catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(NotFoundError);
    expect((err as Error).name).toBe('NoSuchBucket');
  });

  it('answers exists from HeadObject', async () => {
    s3.on(HeadObjectCommand, { Key: 'p/yes' }).resolves({});
    s3.on(HeadObjectCommand, { Key: 'p/no' }).rejects(notFound('NotFound'));
    expect(await store().exists('yes')).toBe(true);
    expect(await store().exists('no')).toBe(false);
  });

  it('lists every page, strips the prefix and sorts', async () => {
    s3.on(ListObjectsV2Command)
      .resolvesOnce({ Contents: [{ Key: 'p/d/3' }, { Key: 'p/d/1' }], IsTruncated: true, NextContinuationToken: 't1' })
      .resolvesOnce({ Contents: [{ Key: 'p/d/2' }], IsTruncated: false });
    expect(await store({ listPageSize: 2 }).list('d/')).toEqual(['d/1', 'd/2', 'd/3']);
    const calls = s3.commandCalls(ListObjectsV2Command);
    expect(calls.map((c) => c.args[0].input)).toEqual([
      { Bucket: 'b', Prefix: 'p/d/', MaxKeys: 2, ContinuationToken: undefined },
      { Bucket: 'b', Prefix: 'p/d/', MaxKeys: 2, ContinuationToken: 't1' },
    ]);
  });

  it('deletes under the prefix', async () => {
    s3.on(DeleteObjectCommand).resolves({});
    await store().delete('k');
    expect(s3.commandCalls(DeleteObjectCommand)[0].args[0].input).toEqual({ Bucket: 'b', Key: 'p/k' });
  });

  it('refuses keys that escape the prefix', async () => {
    await expect(store().get('../secret')).rejects.toThrow(SimpairError);
    await expect(store().put('/abs', 'x')).rejects.toThrow(/leading "\/"/);
    expect(s3.calls()).toHaveLength(0);
  });

  it('reports every invalid option at once', () => {
    expect(() => new S3ObjectStore({ bucket: '', partSize: 1024, listPageSize: 5000 })).toThrow(
      /bucket must be a non-empty bucket name; partSize is 1024 bytes.*; listPageSize is 5000/,
    );
  });

  it('says where it points', () => {
    expect(store().location).toBe('s3://b/p/');
    expect(new S3ObjectStore({ bucket: 'b', client }).location).toBe('s3://b/');
  });

  it('creates with If-None-Match: * and replaces with If-Match, mapping 412/409 to PreconditionFailedError', async () => {
    s3.on(PutObjectCommand).resolvesOnce({ ETag: '"e1"' }).rejects(Object.assign(new Error('At least one of the pre-conditions you specified did not hold'), { name: 'PreconditionFailed', $metadata: { httpStatusCode: 412 } }));
    await store().putIf('runs/r/status.json', '{}', { ifNoneMatch: '*' });
    await expect(store().putIf('runs/r/status.json', '{}', { ifMatch: '"e0"' })).rejects.toBeInstanceOf(PreconditionFailedError);
    const [create, update] = s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
    expect(create).toMatchObject({ Bucket: 'b', Key: 'p/runs/r/status.json', IfNoneMatch: '*' });
    expect(create.IfMatch).toBeUndefined();
    expect(update).toMatchObject({ Key: 'p/runs/r/status.json', IfMatch: '"e0"' });
    s3.reset();
    s3.on(PutObjectCommand).rejects(Object.assign(new Error('conflict'), { name: 'ConditionalRequestConflict', $metadata: { httpStatusCode: 409 } }));
    await expect(store().putIf('k', 'x', { ifNoneMatch: '*' })).rejects.toBeInstanceOf(PreconditionFailedError);
  });

  it('reports the version tag with head and getVersioned', async () => {
    s3.on(HeadObjectCommand).resolves({ ETag: '"abc"', ContentLength: 5, LastModified: new Date(1000) });
    s3.on(GetObjectCommand).callsFake(async () => ({ ETag: '"abc"', Body: Readable.from([Buffer.from('hello')]) }));
    expect(await store().head('k')).toEqual({ etag: '"abc"', size: 5, modifiedMs: 1000 });
    const v = await store().getVersioned('k');
    expect(v.etag).toBe('"abc"');
    expect(Buffer.from(v.body).toString()).toBe('hello');
    s3.on(HeadObjectCommand).rejects(notFound('NotFound'));
    expect(await store().head('k')).toBeUndefined();
  });
});

/** A fake S3 object answering GetObject ranges as S3 does (206, Content-Range, ETag). */
function serveObject(body: Uint8Array, options: { etag?: (call: number) => string; delayMs?: number } = {}): { inFlight: () => number; maxInFlight: () => number } {
  let inFlight = 0;
  let maxInFlight = 0;
  let call = 0;
  s3.on(GetObjectCommand).callsFake(async (input: { Range?: string }) => {
    const n = call++;
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    try {
      if (options.delayMs) await new Promise((resolve) => setTimeout(resolve, options.delayMs));
      const ETag = options.etag?.(n) ?? '"v1"';
      const m = input.Range ? /^bytes=(\d+)-(\d+)$/.exec(input.Range) : null;
      if (!m) return { Body: Readable.from([Buffer.from(body)]), ETag };
      const start = Number(m[1]);
      if (start >= body.length) throw Object.assign(new Error('The requested range is not satisfiable'), { name: 'InvalidRange', $metadata: { httpStatusCode: 416 } });
      const end = Math.min(Number(m[2]), body.length - 1);
      return { Body: Readable.from([Buffer.from(body.subarray(start, end + 1))]), ContentRange: `bytes ${start}-${end}/${body.length}`, ETag };
    } finally {
      inFlight--;
    }
  });
  return { inFlight: () => inFlight, maxInFlight: () => maxInFlight };
}

describe('S3ObjectStore ranged reads', () => {
  const body = Uint8Array.from({ length: 20 }, (_, i) => i * 7);

  it('reads an object of known size over readPartSize as parallel ranged GETs', async () => {
    serveObject(body);
    const got = await store({ readPartSize: 8 }).get('emb/shard.bin', { expectedBytes: 20 });
    expect(Buffer.from(got).equals(Buffer.from(body))).toBe(true);
    const inputs = s3.commandCalls(GetObjectCommand).map((c) => c.args[0].input);
    expect(inputs).toEqual([
      { Bucket: 'b', Key: 'p/emb/shard.bin', Range: 'bytes=0-7' },
      { Bucket: 'b', Key: 'p/emb/shard.bin', Range: 'bytes=8-15' },
      { Bucket: 'b', Key: 'p/emb/shard.bin', Range: 'bytes=16-19' },
    ]);
  });

  it('uses one plain GET without a size or for an object of one part', async () => {
    serveObject(body);
    expect([...(await store({ readPartSize: 8 }).get('x'))]).toEqual([...body]);
    expect([...(await store({ readPartSize: 64 }).get('x', { expectedBytes: 20 }))]).toEqual([...body]);
    expect(s3.commandCalls(GetObjectCommand).map((c) => c.args[0].input.Range)).toEqual([undefined, undefined]);
  });

  it('keeps at most readConcurrency ranges in flight', async () => {
    const big = Uint8Array.from({ length: 100 }, (_, i) => i);
    const fake = serveObject(big, { delayMs: 5 });
    const got = await store({ readPartSize: 10, readConcurrency: 3 }).getInParts('big', 100);
    expect([...got]).toEqual([...big]);
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(10);
    expect(fake.maxInFlight()).toBe(3);
  });

  it('falls back to one plain GET when the object is not the expected size', async () => {
    for (const expectedBytes of [30, 12]) {
      s3.reset();
      serveObject(body);
      const got = await store({ readPartSize: 8, readConcurrency: 1 }).get('x', { expectedBytes });
      expect([...got]).toEqual([...body]); // the caller's own size check reports the difference
      expect(s3.commandCalls(GetObjectCommand).at(-1)?.args[0].input.Range).toBeUndefined();
    }
  });

  it('takes the whole body from a server that ignores Range', async () => {
    s3.on(GetObjectCommand).callsFake(async () => ({ Body: Readable.from([Buffer.from(body)]) }));
    expect([...(await store({ readPartSize: 8, readConcurrency: 1 }).get('x', { expectedBytes: 20 }))]).toEqual([...body]);
    expect(s3.commandCalls(GetObjectCommand).map((c) => c.args[0].input.Range)).toEqual(['bytes=0-7', undefined]);
  });

  it('fails, naming the key, when the object is replaced between ranges', async () => {
    serveObject(body, { etag: (call) => (call === 0 ? '"v1"' : '"v2"') });
    await expect(store({ readPartSize: 8 }).get('moving', { expectedBytes: 20 })).rejects.toThrow(/"moving" in s3:\/\/b\/p\/ was replaced while being read/);
  });

  it('maps a missing object to NotFoundError on the ranged path', async () => {
    s3.on(GetObjectCommand).rejects(notFound());
    await expect(store({ readPartSize: 8 }).getInParts('gone', 20)).rejects.toThrow(NotFoundError);
  });

  it('rejects read options out of range', () => {
    expect(() => store({ readPartSize: 0, readConcurrency: 0 })).toThrow(/readPartSize is 0.*; readConcurrency is 0/);
  });
});
