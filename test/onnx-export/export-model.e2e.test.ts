import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simpair } from '../helpers/cli.ts';
import { ROOT, TINY_BERT } from '../helpers/paths.ts';
import { describeWithPython, runPython } from '../helpers/python.ts';
import { PADDINGS, trainTinyModel } from '../helpers/tiny-run.ts';


/** Pairs for prediction: short ones, one that needs truncation, an empty-ish one. */
const PAIRS = [
  { sentence1: 'A man is eating food.', sentence2: 'A man is eating a meal.' },
  { sentence1: 'The cat sat on the mat.', sentence2: 'Stocks fell sharply on Monday after the quarterly report surprised analysts who had expected a strong year.' },
  { sentence1: 'He left.', sentence2: 'She stayed home all week because of the storm that closed every road in the valley.' },
  { sentence1: 'Yes.', sentence2: 'No.' },
];

let work: string;
const modelDirs: Record<string, string> = {};
/** Per padding: a model trained with --head pooled. */
const pooledDirs: Record<string, string> = {};

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'simpair-export-'));
  for (const padding of PADDINGS) modelDirs[padding] = await trainTinyModel(work, padding);
  for (const padding of PADDINGS) pooledDirs[padding] = await trainTinyModel(work, padding, { head: 'pooled' });
}, 600_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function predictWithSimpair(modelDir: string, env: Record<string, string> = {}): Promise<number[]> {
  const tsv = join(work, 'pairs.tsv');
  await writeFile(tsv, 'sentence1\tsentence2\n' + PAIRS.map((p) => `${p.sentence1}\t${p.sentence2}`).join('\n') + '\n');
  const res = await simpair(['predict', '--model-dir', modelDir, '--pairs', tsv, '--json'], env);
  expect(res.code, res.stderr).toBe(0);
  return (JSON.parse(res.stdout) as { predictions: { probability: number }[] }).predictions.map((p) => p.probability);
}

describe('simpair run / simpair export', () => {
  it.each(PADDINGS)('simpair run writes classifier.onnx beside model.json (%s padding)', (padding) => {
    expect(existsSync(join(modelDirs[padding], 'classifier.onnx'))).toBe(true);
    expect(existsSync(join(modelDirs[padding], 'model.json'))).toBe(true);
  });

  it.each(PADDINGS)('simpair run --head pooled writes classifier.onnx too (%s padding)', (padding) => {
    expect(existsSync(join(pooledDirs[padding], 'classifier.onnx'))).toBe(true);
  });

  it.each(PADDINGS)('exports pipeline.onnx with the tokenizer and metadata.json beside it, without importing TensorFlow.js (%s padding)', async (padding) => {
    const out = join(work, `export-${padding}`, 'pipeline.onnx');
    const log = join(work, `export-imports-${padding}.log`);
    const res = await simpair(['export', '--model-dir', modelDirs[padding], '--out', out, '--json'], {
      NODE_OPTIONS: `--import ${join(ROOT, 'test', 'helpers', 'record-imports.mjs')}`,
      SIMPAIR_TEST_IMPORT_LOG: log,
      SIMPAIR_TEST_IMPORT_PREFIX: '@tensorflow/',
    });
    expect(res.code, res.stderr).toBe(0);
    expect(existsSync(log) ? await readFile(log, 'utf8') : '').toBe('');
    const result = JSON.parse(res.stdout) as { pipeline: string; classifier: string; besides: string[] };
    expect(result.pipeline).toBe(out);
    for (const file of ['pipeline.onnx', 'tokenizer.json', 'vocab.txt', 'metadata.json']) expect(existsSync(join(work, `export-${padding}`, file)), file).toBe(true);
    const metadata = JSON.parse(await readFile(join(work, `export-${padding}`, 'metadata.json'), 'utf8')) as { padding: string; maxLen: number };
    expect(metadata).toMatchObject({ padding, maxLen: 24 });
  });

  it('refuses --quantized when the embedding model has no int8 file, saying which file is missing', async () => {
    const floatOnly = join(work, 'tiny-bert-float32-only');
    await cp(TINY_BERT, floatOnly, { recursive: true });
    await rm(join(floatOnly, 'onnx', 'model_quantized.onnx'), { force: true });
    const res = await simpair(['export', '--model-dir', modelDirs['max-length'], '--model', floatOnly, '--out', join(work, 'q', 'pipeline.onnx'), '--quantized']);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/model_quantized\.onnx/);
    expect(existsSync(join(work, 'q', 'pipeline.onnx'))).toBe(false);
  });

  it.each(PADDINGS)('exports pipeline.onnx of the pooled head, with the two sentence inputs beside the pair (%s padding)', async (padding) => {
    const dir = pooledDirs[padding];
    await rm(join(dir, 'classifier.onnx'));
    const out = join(work, `export-pooled-${padding}`, 'pipeline.onnx');
    const res = await simpair(['export', '--model-dir', dir, '--out', out, '--json']);
    expect(res.code, res.stderr).toBe(0);
    expect(existsSync(join(dir, 'classifier.onnx'))).toBe(true);
    for (const file of ['pipeline.onnx', 'tokenizer.json', 'metadata.json']) expect(existsSync(join(work, `export-pooled-${padding}`, file)), file).toBe(true);
  });

  it('refuses a directory that holds no model, naming it', async () => {
    const res = await simpair(['export', '--model-dir', join(work, 'nothing-here')]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/nothing-here/);
  });
});

