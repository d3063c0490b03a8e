import { existsSync, mkdtempSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { S3ObjectStore } from '../../src/storage/s3-object-store.ts';

const s3 = mockClient(S3Client);
const DATA = Buffer.from('0123456789abcdefghij'); // 20 bytes

/** Serves GetObject ranges of DATA in small chunks, as a socket would. */
function serveRanges(data = DATA) {
  s3.on(GetObjectCommand).callsFake(async (input: { Range?: string }) => {
    const m = /^bytes=(\d+)-(\d+)$/.exec(input.Range ?? '');
    if (!m) throw new Error(`unranged GET ${input.Range}`);
    const slice = data.subarray(Number(m[1]), Number(m[2]) + 1);
    return { Body: Readable.from([slice.subarray(0, 2), slice.subarray(2)]) };
  });
}

describe('S3ObjectStore.downloadToFile', () => {
  let dir: string;
  beforeEach(() => {
    s3.reset();
    dir = mkdtempSync(join(tmpdir(), 'simpair-dl-'));
    s3.on(HeadObjectCommand).resolves({ ContentLength: DATA.length, ETag: '"e1"' });
  });
  const store = () => new S3ObjectStore({ bucket: 'b', prefix: 'p', client: new S3Client({ region: 'us-east-1' }) });

  it('fetches the object in parallel ranged GETs, each pinned to the HEAD ETag, straight into the file', async () => {
    serveRanges();
    const target = join(dir, 'sub', 'model.onnx');
    expect(await store().downloadToFile('m/model.onnx', target, { partSize: 8, parallel: 2 })).toEqual({ bytes: 20, parts: 3, etag: '"e1"' });
    expect(readFileSync(target)).toEqual(DATA);
    const gets = s3.commandCalls(GetObjectCommand).map((c) => c.args[0].input);
    expect(gets.map((g) => g.Range).sort()).toEqual(['bytes=0-7', 'bytes=16-19', 'bytes=8-15']);
    for (const g of gets) expect(g).toMatchObject({ Bucket: 'b', Key: 'p/m/model.onnx', IfMatch: '"e1"' });
    expect(readdirSync(join(dir, 'sub'))).toEqual(['model.onnx']);
  });

  it('fails without leaving a file when the object changes mid-download (412), naming it', async () => {
    s3.on(GetObjectCommand).rejects(Object.assign(new Error('PreconditionFailed'), { name: 'PreconditionFailed', $metadata: { httpStatusCode: 412 } }));
    const target = join(dir, 'model.onnx');
    await expect(store().downloadToFile('m/model.onnx', target, { partSize: 8 })).rejects.toThrow(/p\/m\/model.onnx changed while it was being downloaded/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses a part that comes back short, and retries a reset part', async () => {
    let calls = 0;
    s3.on(GetObjectCommand).callsFake(async (input: { Range?: string }) => {
      calls++;
      if (calls === 1) throw Object.assign(new Error('socket hang up'), { name: 'Error' });
      const m = /^bytes=(\d+)-(\d+)$/.exec(input.Range ?? '')!;
      return { Body: Readable.from([DATA.subarray(Number(m[1]), Number(m[2]) + 1)]) };
    });
    const target = join(dir, 'ok.bin');
    await store().downloadToFile('k', target, { partSize: 20, parallel: 1 });
    expect(readFileSync(target)).toEqual(DATA);
    s3.on(GetObjectCommand).callsFake(async () => ({ Body: Readable.from([DATA.subarray(0, 5)]) }));
    await expect(store().downloadToFile('k', join(dir, 'short.bin'), { partSize: 20, attempts: 1 })).rejects.toThrow(/ended after 5 of 20 bytes/);
    expect(existsSync(join(dir, 'short.bin'))).toBe(false);
  });

  it('removes the part files of a dead earlier download (a Lambda timeout keeps /tmp), not of a live one', async () => {
    serveRanges();
    const target = join(dir, 'model.onnx');
    writeFileSync(join(dir, 'model.onnx.111-dead.part'), 'x');
    utimesSync(join(dir, 'model.onnx.111-dead.part'), new Date(Date.now() - 3_600_000), new Date(Date.now() - 3_600_000));
    writeFileSync(join(dir, 'model.onnx.222-live.part'), 'y');
    writeFileSync(join(dir, 'other.onnx.333-dead.part'), 'z');
    utimesSync(join(dir, 'other.onnx.333-dead.part'), new Date(Date.now() - 3_600_000), new Date(Date.now() - 3_600_000));
    await store().downloadToFile('k', target, { partSize: 8 });
    expect(readdirSync(dir).sort()).toEqual(['model.onnx', 'model.onnx.222-live.part', 'other.onnx.333-dead.part']);
  });

  it('says which object is missing', async () => {
    s3.on(HeadObjectCommand).rejects(Object.assign(new Error('NotFound'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } }));
    await expect(store().downloadToFile('nope', join(dir, 'x'))).rejects.toThrow(/No object "p\/nope" in s3:\/\/b\//);
  });
});
