import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { NotFoundError, SimpairError } from '../errors.ts';
import { runPool } from '../util/run-pool.ts';
import { planByteRanges, rangeHeader, type ByteRange } from './byte-ranges.ts';

const MIB = 1024 * 1024;

/** Options of {@link downloadObjectToFile}. */
export interface DownloadToFileOptions {
  /** Ranged GETs in flight at once. @default 8 */
  readonly parallel?: number;
  /** Bytes per ranged GET. @default 16 MiB */
  readonly partSize?: number;
  /** Attempts per part (a reset connection is retried). @default 3 */
  readonly attempts?: number;
}

/** What {@link downloadObjectToFile} fetched. */
export interface DownloadedFile {
  readonly bytes: number;
  readonly parts: number;
  readonly etag?: string;
}

/**
 * Streams one S3 object to a local file in parallel ranged GETs, without holding it in
 * memory: each part's body is written at its offset as it arrives. Every part is asked for
 * with `If-Match` on the ETag the first HEAD returned, so an object replaced mid-download
 * fails (412) instead of mixing two versions; the size is checked per part and at the end.
 * The file appears under `path` only when complete (written beside it, then renamed).
 *
 * @example
 * await downloadObjectToFile(client, 'bucket', 'encoders/bert/onnx/model.onnx', '/tmp/model.onnx', { parallel: 8 });
 */
export async function downloadObjectToFile(client: S3Client, bucket: string, key: string, path: string, options: DownloadToFileOptions = {}): Promise<DownloadedFile> {
  const { parallel = 8, partSize = 16 * MIB, attempts = 3 } = options;
  if (!(Number.isInteger(parallel) && parallel >= 1) || !(Number.isInteger(partSize) && partSize >= 1) || !(attempts >= 1)) {
    throw new SimpairError(`Invalid download options: parallel ${parallel}, partSize ${partSize}, attempts ${attempts}; use positive integers.`);
  }
  let head;
  try {
    head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  } catch (err) {
    const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
    if (e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404) throw new NotFoundError(`No object "${key}" in s3://${bucket}/.`, { cause: err });
    throw err;
  }
  const size = head.ContentLength ?? 0;
  const etag = head.ETag;
  const parts = planByteRanges(size, partSize);

  await mkdir(dirname(path), { recursive: true });
  await removeStaleParts(path);
  const tmp = `${path}.${process.pid}-${randomBytes(4).toString('hex')}.part`;
  const file = await open(tmp, 'w');
  try {
    await file.truncate(size);
    const fetchPart = async ({ start, end }: ByteRange) => {
      const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: rangeHeader({ start, end }), IfMatch: etag }));
      let position = start;
      for await (const chunk of out.Body as AsyncIterable<Uint8Array>) {
        if (position + chunk.byteLength > end + 1) throw new SimpairError(`s3://${bucket}/${key}: part ${start}-${end} returned more bytes than asked; is Range supported?`);
        await file.write(chunk, 0, chunk.byteLength, position);
        position += chunk.byteLength;
      }
      if (position !== end + 1) throw new SimpairError(`s3://${bucket}/${key}: part ${start}-${end} ended after ${position - start} of ${end - start + 1} bytes.`);
    };
    try {
      await runPool(parts, parallel, async (part) => {
        for (let attempt = 1; ; attempt++) {
          try {
            return await fetchPart(part);
          } catch (err) {
            if (attempt >= attempts || isPermanent(err)) throw err;
          }
        }
      });
    } catch (err) {
      if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 412) {
        throw new SimpairError(`s3://${bucket}/${key} changed while it was being downloaded (ETag ${etag ?? '?'} no longer matches); try again.`, { cause: err });
      }
      throw err;
    }
    const written = (await file.stat()).size;
    if (written !== size) throw new SimpairError(`s3://${bucket}/${key}: wrote ${written} of ${size} bytes.`);
    await file.sync();
  } catch (err) {
    await file.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw err;
  }
  await file.close();
  await rename(tmp, path);
  return { bytes: size, parts: parts.length, etag };
}

/** A part file untouched this long belongs to a download that died (a Lambda timeout restarts the runtime, /tmp stays). */
const STALE_PART_MS = 2 * 60 * 1000;

/** Removes the part files of earlier, dead downloads of `path`, so they do not fill /tmp. */
async function removeStaleParts(path: string): Promise<void> {
  const prefix = `${basename(path)}.`;
  const dir = dirname(path);
  for (const name of await readdir(dir)) {
    if (!name.startsWith(prefix) || !name.endsWith('.part')) continue;
    const file = join(dir, name);
    const info = await stat(file).catch(() => undefined);
    if (info && Date.now() - info.mtimeMs > STALE_PART_MS) await rm(file, { force: true });
  }
}

/** Errors a retry cannot fix: the object changed (412), is gone (404), or access is denied (403). */
function isPermanent(err: unknown): boolean {
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return status === 412 || status === 404 || status === 403 || err instanceof SimpairError;
}
