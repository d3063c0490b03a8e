import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotFoundError } from '../../src/errors.ts';
import { Predictor } from '../../src/pipeline/predictor.ts';
import { FsObjectStore } from '../../src/storage/fs-object-store.ts';
import { simpair, startServe } from '../helpers/cli.ts';
import { ROOT } from '../helpers/paths.ts';
import { PADDINGS, trainTinyModel } from '../helpers/tiny-run.ts';

const RECORD_IMPORTS = join(ROOT, 'test', 'helpers', 'record-imports.mjs');
const PAIRS = [
  { sentence1: 'A man is eating food.', sentence2: 'A man is eating a meal.' },
  { sentence1: 'The cat sat on the mat.', sentence2: 'Stocks fell sharply on Monday after the quarterly report surprised analysts.' },
  { sentence1: 'Yes.', sentence2: 'No.' },
];

let work: string;
/** Per padding: a model directory from simpair run (with classifier.onnx) and a copy without it (an older model). */
const dirs: Record<string, { onnx: string; tfjsOnly: string }> = {};

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'simpair-runtime-'));
  for (const padding of PADDINGS) {
    const onnx = await trainTinyModel(work, padding);
    const tfjsOnly = join(work, `old-model-${padding}`);
    await mkdir(tfjsOnly);
    for (const f of ['model.json', 'group1-shard1of1.bin', 'metadata.json']) await copyFile(join(onnx, f), join(tfjsOnly, f));
    dirs[padding] = { onnx, tfjsOnly };
  }
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** Env that makes a simpair process list every `@tensorflow/` module it imports in `log`. */
function recordTfImports(log: string): Record<string, string> {
  return { NODE_OPTIONS: `--import ${RECORD_IMPORTS}`, SIMPAIR_TEST_IMPORT_LOG: log, SIMPAIR_TEST_IMPORT_PREFIX: '@tensorflow/' };
}

async function importedModules(log: string): Promise<string[]> {
  try {
    return [...new Set((await readFile(log, 'utf8')).split('\n').filter(Boolean))];
  } catch {
    return []; // nothing imported, nothing written
  }
}

describe('prediction on ONNX Runtime only', () => {
  it.each(PADDINGS)('Predictor runs classifier.onnx when present, TF.js otherwise, with the same probabilities within 1e-5 (%s padding)', async (padding) => {
    const onnx = await Predictor.load(new FsObjectStore(dirs[padding].onnx), '');
    const tfjs = await Predictor.load(new FsObjectStore(dirs[padding].tfjsOnly), '');
    expect(onnx.runtime).toBe('onnx');
    expect(tfjs.runtime).toBe('tfjs');
    const a = await onnx.probabilities(PAIRS);
    const b = await tfjs.probabilities(PAIRS);
    a.forEach((p, i) => expect(Math.abs(p - b[i])).toBeLessThan(1e-5));
    await onnx.dispose();
    await tfjs.dispose();
  });

  it("runtime 'onnx' refuses a model without classifier.onnx, saying how to export one", async () => {
    const load = Predictor.load(new FsObjectStore(dirs['max-length'].tfjsOnly), '', { runtime: 'onnx' });
    await expect(load).rejects.toThrow(NotFoundError);
    await expect(Predictor.load(new FsObjectStore(dirs['max-length'].tfjsOnly), '', { runtime: 'onnx' })).rejects.toThrow(/simpair export --model-dir/);
  });

  it('simpair predict imports no TensorFlow.js module when the model has classifier.onnx, and falls back to TF.js for an older model', async () => {
    const args = (dir: string) => ['predict', '--model-dir', dir, '--s1', PAIRS[0].sentence1, '--s2', PAIRS[0].sentence2, '--json'];
    const onnxLog = join(work, 'imports-onnx.log');
    const viaOnnx = await simpair(args(dirs['max-length'].onnx), recordTfImports(onnxLog));
    expect(viaOnnx.code, viaOnnx.stderr).toBe(0);
    expect(viaOnnx.stderr).toMatch(/runs on ONNX Runtime/);
    expect(await importedModules(onnxLog)).toEqual([]);

    const tfjsLog = join(work, 'imports-tfjs.log');
    const viaTfjs = await simpair(args(dirs['max-length'].tfjsOnly), recordTfImports(tfjsLog));
    expect(viaTfjs.code, viaTfjs.stderr).toBe(0);
    // The recorder works: the fallback does import TF.js.
    expect(await importedModules(tfjsLog)).toContain('@tensorflow/tfjs-core');
    const p = (r: { stdout: string }) => (JSON.parse(r.stdout) as { probability: number }).probability;
    expect(Math.abs(p(viaOnnx) - p(viaTfjs))).toBeLessThan(1e-5);
  });

  it('simpair serve --model-dir answers POST /predict without importing TensorFlow.js', async () => {
    const log = join(work, 'imports-serve.log');
    const server = await startServe(['--model-dir', dirs.masked.onnx], recordTfImports(log));
    try {
      const res = await fetch(`${server.url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pairs: PAIRS }) });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { predictions: { probability: number }[] };
      expect(body.predictions).toHaveLength(PAIRS.length);
    } finally {
      await server.stop();
    }
    expect(await importedModules(log)).toEqual([]);
  });
});
