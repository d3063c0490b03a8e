import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTfjsClassifier } from '../../src/classifier/tfjs-classifier.ts';
import { NotFoundError, SimpairError } from '../../src/errors.ts';
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

/** The models trained here: both heads, both paddings. */
const KINDS = PADDINGS.flatMap((padding) => (['recipe', 'pooled'] as const).map((head) => ({ padding, head, kind: `${head}, ${padding}` })));

let work: string;
/** Per kind: a model directory from simpair run (with classifier.onnx) and a copy without it (an older model). */
const dirs: Record<string, { onnx: string; tfjsOnly: string }> = {};

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'simpair-runtime-'));
  for (const { padding, head, kind } of KINDS) {
    const onnx = await trainTinyModel(work, padding, { head });
    const tfjsOnly = join(work, `old-model-${head}-${padding}`);
    await mkdir(tfjsOnly);
    for (const f of ['model.json', 'group1-shard1of1.bin', 'metadata.json']) await copyFile(join(onnx, f), join(tfjsOnly, f));
    dirs[kind] = { onnx, tfjsOnly };
  }
}, 600_000);

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
  it.each(KINDS)(
    "runs classifier.onnx, converts an older model's model.json to ONNX in memory, and both give TF.js' probabilities within 1e-5 ($kind)",
    async ({ kind, head }) => {
      const onnx = await Predictor.load(new FsObjectStore(dirs[kind].onnx), '', { runtime: 'onnx' });
      const converted = await Predictor.load(new FsObjectStore(dirs[kind].tfjsOnly), '');
      const tfjs = await Predictor.load(new FsObjectStore(dirs[kind].tfjsOnly), '', { runtime: 'tfjs', tfjs: loadTfjsClassifier });
      expect([onnx.runtime, onnx.classifierSource]).toEqual(['onnx', 'classifier.onnx']);
      expect([converted.runtime, converted.classifierSource]).toEqual(['onnx', 'model.json converted to ONNX']);
      expect([tfjs.runtime, tfjs.classifierSource]).toEqual(['tfjs', 'model.json on TensorFlow.js']);
      expect(onnx.metadata.head).toBe(head === 'pooled' ? 'pooled' : undefined);
      const expected = await tfjs.probabilities(PAIRS);
      for (const p of [onnx, converted]) {
        const got = await p.probabilities(PAIRS);
        got.forEach((v, i) => expect(Math.abs(v - expected[i]), `${p.classifierSource}, pair ${i}`).toBeLessThan(1e-5));
      }
      await Promise.all([onnx.dispose(), converted.dispose(), tfjs.dispose()]);
    },
  );

  it("runtime 'onnx' refuses a model without classifier.onnx, saying how to export one; runtime 'tfjs' needs its loader", async () => {
    const old = new FsObjectStore(dirs['recipe, max-length'].tfjsOnly);
    await expect(Predictor.load(old, '', { runtime: 'onnx' })).rejects.toThrow(NotFoundError);
    await expect(Predictor.load(old, '', { runtime: 'onnx' })).rejects.toThrow(/simpair export --model-dir/);
    await expect(Predictor.load(old, '', { runtime: 'tfjs' })).rejects.toThrow(SimpairError);
    await expect(Predictor.load(old, '', { runtime: 'tfjs' })).rejects.toThrow(/runtime 'tfjs' needs the tfjs option/);
  });

  it.each(['recipe', 'pooled'] as const)(
    'simpair predict imports no TensorFlow.js module, with classifier.onnx or with an older model converted in memory, and says which (%s head)',
    async (head) => {
      const { onnx, tfjsOnly } = dirs[`${head}, max-length`];
      const args = (dir: string) => ['predict', '--model-dir', dir, '--s1', PAIRS[0].sentence1, '--s2', PAIRS[0].sentence2, '--json'];
      const onnxLog = join(work, `imports-onnx-${head}.log`);
      const viaOnnx = await simpair(args(onnx), recordTfImports(onnxLog));
      expect(viaOnnx.code, viaOnnx.stderr).toBe(0);
      expect(viaOnnx.stderr).toMatch(/runs on ONNX Runtime \(classifier\.onnx\)/);
      expect(await importedModules(onnxLog)).toEqual([]);

      const oldLog = join(work, `imports-old-${head}.log`);
      const viaOld = await simpair(args(tfjsOnly), recordTfImports(oldLog));
      expect(viaOld.code, viaOld.stderr).toBe(0);
      expect(viaOld.stderr).toMatch(/runs on ONNX Runtime \(model\.json converted to ONNX\)/);
      expect(await importedModules(oldLog)).toEqual([]);
      const p = (r: { stdout: string }) => (JSON.parse(r.stdout) as { probability: number }).probability;
      expect(Math.abs(p(viaOnnx) - p(viaOld))).toBeLessThan(1e-5);
    },
  );

  it('simpair predict --runtime tfjs runs model.json on TensorFlow.js (the recorder sees it), with the same probability', async () => {
    // A recorder that never fires would pass the tests above vacuously.
    const { onnx } = dirs['pooled, masked'];
    const args = ['predict', '--model-dir', onnx, '--s1', PAIRS[1].sentence1, '--s2', PAIRS[1].sentence2, '--json'];
    const log = join(work, 'imports-tfjs.log');
    const viaTfjs = await simpair([...args, '--runtime', 'tfjs'], recordTfImports(log));
    expect(viaTfjs.code, viaTfjs.stderr).toBe(0);
    expect(viaTfjs.stderr).toMatch(/runs on TensorFlow\.js \(model\.json\)/);
    expect(await importedModules(log)).toContain('@tensorflow/tfjs-core');
    const viaOnnx = await simpair([...args, '--runtime', 'onnx']);
    expect(viaOnnx.code, viaOnnx.stderr).toBe(0);
    const p = (r: { stdout: string }) => (JSON.parse(r.stdout) as { probability: number }).probability;
    expect(Math.abs(p(viaOnnx) - p(viaTfjs))).toBeLessThan(1e-5);
  });

  it('simpair serve --model-dir answers POST /predict without importing TensorFlow.js (an older pooled, masked model)', async () => {
    const log = join(work, 'imports-serve.log');
    const server = await startServe(['--model-dir', dirs['pooled, masked'].tfjsOnly], recordTfImports(log));
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
