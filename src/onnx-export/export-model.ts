import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { CLASSIFIER_ONNX_FILE } from '../classifier/onnx-classifier.ts';
import type { ClassifierMetadata } from '../classifier/model-io.ts';
import { readHiddenSize } from '../embedder/bert-embedder.ts';
import { ExportError } from '../errors.ts';
import { joinKey } from '../embeddings/manifest.ts';
import { resolveModelSource, resolveRecordedEmbeddingModel, type ResolveModelOptions } from '../model-source/index.ts';
import { FsObjectStore } from '../storage/fs-object-store.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { PairTokenizer } from '../tokenizer/pair-tokenizer.ts';
import { classifierModel } from './classifier-graph.ts';
import { classifierSpecFromModel, type ClassifierSpec } from './classifier-spec.ts';
import { decodeModel, encodeModel } from './onnx-proto.ts';
import { pipelineModel } from './pipeline-graph.ts';

/** Files of a BERT model directory copied beside `pipeline.onnx` (those that exist). */
const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.txt'] as const;

/** simpair's version for the files' producer_version; 'unknown' where package.json is not beside the code (bundles). */
async function packageVersion(): Promise<string> {
  try {
    return (JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** Facts stored in both ONNX files' `metadata_props`, so the files explain themselves. */
function onnxMetadata(metadata: ClassifierMetadata, extra: Record<string, string> = {}): Record<string, string> {
  return {
    'simpair.maxLen': String(metadata.maxLen),
    'simpair.hidden': String(metadata.hidden),
    'simpair.threshold': String(metadata.threshold),
    'simpair.padding': metadata.padding,
    'simpair.embeddingModel': metadata.embeddingModel,
    'simpair.tokenizerSha256': metadata.tokenizerSha256,
    'simpair.createdAt': metadata.createdAt,
    ...extra,
  };
}

function checkPadding(spec: ClassifierSpec, metadata: Pick<ClassifierMetadata, 'padding'>, where: string): void {
  if (spec.masked !== (metadata.padding === 'masked')) {
    throw new ExportError(`${where}: metadata.json says padding ${metadata.padding} but the model ${spec.masked ? 'has' : 'has no'} Masking layer; the two come from different saves. Re-train the model.`);
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
  checkPadding(spec, metadata, `${store.location}/${prefix}`);
  const props = metadata.format ? onnxMetadata(metadata as ClassifierMetadata) : { 'simpair.padding': metadata.padding };
  await store.put(joinKey(prefix, CLASSIFIER_ONNX_FILE), encodeModel(classifierModel(spec, { metadata: props, producerVersion: await packageVersion() })));
}

/** Options of {@link exportModel}. */
export interface ExportModelOptions {
  /** A model directory written by `simpair run`. */
  readonly modelDir: string;
  /** Path of `pipeline.onnx`; the tokenizer and metadata.json go beside it. @default `<modelDir>/pipeline.onnx` */
  readonly out?: string;
  /** Merge the int8 BERT (`onnx/model_quantized.onnx` of the embedding model). @default the ONNX file the classifier was trained with */
  readonly quantized?: boolean;
  /** Embedding model to merge instead of the one metadata.json names (hub id, dir, s3://). */
  readonly modelSource?: string;
  readonly hub?: ResolveModelOptions;
}

/** What {@link exportModel} wrote. */
export interface ExportResult {
  readonly classifier: string;
  readonly pipeline: string;
  /** Tokenizer files and metadata.json written beside `pipeline`. */
  readonly besides: readonly string[];
  readonly quantized: boolean;
}

/**
 * `simpair export`: writes `classifier.onnx` into the model directory and `pipeline.onnx`
 * (BERT + classifier, token ids in, probability out) with the tokenizer files and
 * `metadata.json` beside it, so any ONNX runtime with a WordPiece tokenizer reproduces
 * simpair's predictions. Every file is written to a temporary name and renamed.
 *
 * @throws ExportError / ModelMismatchError when the model cannot be exported or the
 * embedding model does not fit it (hidden size, tokenizer).
 * @example
 * const { pipeline } = await exportModel({ modelDir: 'runs/minilm' });
 */
export async function exportModel({ modelDir, out, quantized: asked, modelSource, hub }: ExportModelOptions): Promise<ExportResult> {
  const { initTfBackend, loadClassifier, assertCompatible } = await import('../classifier/index.ts');
  await initTfBackend();
  const modelStore = new FsObjectStore(modelDir);
  const { model, metadata } = await loadClassifier(modelStore, '');
  let spec: ClassifierSpec;
  try {
    spec = classifierSpecFromModel(model);
    checkPadding(spec, metadata, modelDir);
  } finally {
    model.dispose();
  }
  const props = onnxMetadata(metadata);
  // Everything is checked and built before the first file is written.
  const quantized = asked ?? metadata.embedder?.onnxFile === 'onnx/model_quantized.onnx';
  const found = modelSource
    ? await resolveModelSource(modelSource, { ...hub, quantized })
    : await resolveRecordedEmbeddingModel(metadata, { ...hub, quantized, classifierDir: modelDir });
  // The recorded model may name the other ONNX file of the same directory; take the one asked for.
  const resolved = { ...found, onnxFile: quantized ? 'onnx/model_quantized.onnx' : 'onnx/model.onnx' };
  if (!(await isFile(join(resolved.dir, resolved.onnxFile)))) {
    throw new ExportError(`${join(resolved.dir, resolved.onnxFile)} is absent; ${quantized ? 'make one with scripts/quantize_bert.py DIR, or export without --quantized' : 'the embedding model needs onnx/model.onnx'} (or pass --model SRC).`);
  }
  const tokenizer = await PairTokenizer.fromDir(resolved.dir);
  assertCompatible(metadata, { maxLen: metadata.maxLen, hidden: await readHiddenSize(resolved.dir), tokenizerSha256: tokenizer.sha256 });
  const bertPath = join(resolved.dir, resolved.onnxFile);
  const bert = decodeModel(await readFile(bertPath));
  const pipeline = pipelineModel(bert, spec, {
    metadata: { ...props, 'simpair.bert': resolved.onnxFile, 'simpair.quantized': String(quantized) },
    producerVersion: await packageVersion(),
    bertName: bertPath,
  });
  await modelStore.put(CLASSIFIER_ONNX_FILE, encodeModel(classifierModel(spec, { metadata: props, producerVersion: await packageVersion() })));

  const pipelinePath = resolve(out ?? join(modelDir, 'pipeline.onnx'));
  const outDir = dirname(pipelinePath);
  const outStore = new FsObjectStore(outDir);
  await outStore.put(basename(pipelinePath), encodeModel(pipeline));
  const besides: string[] = [];
  for (const file of TOKENIZER_FILES) {
    const from = join(resolved.dir, file);
    if (!(await isFile(from))) continue;
    await outStore.put(file, await readFile(from));
    besides.push(join(outDir, file));
  }
  if (resolve(outDir) !== resolve(modelDir)) {
    await outStore.put('metadata.json', await readFile(join(modelDir, 'metadata.json')));
    besides.push(join(outDir, 'metadata.json'));
  }
  return { classifier: resolve(modelDir, CLASSIFIER_ONNX_FILE), pipeline: pipelinePath, besides, quantized };
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
