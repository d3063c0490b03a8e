import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveModelSource } from '../../src/model-source/resolve-model-source.ts';
import { S3ObjectStore } from '../../src/storage/s3-object-store.ts';
import { TINY_BERT } from '../helpers/paths.ts';
import { s3rverClient, startS3rver, type LocalS3 } from './start-s3rver.ts';

const BUCKET = 'simpair-download';
let s3: LocalS3;
let client: S3Client;

beforeAll(async () => {
  s3 = await startS3rver(BUCKET);
  client = s3rverClient(s3);
});
afterAll(async () => {
  client?.destroy();
  await s3?.stop();
});

describe('downloadToFile against s3rver', () => {
  it('streams a multi-part object to disk in ranged GETs, byte for byte', async () => {
    const store = new S3ObjectStore({ bucket: BUCKET, client });
    const data = randomBytes(13 * 1024 * 1024 + 17);
    await store.put('big/model.onnx', data);
    const dir = mkdtempSync(join(tmpdir(), 'simpair-dl-it-'));
    const out = await store.downloadToFile('big/model.onnx', join(dir, 'model.onnx'), { partSize: 5 * 1024 * 1024, parallel: 3 });
    expect(out).toMatchObject({ bytes: data.length, parts: 3 });
    expect(readFileSync(join(dir, 'model.onnx')).equals(data)).toBe(true);
    expect(readdirSync(dir)).toEqual(['model.onnx']);
  });

  it('is how an s3:// model source reaches the local cache', async () => {
    const store = new S3ObjectStore({ bucket: BUCKET, client });
    for (const f of ['config.json', 'tokenizer.json', 'onnx/model.onnx']) await store.put(`encoders/tiny/${f}`, readFileSync(join(TINY_BERT, f)));
    const cacheDir = mkdtempSync(join(tmpdir(), 'simpair-cache-'));
    const calls: string[] = [];
    const resolved = await resolveModelSource(`s3://${BUCKET}/encoders/tiny/`, {
      cacheDir,
      download: { partSize: 1024 * 1024, parallel: 2 },
      openS3: async (bucket, prefix) => {
        const s = new S3ObjectStore({ bucket, prefix, client });
        const original = s.downloadToFile.bind(s);
        s.downloadToFile = (key, path, options) => (calls.push(key), original(key, path, options));
        return s;
      },
    });
    expect(calls.sort()).toEqual(['config.json', 'onnx/model.onnx', 'tokenizer.json']);
    expect(readFileSync(join(resolved.dir, 'onnx', 'model.onnx')).equals(readFileSync(join(TINY_BERT, 'onnx', 'model.onnx')))).toBe(true);
  });
});
