import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ModelSourceError } from '../errors.ts';
import { startProgress } from '../util/progress.ts';
import { log } from '../util/log.ts';

/** Options of {@link downloadHubFiles}. */
export interface HubDownloadOptions {
  /** @default 'main' */
  readonly revision?: string;
  /** Hub address, as Python's HF_ENDPOINT. @default process.env.HF_ENDPOINT ?? 'https://huggingface.co' */
  readonly endpoint?: string;
  /** @default process.env.SIMPAIR_CACHE ?? ~/.cache/simpair */
  readonly cacheDir?: string;
  /** Bearer token for gated/private repos. @default process.env.HF_TOKEN */
  readonly token?: string;
  /** Use only the cache, as Python's HF_HUB_OFFLINE=1. @default process.env.HF_HUB_OFFLINE === '1' */
  readonly offline?: boolean;
  /** Files that may be absent in the repo (e.g. tokenizer_config.json). */
  readonly optional?: readonly string[];
}

/** What the cache keeps beside each file: where it came from and its verified digest. */
interface CachedFileInfo {
  url: string;
  etag: string;
  sha256: string;
  size: number;
}

/**
 * Downloads files of a Hugging Face model repo once into a local cache
 * (`<cache>/hub/<org>/<name>/<revision>/<path>`), with a progress bar, verifying each file
 * against the hub's digest: sha256 (`X-Linked-Etag`) for LFS files, the git blob sha1
 * (`ETag`) for small ones. Returns the snapshot directory. Later calls reuse verified files
 * without touching the network.
 *
 * @example
 * const dir = await downloadHubFiles('Xenova/bert-base-uncased', ['config.json', 'tokenizer.json', 'onnx/model.onnx']);
 */
export async function downloadHubFiles(repoId: string, files: readonly string[], options: HubDownloadOptions = {}): Promise<string> {
  const {
    revision = 'main',
    endpoint = process.env.HF_ENDPOINT ?? 'https://huggingface.co',
    cacheDir = process.env.SIMPAIR_CACHE ?? join(homedir(), '.cache', 'simpair'),
    token = process.env.HF_TOKEN,
    offline = process.env.HF_HUB_OFFLINE === '1',
    optional = [],
  } = options;
  if (!/^[\w.-]+(\/[\w.-]+)?$/.test(repoId)) {
    throw new ModelSourceError(`"${repoId}" is not a Hugging Face model id (expected "name" or "org/name").`);
  }
  const snapshot = join(cacheDir, 'hub', ...repoId.split('/'), revision);
  for (const file of files) {
    const target = join(snapshot, file);
    if (await isCached(target)) continue;
    if (offline) {
      if (optional.includes(file)) continue;
      throw new ModelSourceError(
        `${repoId}/${file} is not in the cache (${snapshot}) and HF_HUB_OFFLINE=1 forbids downloading. ` +
          `Run once with internet access, or pass a local model directory (--model ./path with config.json, tokenizer.json, onnx/model.onnx).`,
      );
    }
    const url = `${endpoint.replace(/\/$/, '')}/${repoId}/resolve/${encodeURIComponent(revision)}/${file}`;
    const fetched = await downloadVerified(url, target, token, `${repoId}/${file}`);
    if (!fetched && !optional.includes(file)) {
      throw new ModelSourceError(`${url} does not exist (404). Check the model id and that the repo has an ONNX export at ${file}.`);
    }
  }
  return snapshot;
}

async function isCached(target: string): Promise<boolean> {
  try {
    const info = JSON.parse(await readFile(`${target}.simpair.json`, 'utf8')) as CachedFileInfo;
    return (await stat(target)).size === info.size;
  } catch {
    return false;
  }
}

/** Downloads one file to `target` atomically; returns false on 404. */
async function downloadVerified(url: string, target: string, token: string | undefined, label: string): Promise<boolean> {
  const headers: Record<string, string> = { 'user-agent': 'simpair' };
  if (token) headers.authorization = `Bearer ${token}`;
  let head: Response;
  try {
    // As huggingface_hub: a HEAD without following redirects carries the hub's own digest headers.
    head = await fetch(url, { method: 'HEAD', headers, redirect: 'manual' });
  } catch (err) {
    throw new ModelSourceError(
      `Cannot reach ${url} (${(err as Error).message}). Offline? Pass a local model directory in the hub layout instead ` +
        `(--model test/fixtures/tiny-bert, or models/all-MiniLM-L6-v2 made by scripts/export_minilm.py), or set HF_ENDPOINT to a mirror.`,
      { cause: err },
    );
  }
  if (head.status === 404) return false;
  if (head.status === 401 || head.status === 403) {
    throw new ModelSourceError(`${url} answered ${head.status}: the repo is gated or private; set HF_TOKEN to a token with access.`);
  }
  if (head.status >= 400) throw new ModelSourceError(`${url} answered ${head.status} ${head.statusText}.`);
  const linkedEtag = clean(head.headers.get('x-linked-etag'));
  const etag = clean(head.headers.get('etag'));
  const expected = linkedEtag ?? etag;
  if (!expected) throw new ModelSourceError(`${url} sent no ETag; cannot verify the download. Is HF_ENDPOINT a Hugging Face hub?`);
  const expectedSize = Number(head.headers.get('x-linked-size') ?? head.headers.get('content-length') ?? NaN);

  const res = await fetch(url, { headers });
  if (!res.ok || !res.body) throw new ModelSourceError(`GET ${url} answered ${res.status} ${res.statusText}.`);
  await mkdir(dirname(target), { recursive: true });
  const tmp = `${target}.${randomUUID()}.incomplete`;
  const total = Number(res.headers.get('content-length') ?? expectedSize) || 0;
  const bar = startProgress('download', total, 'bytes');
  const sha256 = createHash('sha256');
  const sha1 = createHash('sha1');
  let size = 0;
  // Git blob ids hash "blob <size>\0" + content; the size is known only up front, so hash
  // the content separately and rebuild the blob id at the end.
  const chunks: Buffer[] = [];
  const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
  body.on('data', (chunk: Buffer) => {
    size += chunk.length;
    sha256.update(chunk);
    if (!linkedEtag) chunks.push(chunk);
    bar.increment(chunk.length);
  });
  try {
    await pipeline(body, createWriteStream(tmp));
  } catch (err) {
    await rm(tmp, { force: true });
    throw new ModelSourceError(`Download of ${url} failed after ${size} bytes: ${(err as Error).message}. Run again to retry.`, { cause: err });
  } finally {
    bar.stop();
  }
  const sha256Hex = sha256.digest('hex');
  let actual: string;
  if (linkedEtag) {
    actual = sha256Hex;
  } else {
    sha1.update(`blob ${size}\0`);
    for (const c of chunks) sha1.update(c);
    actual = sha1.digest('hex');
  }
  if (actual !== expected) {
    await rm(tmp, { force: true });
    throw new ModelSourceError(`Checksum mismatch for ${url}: the hub says ${expected}, the download hashes to ${actual}. Nothing was cached; run again.`);
  }
  await rename(tmp, target);
  const info: CachedFileInfo = { url, etag: expected, sha256: sha256Hex, size };
  await writeFile(`${target}.simpair.json`, JSON.stringify(info, null, 2));
  log('info', `downloaded ${label} (${size} bytes, verified)`);
  return true;
}

function clean(value: string | null): string | undefined {
  if (!value) return undefined;
  return value.replace(/^W\//, '').replace(/"/g, '');
}
