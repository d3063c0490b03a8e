import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simpair, type CliResult } from '../helpers/cli.ts';
import { ROOT, TINY_BERT } from '../helpers/paths.ts';

// A model directory is trained here, then used "on another machine": the embedding model's
// directory is gone from where it was, a copy sits elsewhere.
const TRAIN = join(ROOT, 'examples', 'train.tsv');
const MINILM = join(ROOT, 'models', 'all-MiniLM-L6-v2');
let work: string;
let out: string;
let run: CliResult;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'simpair-portable-'));
  await mkdir(join(work, 'machine-a'));
  await cp(TINY_BERT, join(work, 'machine-a', 'tiny-bert'), { recursive: true });
  out = join(work, 'machine-a', 'runs', 'q');
  run = await simpair(['run', '--data', TRAIN, '--model', join(work, 'machine-a', 'tiny-bert'), '--quantized', '--out', out, '--max-len', '16', '--epochs', '1']);
  if (run.code !== 0) throw new Error(`run failed: ${run.stderr}`);
});
afterAll(() => rm(work, { recursive: true, force: true }));

describe('--quantized', () => {
  it("checks the int8 model against float32 before training, and reports the figure", async () => {
    expect(run.stderr).toMatch(/--quantized: int8 vs float32 min cosine 0\.9\d+ over \d+ positions \(tolerance 0\.95\)/);
    expect(await readFile(join(out, 'report.html'), 'utf8')).toMatch(/int8 vs float32.*min cosine 0\.9/);
  });

  it.skipIf(!existsSync(join(MINILM, 'onnx', 'model_quantized.onnx')))("refuses all-MiniLM-L6-v2's int8 export with the recipe's padding, writing nothing", async () => {
    const refused = await simpair(['run', '--data', TRAIN, '--model', MINILM, '--quantized', '--out', join(work, 'minilm'), '--max-len', '32', '--epochs', '1']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/strays too far from its float32 model .*min cosine 0\.\d+ .*pass --padding masked, or drop --quantized/);
    expect(existsSync(join(work, 'minilm'))).toBe(false);
  });

  it.skipIf(!existsSync(join(MINILM, 'onnx', 'model_quantized.onnx')))('export --quantized refuses the same int8 BERT for a max-length model, as run does, writing nothing (issue 19)', async () => {
    const model = join(work, 'minilm-float');
    const trained = await simpair(['run', '--data', TRAIN, '--model', MINILM, '--out', model, '--max-len', '32', '--epochs', '1']);
    expect(trained.code, trained.stderr).toBe(0);
    const out = join(work, 'minilm-export', 'pipeline.onnx');
    const refused = await simpair(['export', '--model-dir', model, '--quantized', '--out', out]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/strays too far from its float32 model .*min cosine 0\.\d+ .*export without --quantized, or train with simpair run --padding masked/);
    expect(existsSync(join(work, 'minilm-export'))).toBe(false);
    expect(existsSync(join(model, 'pipeline.onnx'))).toBe(false);
  });
});

describe('metadata.json names the embedding model portably', () => {
  it('records no path of this machine, and the ONNX file used', async () => {
    const text = await readFile(join(out, 'metadata.json'), 'utf8');
    expect(text).not.toContain(work);
    const meta = JSON.parse(text);
    expect(meta.embeddingModel).toBe('tiny-bert');
    expect(meta.embedder).toEqual({ source: 'local', id: 'tiny-bert', onnxFile: 'onnx/model_quantized.onnx', configSha256: expect.stringMatching(/^[0-9a-f]{64}$/), path: '../../tiny-bert' });
  });

  it('predicts with the same int8 embedder on this machine, and elsewhere from a copy found by name', async () => {
    const here = await simpair(['predict', '--model-dir', out, '--s1', 'A cat naps.', '--s2', 'The cat sleeps.', '--json']);
    expect(here.code, here.stderr).toBe(0);
    // "Another machine": the model directory was copied, the embedding model sits in a models folder.
    const copy = join(work, 'machine-b', 'runs', 'q');
    await mkdir(join(work, 'machine-b', 'models'), { recursive: true });
    await cp(out, copy, { recursive: true });
    await rename(join(work, 'machine-a', 'tiny-bert'), join(work, 'machine-b', 'models', 'tiny-bert'));
    const lost = await simpair(['predict', '--model-dir', copy, '--s1', 'A cat naps.', '--s2', 'The cat sleeps.']);
    expect(lost.code).toBe(1);
    expect(lost.stderr).toMatch(/local embedding model "tiny-bert" .*not found here.*SIMPAIR_MODELS, or pass --model DIR/);
    const there = await simpair(['predict', '--model-dir', copy, '--s1', 'A cat naps.', '--s2', 'The cat sleeps.', '--json'], { SIMPAIR_MODELS: join(work, 'machine-b', 'models') });
    expect(there.code, there.stderr).toBe(0);
    expect(JSON.parse(there.stdout).probability).toBeCloseTo(JSON.parse(here.stdout).probability, 6);
  });
});