describeWithPython('the exports outside simpair', () => {
  it.each(PADDINGS)("pass ONNX's checker, and pipeline.onnx in Python onnxruntime + HF tokenizers gives simpair predict's probabilities (%s padding)", async (padding) => {
    const dir = join(work, `export-${padding}`);
    const pairsJson = join(work, 'pairs.json');
    await writeFile(pairsJson, JSON.stringify(PAIRS));
    const out = JSON.parse(
      await runPython('check_onnx_export.py', ['--check', join(modelDirs[padding], 'classifier.onnx'), join(dir, 'pipeline.onnx'), '--pipeline', join(dir, 'pipeline.onnx'), '--pairs', pairsJson]),
    ) as { checked: { file: string }[]; probabilities: number[] };
    expect(out.checked).toHaveLength(2);
    const expected = await predictWithSimpair(modelDirs[padding]);
    expect(out.probabilities).toHaveLength(PAIRS.length);
    // simpair predict rounds to 6 decimals.
    out.probabilities.forEach((p, i) => expect(Math.abs(p - expected[i]), `pair ${i}: ${p} vs ${expected[i]}`).toBeLessThan(1e-5));
  });

  it.each(PADDINGS)(
    "the pooled head's exports pass ONNX's checker, and its pipeline.onnx in Python onnxruntime + HF tokenizers gives simpair predict's probabilities (%s padding)",
    async (padding) => {
      const pipeline = join(work, `export-pooled-${padding}`, 'pipeline.onnx');
      const pairsJson = join(work, 'pairs.json');
      await writeFile(pairsJson, JSON.stringify(PAIRS));
      const out = JSON.parse(await runPython('check_onnx_export.py', ['--check', join(pooledDirs[padding], 'classifier.onnx'), pipeline, '--pipeline', pipeline, '--pairs', pairsJson])) as {
        checked: { ops: string[]; inputs: string[] }[];
        probabilities: number[];
      };
      expect(out.checked[0].ops).toEqual(expect.arrayContaining(['LSTM', 'Concat', 'Sigmoid']));
      expect(out.checked[0].inputs).toEqual(['embeddings', 'pair_features']);
      expect(out.checked[1].inputs).toEqual(['input_ids', 'attention_mask', 'token_type_ids', 'sentence1_input_ids', 'sentence1_attention_mask', 'sentence2_input_ids', 'sentence2_attention_mask']);
      const expected = await predictWithSimpair(pooledDirs[padding]);
      expect(out.probabilities).toHaveLength(PAIRS.length);
      out.probabilities.forEach((p, i) => expect(Math.abs(p - expected[i]), `pair ${i}: ${p} vs ${expected[i]}`).toBeLessThan(1e-5));
    },
  );

  it('--quantized merges the int8 BERT: it passes the checker, quantizes its matmuls, and still gives probabilities', async () => {
    const bertDir = join(work, 'tiny-bert-int8');
    await cp(TINY_BERT, bertDir, { recursive: true });
    await runPython('quantize_bert.py', [bertDir]);
    const out = join(work, 'export-int8', 'pipeline.onnx');
    const res = await simpair(['export', '--model-dir', modelDirs['max-length'], '--model', bertDir, '--quantized', '--out', out]);
    expect(res.code, res.stderr).toBe(0);
    const pairsJson = join(work, 'pairs.json');
    await writeFile(pairsJson, JSON.stringify(PAIRS));
    const checked = JSON.parse(await runPython('check_onnx_export.py', ['--check', out, '--pipeline', out, '--pairs', pairsJson])) as {
      checked: { ops: string[] }[];
      probabilities: number[];
    };
    expect(checked.checked[0].ops).toEqual(expect.arrayContaining(['DynamicQuantizeLinear', 'MatMulInteger']));
    const float32 = await predictWithSimpair(modelDirs['max-length']);
    const diff = Math.max(...checked.probabilities.map((p, i) => Math.abs(p - float32[i])));
    console.log(`int8 pipeline vs float32 simpair predict on the tiny model: max |probability difference| ${diff.toFixed(5)}`);
    checked.probabilities.forEach((p) => expect(p > 0 && p < 1).toBe(true));
  });
});
