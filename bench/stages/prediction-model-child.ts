/**
 * Child process of the prediction stage: writes a model directory that `simpair serve
 * --model-dir` loads, for an encoder that no training run of the bench produced (bert-base-
 * random, the int8 exports): a seeded random Bi-LSTM shaped for the encoder's hidden size
 * and `--max-len`, saved as simpair saves a trained one (`model.json`, weights,
 * `metadata.json` naming the encoder and its ONNX file) plus `classifier.onnx`. Random
 * weights are enough for latency: the same graph runs whatever the weights hold.
 *
 * node bin/run-ts.js bench/stages/prediction-model-child.ts --encoder models/all-MiniLM-L6-v2
 *   --max-len 64 --out DIR [--quantized] [--seed 42]
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildBiLstm, initTfBackend, saveClassifier } from '../../src/classifier/index.ts';
import { embeddingModelRef, resolveModelSource } from '../../src/model-source/index.ts';
import { saveClassifierOnnx } from '../../src/onnx-export/save-classifier-onnx.ts';
import { FsObjectStore } from '../../src/storage/fs-object-store.ts';
import { PairTokenizer } from '../../src/tokenizer/index.ts';

/** What the child prints. */
export interface PredictionModelChildResult {
  readonly dir: string;
  readonly hidden: number;
  readonly maxLen: number;
  /** The encoder's ONNX file the model names (int8: onnx/model_quantized.onnx). */
  readonly onnxFile: string;
}

const { values } = parseArgs({
  options: {
    encoder: { type: 'string' },
    'max-len': { type: 'string' },
    out: { type: 'string' },
    quantized: { type: 'boolean', default: false },
    seed: { type: 'string', default: '42' },
  },
});
if (!values.encoder || !values['max-len'] || !values.out) throw new Error('prediction-model-child needs --encoder DIR, --max-len N and --out DIR.');
const out = resolve(values.out);
const maxLen = Number(values['max-len']);
const seed = Number(values.seed);

await initTfBackend();
const resolved = await resolveModelSource(values.encoder, { quantized: values.quantized });
const { hidden_size: hidden } = JSON.parse(await readFile(join(resolved.dir, 'config.json'), 'utf8')) as { hidden_size: number };
const tokenizer = await PairTokenizer.fromDir(resolved.dir);
const model = buildBiLstm({ maxLen, hidden, seed });
const store = new FsObjectStore(out);
const metadata = await saveClassifier(store, '', model, {
  embeddingModel: resolved.modelId,
  embedder: await embeddingModelRef(resolved, { classifierDir: out }),
  tokenizerSha256: tokenizer.sha256,
  datasetSha256: '0'.repeat(64),
  training: { epochs: 1, batchSize: 32, validationSplit: 0, seed, earlyStopping: null },
});
await saveClassifierOnnx(store, '', model, metadata);

const result: PredictionModelChildResult = { dir: out, hidden, maxLen, onnxFile: resolved.onnxFile };
process.stdout.write(JSON.stringify(result) + '\n');
