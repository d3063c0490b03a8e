import { randomBytes, createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Client } from '@aws-sdk/client-s3';
import { S3ObjectStore } from '../../src/storage/s3-object-store.ts';
import { NotFoundError } from '../../src/errors.ts';
import { startS3rver, type LocalS3 } from './start-s3rver.ts';

// A real S3-protocol server on a random local port: checks what the mocks cannot
// (signing, path-style addressing, multipart assembly, pagination tokens).
const BUCKET = 'simpair-integration';
let server: LocalS3;
let client: S3Client;
let endpoint: string;

beforeAll(async () => {
  server = await startS3rver(BUCKET);
  endpoint = server.endpoint;
  client = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
});

afterAll(async () => {
  client?.destroy();
  await server?.stop();
});

describe('S3ObjectStore against s3rver', () => {
  it('puts, gets, checks existence and deletes', async () => {
    const store = new S3ObjectStore({ bucket: BUCKET, prefix: 'crud', client });
    await store.put('runs/1/status.json', '{"state":"STARTED"}');
    expect(Buffer.from(await store.get('runs/1/status.json')).toString()).toBe('{"state":"STARTED"}');
    expect(await store.exists('runs/1/status.json')).toBe(true);
    await store.delete('runs/1/status.json');
    expect(await store.exists('runs/1/status.json')).toBe(false);
  });

  it('throws NotFoundError for a missing key, on get and on getStream', async () => {
    const store = new S3ObjectStore({ bucket: BUCKET, client });
    await expect(store.get('nope/missing.json')).rejects.toThrow(NotFoundError);
    await expect(store.getStream('nope/missing.json')).rejects.toThrow(NotFoundError);
  });

  it('uploads a 10 MiB body in parts and streams it back byte for byte', async () => {
    const store = new S3ObjectStore({ bucket: BUCKET, prefix: 'big', client, partSize: 5 * 1024 * 1024 });
    const body = randomBytes(10 * 1024 * 1024);
    await store.put('embeddings/r1/shard-00000.bin', body);
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of await store.getStream('embeddings/r1/shard-00000.bin')) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
    expect(size).toBe(body.length);
    expect(hash.digest('hex')).toBe(createHash('sha256').update(body).digest('hex'));
  });

  it('lists across pages, sorted, relative to the prefix', async () => {
    const store = new S3ObjectStore({ bucket: BUCKET, prefix: 'listing/', client, listPageSize: 7 });
    const keys = Array.from({ length: 23 }, (_, i) => `shards/r/rows-${String(i).padStart(5, '0')}.jsonl`);
    for (const k of [...keys].reverse()) await store.put(k, 'x');
    await store.put('other/z', 'x');
    expect(await store.list('shards/r/')).toEqual(keys);
    expect(await store.list('')).toHaveLength(24);
  });

  it('builds its own client from endpoint options (path style)', async () => {
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
    process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
    try {
      const store = new S3ObjectStore({ bucket: BUCKET, endpoint, region: 'us-east-1' });
      await store.put('own-client.txt', 'ok');
      expect(Buffer.from(await store.get('own-client.txt')).toString()).toBe('ok');
      store.client.destroy();
    } finally {
      process.env.AWS_ACCESS_KEY_ID = saved.id;
      process.env.AWS_SECRET_ACCESS_KEY = saved.secret;
    }
  });
});

describe('S3ObjectStore ranged reads against s3rver', () => {
  it('reads a multi-part object in parallel ranges, byte for byte equal to a single GET', async () => {
    const store = new S3ObjectStore({ bucket: BUCKET, prefix: 'ranged', client, readPartSize: 1024 * 1024 + 3, readConcurrency: 4 });
    // Not a multiple of the part size: the last range is short.
    const body = randomBytes(6 * 1024 * 1024 + 12345);
    await store.put('embeddings/r1/shard-00000.safetensors', body);
    const whole = await store.get('embeddings/r1/shard-00000.safetensors');
    const ranged = await store.get('embeddings/r1/shard-00000.safetensors', { expectedBytes: body.length });
    expect(ranged.byteLength).toBe(body.length);
    expect(Buffer.from(ranged).equals(Buffer.from(whole))).toBe(true);
    expect(Buffer.from(ranged).equals(body)).toBe(true);
  });

  it('gives the real bytes when the expected size is wrong', async () => {
    const store = new S3ObjectStore({ bucket: BUCKET, prefix: 'ranged', client, readPartSize: 8 });
    await store.put('short.txt', 'hello, ranges');
    expect(Buffer.from(await store.get('short.txt', { expectedBytes: 100 })).toString()).toBe('hello, ranges');
    expect(Buffer.from(await store.get('short.txt', { expectedBytes: 9 })).toString()).toBe('hello, ranges');
    await expect(store.get('absent.txt', { expectedBytes: 100 })).rejects.toThrow(NotFoundError);
  });
});
