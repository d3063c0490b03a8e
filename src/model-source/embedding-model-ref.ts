import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename, delimiter, join, relative, resolve, sep } from 'node:path';
import { ModelSourceError } from '../errors.ts';
import { assertModelDir, isDirectory, resolveModelSource, type ResolvedModel, type ResolveModelOptions } from './resolve-model-source.ts';

/**
 * A portable reference to the embedding model a classifier was trained on, stored in
 * `metadata.json` as `embedder`: no path of the training machine, and enough to find and
 * verify the model elsewhere.
 */
export interface EmbeddingModelRef {
  /** How `id` is resolved: a Hugging Face id, an `s3://` prefix, or a local directory's name. */
  readonly source: 'hub' | 's3' | 'local';
  /** Hub id, S3 URI, or (local) the directory's name, looked up in the search directories. */
  readonly id: string;
  /** The ONNX file that embedded the training data (`onnx/model_quantized.onnx` for int8). */
  readonly onnxFile: string;
  /** SHA-256 of the model's config.json: a local directory found by name must match it. */
  readonly configSha256: string;
  /**
   * Local only: the model directory relative to the classifier's directory, `/`-separated, so
   * the two still find each other when moved together (a checkout, a copied tree).
   */
  readonly path?: string;
}

/** The environment variable listing directories (path-delimiter separated) searched for local embedding models by name. */
export const MODELS_PATH_ENV = 'SIMPAIR_MODELS';

/**
 * Describes a resolved model source as an {@link EmbeddingModelRef}.
 *
 * @example
 * const ref = await embeddingModelRef(await resolveModelSource('./models/all-MiniLM-L6-v2'));
 * ref; // { source: 'local', id: 'all-MiniLM-L6-v2', onnxFile: 'onnx/model.onnx', configSha256: '…' }
 */
export async function embeddingModelRef(resolved: ResolvedModel, { classifierDir }: { classifierDir?: string } = {}): Promise<EmbeddingModelRef> {
  const source = resolved.modelId === resolved.dir ? 'local' : resolved.modelId.startsWith('s3://') ? 's3' : 'hub';
  return {
    source,
    id: source === 'local' ? basename(resolved.dir) : resolved.modelId,
    onnxFile: resolved.onnxFile,
    configSha256: await configSha256(resolved.dir),
    ...(source === 'local' && classifierDir ? { path: relative(resolve(classifierDir), resolved.dir).split(sep).join('/') } : {}),
  };
}

/** What a classifier's metadata says about its embedding model. */
export interface RecordedEmbeddingModel {
  /** `metadata.embeddingModel`: older models hold the training machine's absolute path here. */
  readonly embeddingModel: string;
  /** `metadata.embedder`, absent in older models. */
  readonly embedder?: EmbeddingModelRef;
}

/** Options of {@link resolveRecordedEmbeddingModel}. */
export interface ResolveRecordedOptions extends ResolveModelOptions {
  /** Directories searched for a local model by name. @default $SIMPAIR_MODELS, then ./models */
  readonly searchDirs?: readonly string[];
  /** The classifier's local directory, for the reference's relative `path`. @default undefined (not tried) */
  readonly classifierDir?: string;
}

/**
 * Finds the embedding model a classifier was trained on, on this machine: a hub id or S3 URI
 * is resolved as such (with the ONNX file the training used); a local model is looked up at
 * its path relative to the classifier's directory, then by name in `$SIMPAIR_MODELS` and
 * `./models`, and taken only if its config.json has the recorded SHA-256. Older models, which recorded an absolute path, still load from that path when it
 * exists, else by its last component.
 *
 * @throws ModelSourceError naming every place looked at, why each was not taken, and the fix
 * @example
 * const resolved = await resolveRecordedEmbeddingModel(metadata);
 * const embedder = await BertEmbedder.load(resolved.dir, { onnxFile: resolved.onnxFile });
 */
export async function resolveRecordedEmbeddingModel(recorded: RecordedEmbeddingModel, options: ResolveRecordedOptions = {}): Promise<ResolvedModel> {
  const { embedder: ref, embeddingModel } = recorded;
  const quantized = ref ? ref.onnxFile === 'onnx/model_quantized.onnx' : options.quantized;
  if (ref && ref.source !== 'local') {
    // A hub id or s3:// source gets the same check as a local one: the config the classifier
    // was trained with (an id that is a local path, or a repository changed since, is refused).
    const resolved = await resolveModelSource(ref.id, { ...options, quantized });
    const sha = await configSha256(resolved.dir).catch(() => undefined);
    if (ref.configSha256 && sha !== ref.configSha256) {
      throw new ModelSourceError(
        `The classifier was trained on the embedding model "${ref.id}" (config.json sha256 ${ref.configSha256.slice(0, 12)}…), but ${ref.id} resolves to a model with ${sha ? `another config.json (sha256 ${sha.slice(0, 12)}…)` : 'no config.json'}. Pass --model with the model it was trained on.`,
      );
    }
    return resolved;
  }
  if (!ref && !embeddingModel.startsWith('/')) return resolveModelSource(embeddingModel, { ...options, quantized });

  const name = ref?.id ?? basename(embeddingModel);
  const searchDirs = options.searchDirs ?? [...(process.env[MODELS_PATH_ENV] ?? '').split(delimiter).filter(Boolean), 'models'];
  const beside = ref?.path !== undefined && options.classifierDir ? [resolve(options.classifierDir, ref.path)] : [];
  const candidates = [...(ref ? beside : [embeddingModel]), ...searchDirs.map((d) => resolve(d, name))];
  const tried: string[] = [];
  for (const dir of new Set(candidates)) {
    if (!(await isDirectory(dir))) {
      tried.push(`${dir} (absent)`);
      continue;
    }
    if (ref) {
      const sha = await configSha256(dir).catch(() => undefined);
      if (sha !== ref.configSha256) {
        tried.push(`${dir} (${sha ? `another config.json, sha256 ${sha.slice(0, 12)}…` : 'no config.json'})`);
        continue;
      }
    }
    const onnxFile = quantized ? 'onnx/model_quantized.onnx' : 'onnx/model.onnx';
    await assertModelDir(dir, onnxFile);
    return { dir, onnxFile, modelId: dir };
  }
  throw new ModelSourceError(
    `The classifier was trained on the local embedding model "${name}"${ref ? ` (config.json sha256 ${ref.configSha256.slice(0, 12)}…)` : ` (${embeddingModel} on the training machine)`}, ` +
      `not found here: looked in ${tried.join(', ')}. Copy that model directory into ./models/ or a directory listed in ${MODELS_PATH_ENV}, or pass --model DIR.`,
  );
}

async function configSha256(dir: string): Promise<string> {
  return createHash('sha256').update(await readFile(join(dir, 'config.json'))).digest('hex');
}
