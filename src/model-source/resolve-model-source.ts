import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { ModelSourceError } from '../errors.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import type { DownloadToFileOptions } from '../storage/s3-download.ts';
import { downloadHubFiles, type HubDownloadOptions } from './hub-download.ts';

/** A model directory on local disk in the hub layout. */
export interface ResolvedModel {
  /** Directory with config.json, tokenizer.json and the ONNX file. */
  readonly dir: string;
  /** ONNX file relative to `dir`. */
  readonly onnxFile: string;
  /** Name recorded in metadata: the hub id, the S3 URI or the directory's absolute path. */
  readonly modelId: string;
}

/** Options of {@link resolveModelSource}. */
export interface ResolveModelOptions extends HubDownloadOptions {
  /** Use `onnx/model_quantized.onnx` (int8). @default false */
  readonly quantized?: boolean;
  /** Opens the store behind an `s3://bucket/prefix` source. @default S3ObjectStore */
  readonly openS3?: (bucket: string, prefix: string) => Promise<ObjectStore>;
  /** Parallelism of the S3 download of model files. @default downloadObjectToFile's defaults */
  readonly download?: DownloadToFileOptions;
}

/** A store that can stream an object straight to a file (S3ObjectStore). */
interface DownloadsToFile {
  downloadToFile(key: string, path: string, options?: DownloadToFileOptions): Promise<unknown>;
}

function canDownloadToFile(store: ObjectStore): store is ObjectStore & DownloadsToFile {
  return typeof (store as Partial<DownloadsToFile>).downloadToFile === 'function';
}

/**
 * Hub ids simpair knows an ONNX export for. `bert-base-uncased` itself publishes no ONNX
 * file with `last_hidden_state`; Xenova's export of the same weights does.
 */
export const HUB_ALIASES: Readonly<Record<string, string>> = {
  'bert-base-uncased': 'Xenova/bert-base-uncased',
  'google-bert/bert-base-uncased': 'Xenova/bert-base-uncased',
  'sentence-transformers/all-MiniLM-L6-v2': 'Xenova/all-MiniLM-L6-v2',
  'all-MiniLM-L6-v2': 'Xenova/all-MiniLM-L6-v2',
};

const REQUIRED = ['config.json', 'tokenizer.json'] as const;
const OPTIONAL = ['tokenizer_config.json'] as const;

/**
 * Turns a model source into a local directory:
 * - a local directory (`./models/x`, `/abs/path`) in the hub layout;
 * - `s3://bucket/prefix` (copied once to a local cache);
 * - a Hugging Face model id (`bert-base-uncased`, `org/name`), downloaded once and verified.
 *
 * @example
 * const model = await resolveModelSource('test/fixtures/tiny-bert');
 * const embedder = await BertEmbedder.load(model.dir, { onnxFile: model.onnxFile });
 */
export async function resolveModelSource(source: string, options: ResolveModelOptions = {}): Promise<ResolvedModel> {
  const onnxFile = options.quantized ? 'onnx/model_quantized.onnx' : 'onnx/model.onnx';
  if (source.startsWith('s3://')) return resolveS3(source, onnxFile, options);
  if (looksLikePath(source) || (await isDirectory(source))) {
    const dir = resolve(source);
    await assertModelDir(dir, onnxFile);
    return { dir, onnxFile, modelId: dir };
  }
  const repo = HUB_ALIASES[source] ?? source;
  const dir = await downloadHubFiles(repo, [...REQUIRED, ...OPTIONAL, onnxFile], { ...options, optional: OPTIONAL });
  return { dir, onnxFile, modelId: source };
}

function looksLikePath(source: string): boolean {
  return source.startsWith('.') || source.startsWith('/') || source.startsWith('~') || source.includes('\\') || source.split('/').length > 2;
}

/** Whether `path` is an existing directory. */
export async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** Checks a local model directory has every file simpair reads, naming the missing ones. */
export async function assertModelDir(dir: string, onnxFile = 'onnx/model.onnx'): Promise<void> {
  if (!(await isDirectory(dir))) {
    throw new ModelSourceError(`Model directory ${dir} does not exist. Pass a directory with config.json, tokenizer.json and ${onnxFile}, or a Hugging Face id.`);
  }
  const missing: string[] = [];
  for (const f of [...REQUIRED, onnxFile]) {
    try {
      await stat(join(dir, f));
    } catch {
      missing.push(f);
    }
  }
  if (missing.length) {
    throw new ModelSourceError(
      `Model directory ${dir} lacks ${missing.join(', ')}. simpair reads the Hugging Face hub layout: config.json, tokenizer.json, ${onnxFile}` +
        ` (scripts/export_minilm.py writes one).`,
    );
  }
}

async function resolveS3(source: string, onnxFile: string, options: ResolveModelOptions): Promise<ResolvedModel> {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(source);
  if (!match) throw new ModelSourceError(`"${source}" is not an S3 URI; use s3://bucket/prefix/.`);
  const [, bucket, rawPrefix] = match;
  const prefix = rawPrefix && !rawPrefix.endsWith('/') ? `${rawPrefix}/` : rawPrefix;
  const open =
    options.openS3 ??
    (async (b: string, p: string) => {
      const { S3ObjectStore } = await import('../storage/s3-object-store.ts');
      return new S3ObjectStore({ bucket: b, prefix: p }) as ObjectStore;
    });
  const store = await open(bucket, prefix);
  const cacheRoot = options.cacheDir ?? process.env.SIMPAIR_CACHE ?? join(process.env.LAMBDA_TASK_ROOT ? '/tmp' : homedir(), '.cache', 'simpair');
  const dir = join(cacheRoot, 's3', bucket, ...prefix.split('/').filter(Boolean));
  for (const f of [...REQUIRED, ...OPTIONAL, onnxFile]) {
    const target = join(dir, f);
    try {
      await stat(target);
      continue;
    } catch {
      // not cached yet
    }
    if (!(await store.exists(f))) {
      if ((OPTIONAL as readonly string[]).includes(f)) continue;
      throw new ModelSourceError(`${source} lacks ${f}. Upload the model directory in the hub layout (config.json, tokenizer.json, ${onnxFile}).`);
    }
    await mkdir(dirname(target), { recursive: true });
    if (canDownloadToFile(store)) {
      // S3: parallel ranged GETs streamed to disk (a 440 MB model is never buffered whole;
      // the Lambda cold path), renamed into place only when complete.
      await store.downloadToFile(f, target, options.download);
      continue;
    }
    // Write then rename: a copy cut short must not be taken for a cached file next time.
    const tmp = `${target}.${process.pid}.incomplete`;
    await writeFile(tmp, await store.get(f));
    await rename(tmp, target);
  }
  return { dir, onnxFile, modelId: source };
}
