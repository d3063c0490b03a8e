import { readFile } from 'node:fs/promises';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { ClassifierMetadata } from '../classifier/model-metadata.ts';
import { CLASSIFIER_ONNX_FILE } from '../classifier/onnx-file.ts';
import { joinKey } from '../embeddings/manifest.ts';
import { ExportError, ModelMismatchError } from '../errors.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { classifierModel } from './classifier-graph.ts';
import { classifierSpecFromModel, type ClassifierSpec } from './classifier-spec.ts';
import { encodeModel } from './onnx-proto.ts';

// The training step imports this module: it must load neither ONNX Runtime (absent from the
// training image) nor anything else the training image does not install.

/** simpair's version for the files' producer_version; 'unknown' where package.json is not beside the code (bundles). */
export async function packageVersion(): Promise<string> {
  try {
    return (JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** Facts stored in both ONNX files' `metadata_props`, so the files explain themselves. */
export function onnxMetadata(metadata: ClassifierMetadata, extra: Record<string, string> = {}): Record<string, string> {
  return {
    'simpair.maxLen': String(metadata.maxLen),
    'simpair.hidden': String(metadata.hidden),
    'simpair.threshold': String(metadata.threshold),
    'simpair.padding': metadata.padding,
    'simpair.embeddingModel': metadata.embeddingModel,
    'simpair.tokenizerSha256': metadata.tokenizerSha256,
    'simpair.createdAt': metadata.createdAt,
    'simpair.head': metadata.head ?? 'recipe',
    ...extra,
  };
}

/** Refuses a spec whose padding or head disagrees with what metadata.json says of the model. */
export function checkSpecMetadata(spec: ClassifierSpec, metadata: Pick<ClassifierMetadata, 'padding'> & Partial<Pick<ClassifierMetadata, 'head' | 'maxLen' | 'hidden'>>, where: string): void {
  if ((metadata.maxLen !== undefined && metadata.maxLen !== spec.maxLen) || (metadata.hidden !== undefined && metadata.hidden !== spec.hidden)) {
    throw new ModelMismatchError(`${where}: the model takes [${spec.maxLen}, ${spec.hidden}] but its metadata.json says [${metadata.maxLen}, ${metadata.hidden}]; the two come from different saves. Re-train the model.`);
  }
  if (spec.masked !== (metadata.padding === 'masked')) {
    throw new ExportError(`${where}: metadata.json says padding ${metadata.padding} but the model ${spec.masked ? 'has' : 'has no'} Masking layer; the two come from different saves. Re-train the model.`);
  }
  const pooled = spec.pairFeatures !== undefined;
  if (pooled !== (metadata.head === 'pooled')) {
    throw new ExportError(`${where}: metadata.json says head ${metadata.head ?? 'recipe'} but the model ${pooled ? 'has' : 'has no'} pair_features input; the two come from different saves. Re-train the model.`);
  }
}

/**
 * Writes `classifier.onnx` for a trained TF.js classifier under `prefix` of `store` (beside
 * its `model.json`). `simpair run` calls it before saving `metadata.json`, so a complete
 * model directory always has its ONNX twin.
 *
 * @example
 * await saveClassifierOnnx(store, 'model/', model, metadata);
 */
export async function saveClassifierOnnx(store: ObjectStore, prefix: string, model: tfl.LayersModel, metadata: Pick<ClassifierMetadata, 'padding'> & Partial<ClassifierMetadata>): Promise<void> {
  const spec = classifierSpecFromModel(model);
  checkSpecMetadata(spec, metadata, `${store.location}/${prefix}`);
  const props = metadata.format ? onnxMetadata(metadata as ClassifierMetadata) : { 'simpair.padding': metadata.padding, ...(metadata.head ? { 'simpair.head': metadata.head } : {}) };
  await store.put(joinKey(prefix, CLASSIFIER_ONNX_FILE), encodeModel(classifierModel(spec, { metadata: props, producerVersion: await packageVersion() })));
}
