import { checkInt8 } from '../pipeline/check-int8.ts';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { CLASSIFIER_ONNX_FILE } from '../classifier/onnx-file.ts';
import { assertCompatible, readClassifierMetadata } from '../classifier/model-metadata.ts';
import { readHiddenSize } from '../embedder/bert-embedder.ts';
import { ExportError } from '../errors.ts';
import { ENCODER_BASELINE_MAX_TOKENS } from '../pipeline/encoder-baseline.ts';
import { resolveModelSource, resolveRecordedEmbeddingModel, type ResolveModelOptions } from '../model-source/index.ts';
import { checkOutputPaths } from '../cli/output-paths.ts';
import { FsObjectStore } from '../storage/fs-object-store.ts';
import { PairTokenizer } from '../tokenizer/pair-tokenizer.ts';
import { classifierModel } from './classifier-graph.ts';
import { readClassifierSpec } from './classifier-artifacts.ts';
import { decodeModel, encodeModel } from './onnx-proto.ts';
import { pipelineModel } from './pipeline-graph.ts';
import { checkSpecMetadata, onnxMetadata, packageVersion } from './save-classifier-onnx.ts';

/** Files of a BERT model directory copied beside `pipeline.onnx` (those that exist). */
const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.txt'] as const;

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
  const modelStore = new FsObjectStore(modelDir);
  // model.json and its weights are read without TensorFlow.js.
  const metadata = await readClassifierMetadata(modelStore, '');
  const spec = await readClassifierSpec(modelStore, '');
  checkSpecMetadata(spec, metadata, modelDir);
  const props = onnxMetadata(metadata);
  const classifierBytes = encodeModel(classifierModel(spec, { metadata: props, producerVersion: await packageVersion() }));
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
  // The same check as run --quantized, at the model's maxLen and padding: an int8 BERT that run
  // refuses is not merged silently here either (issue 19).
  if (quantized) await checkInt8(resolved.dir, tokenizer, { maxLen: metadata.maxLen, padding: metadata.padding === 'masked' ? 'dynamic' : 'max-length', command: 'export' });
  const bertPath = join(resolved.dir, resolved.onnxFile);
  const bert = decodeModel(await readFile(bertPath));
  const pipeline = pipelineModel(bert, spec, {
    metadata: {
      ...props,
      'simpair.bert': resolved.onnxFile,
      'simpair.quantized': String(quantized),
      // The pooled head's sentences are pooled as at training (the encoder baseline's settings).
      ...(spec.pairFeatures !== undefined ? { 'simpair.sentenceMaxTokens': String(metadata.encoderBaseline?.maxTokens ?? ENCODER_BASELINE_MAX_TOKENS) } : {}),
    },
    producerVersion: await packageVersion(),
    bertName: bertPath,
  });
  // The pipeline and the files beside it go to a checked place: not a file of this model, of
  // its embedding model or of another model, not a directory or a device.
  if (out !== undefined) {
    await checkOutputPaths([{ flag: '--out', path: out }], [{ flag: 'the embedding model', path: bertPath }], { modelDirs: [modelDir], extension: '.onnx', createsDirs: true });
  }
  await modelStore.put(CLASSIFIER_ONNX_FILE, classifierBytes);

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
