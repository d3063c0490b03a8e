import { joinKey } from '../embeddings/manifest.ts';
import { DamagedModelError, ExportError, NotFoundError } from '../errors.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { classifierSpecFromTopology, type ClassifierSpec } from './classifier-spec.ts';

// Porting Note: this reads TF.js' layers-model format (model.json + weight files) by hand, so
// that prediction and export never need TensorFlow.js. It covers what simpair saves (float32
// weights, any number of files per group); quantized or other dtypes are refused by name.

/** `model.json`'s file name in a model directory. */
const MODEL_JSON = 'model.json';

interface ManifestEntry {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype?: string;
  readonly quantization?: unknown;
}

function isManifestEntry(value: unknown): value is ManifestEntry {
  const v = value as ManifestEntry;
  return typeof v === 'object' && v !== null && typeof v.name === 'string' && Array.isArray(v.shape) && v.shape.every((d) => Number.isInteger(d) && d >= 0);
}

/**
 * The weights a `model.json`'s `weightsManifest` lists, by name, read from `files` (each
 * group's paths concatenated, its weights in manifest order, float32 little-endian).
 *
 * @throws DamagedModelError naming the file whose size disagrees with the manifest;
 * ExportError naming the weight whose dtype or quantization simpair does not read.
 */
export function weightsFromManifest(manifest: unknown, files: ReadonlyMap<string, Uint8Array>, where: (file: string) => string): Map<string, Float32Array> {
  if (!Array.isArray(manifest)) throw new DamagedModelError(`${where(MODEL_JSON)} has no weightsManifest list: the model is damaged. Re-train it (simpair run).`);
  const weights = new Map<string, Float32Array>();
  for (const group of manifest as unknown[]) {
    const { paths, weights: entries } = (group ?? {}) as { paths?: unknown; weights?: unknown };
    if (!Array.isArray(paths) || !paths.every((p) => typeof p === 'string') || !Array.isArray(entries) || !entries.every(isManifestEntry)) {
      throw new DamagedModelError(`${where(MODEL_JSON)} has a weightsManifest group without paths or well-formed weights (name, shape): the model is damaged. Re-train it (simpair run).`);
    }
    const parts = (paths as string[]).map((p) => files.get(p) ?? new Uint8Array());
    const bytes = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
    parts.reduce((at, p) => (bytes.set(p, at), at + p.byteLength), 0);
    let offset = 0;
    for (const entry of entries as ManifestEntry[]) {
      if ((entry.dtype ?? 'float32') !== 'float32' || entry.quantization != null) {
        const kind = entry.quantization != null ? 'quantized' : `of dtype ${entry.dtype}`;
        throw new ExportError(`${where(MODEL_JSON)}: weight ${entry.name} is ${kind}; simpair reads float32 weights only (as it saves them). Re-save the model with simpair.`);
      }
      const size = entry.shape.reduce((a, b) => a * b, 1);
      const end = offset + 4 * size;
      if (end > bytes.byteLength) break; // reported below with the group's sizes
      // A copy: the weight file's bytes need not be 4-byte aligned.
      weights.set(entry.name, new Float32Array(bytes.slice(offset, end).buffer));
      offset = end;
    }
    const expected = (entries as ManifestEntry[]).reduce((n, e) => n + 4 * e.shape.reduce((a, b) => a * b, 1), 0);
    if (bytes.byteLength !== expected) {
      throw new DamagedModelError(
        `${(paths as string[]).map(where).join(', ')} ${paths.length === 1 ? 'holds' : 'hold'} ${bytes.byteLength} bytes of weights where ${MODEL_JSON} lists ${expected}: the model is damaged or incomplete. Re-run the training (simpair run) or restore the model directory from a copy.`,
      );
    }
  }
  return weights;
}

/**
 * Reads the classifier saved under `prefix` of `store` (`model.json` and its weight files, as
 * TF.js and simpair save them) into a {@link ClassifierSpec}, without TensorFlow.js: the same
 * spec {@link classifierSpecFromModel} reads from the loaded TF.js model, so an older model
 * without `classifier.onnx` can be converted to ONNX in memory.
 *
 * @throws DamagedModelError naming a missing, unreadable or truncated file; ExportError
 * naming the layer or setting that ONNX does not cover.
 * @example
 * const spec = await readClassifierSpec(new FsObjectStore('runs/old-model'), '');
 * const bytes = encodeModel(classifierModel(spec));
 */
export async function readClassifierSpec(store: ObjectStore, prefix: string): Promise<ClassifierSpec> {
  const where = (file: string) => `${store.location}/${joinKey(prefix, file)}`;
  const read = (file: string): Promise<Uint8Array> =>
    store.get(joinKey(prefix, file)).catch((err: unknown) => {
      if (!(err instanceof NotFoundError)) throw err;
      throw new DamagedModelError(`${where(file)} is missing: the model is damaged or incomplete. Re-run the training (simpair run) or restore the model directory from a copy.`, { cause: err });
    });
  const text = Buffer.from(await read(MODEL_JSON)).toString('utf8');
  let modelJson: { format?: unknown; modelTopology?: unknown; weightsManifest?: unknown };
  try {
    modelJson = JSON.parse(text) as typeof modelJson;
  } catch (err) {
    throw new DamagedModelError(`${where(MODEL_JSON)} is not valid JSON (${text.length} characters; truncated?): the model is damaged. Re-run the training (simpair run).`, { cause: err });
  }
  if (modelJson?.format !== 'layers-model' || modelJson.modelTopology == null) {
    throw new DamagedModelError(`${where(MODEL_JSON)} is not a TF.js layers-model (format ${JSON.stringify(modelJson?.format)}); re-save the model with simpair.`);
  }
  const manifest = Array.isArray(modelJson.weightsManifest) ? (modelJson.weightsManifest as { paths?: unknown }[]) : [];
  const files = new Map<string, Uint8Array>();
  for (const group of manifest) {
    for (const path of Array.isArray(group?.paths) ? group.paths : []) if (typeof path === 'string' && !files.has(path)) files.set(path, await read(path));
  }
  const weights = weightsFromManifest(modelJson.weightsManifest, files, where);
  return classifierSpecFromTopology(modelJson.modelTopology, weights, where(MODEL_JSON));
}
