import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simpair } from '../helpers/cli.ts';
import { ROOT, TINY_BERT } from '../helpers/paths.ts';

const TRAIN = join(ROOT, 'examples', 'train.tsv');
const TEST = join(ROOT, 'examples', 'test.tsv');
let work: string;
let modelDir: string;
let someBad: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'simpair-evaluate-'));
  modelDir = join(work, 'model');
  const res = await simpair(['run', '--data', TRAIN, '--model', TINY_BERT, '--out', modelDir, '--max-len', '16', '--epochs', '1']);
  if (res.code !== 0) throw new Error(`run failed: ${res.stderr}`);
  await mkdir(join(work, 'data'));
  someBad = join(work, 'data', 'some-bad.tsv');
  await writeFile(someBad, 'sentence1\tsentence2\tlabel\nA cat.\tA dog.\t1\nA cat.\tA cow.\tmaybe\nA hen.\tA cow.\t0\n');
});
afterAll(() => rm(work, { recursive: true, force: true }));

describe('simpair evaluate', () => {
  it('--report draws the ROC curve and no empty training charts (evaluate has no training history)', async () => {
    const report = join(work, 'eval.html');
    const res = await simpair(['evaluate', '--model-dir', modelDir, '--data', TEST, '--report', report]);
    expect(res.code, res.stderr).toBe(0);
    const html = await readFile(report, 'utf8');
    expect(html).not.toMatch(/NaN/);
    expect(html).not.toMatch(/per epoch/);
    expect(html).toMatch(/ROC/);
    // Issue 19: the report names the model it evaluated.
    expect(html).toContain(`<tr><th>model directory</th><td>${modelDir}</td></tr>`);
    expect(html).toContain('<tr><th>embedding model</th><td>tiny-bert</td></tr>');
  });

  it('reports its time and throughput, and takes --threads as run does', async () => {
    const res = await simpair(['evaluate', '--model-dir', modelDir, '--data', TEST, '--threads', '1', '--json']);
    expect(res.code, res.stderr).toBe(0);
    const { timing, n } = JSON.parse(res.stdout);
    expect(n).toBe(12);
    expect(timing.threads).toBe(1);
    expect(timing.seconds).toBeGreaterThan(0);
    // seconds is rounded to the millisecond: on the ONNX path 12 tiny pairs take a few ms, so
    // check pairs/s against the range that rounding allows rather than 12 / seconds itself.
    expect(timing.pairsPerSecond).toBeGreaterThanOrEqual(12 / (timing.seconds + 0.0005) - 0.1);
    expect(timing.pairsPerSecond).toBeLessThanOrEqual(12 / Math.max(timing.seconds - 0.0005, 1e-6) + 0.1);
    const human = await simpair(['evaluate', '--model-dir', modelDir, '--data', TEST]);
    expect(human.stdout).toMatch(/^seconds +\d/m);
    expect(human.stdout).toMatch(/^pairs\/s +\d/m);
    expect((await simpair(['evaluate', '--model-dir', modelDir, '--data', TEST, '--threads', '0'])).code).toBe(2);
  });
});

describe('simpair evaluate and the pooled-vector cache', () => {
  it('a second evaluate encodes no baseline sentence again and gives the same figures; seconds in all covers the whole command', async () => {
    const env = { SIMPAIR_POOLED_CACHE: join(work, 'pooled-cache') };
    const first = await simpair(['evaluate', '--model-dir', modelDir, '--data', TEST, '--json'], env);
    expect(first.code, first.stderr).toBe(0);
    const second = await simpair(['evaluate', '--model-dir', modelDir, '--data', TEST, '--json'], env);
    expect(second.code, second.stderr).toBe(0);
    const a = JSON.parse(first.stdout);
    const b = JSON.parse(second.stdout);
    expect(a.encoderBaseline.cost.cachedSentences).toBe(0);
    expect(b.encoderBaseline.cost).toMatchObject({ cachedSentences: a.encoderBaseline.cost.distinctSentences, tokens: 0 });
    const { cost: _a, ...figuresA } = a.encoderBaseline;
    const { cost: _b, ...figuresB } = b.encoderBaseline;
    expect(figuresB).toEqual(figuresA);
    // Issue 19: evaluate reported 125.6 s for a 219 s command (the baseline was left out).
    expect(a.timing.totalSeconds).toBeGreaterThanOrEqual(a.timing.seconds + a.timing.baselineSeconds);
  });
});

describe('--skip-invalid report location', () => {
  const inRoot = join(ROOT, 'some-bad.tsv.skipped.jsonl');
  afterAll(() => rm(inRoot, { force: true }));

  it('validate writes it beside the data file, not in the working directory, and says where', async () => {
    // The CLI runs with the repository root as its working directory.
    const res = await simpair(['validate', '--data', someBad, '--skip-invalid']);
    expect(res.code, res.stderr).toBe(0);
    const beside = `${someBad}.skipped.jsonl`;
    expect(res.stderr).toContain(`listed in ${beside}`);
    expect(await readFile(beside, 'utf8')).toMatch(/"line":3/);
    expect(existsSync(inRoot)).toBe(false);
    await rm(beside);
  });

  it('evaluate --report writes it beside the report', async () => {
    const reportDir = join(work, 'reports');
    await mkdir(reportDir);
    const res = await simpair(['evaluate', '--model-dir', modelDir, '--data', someBad, '--skip-invalid', '--report', join(reportDir, 'r.html')]);
    expect(res.code, res.stderr).toBe(0);
    expect((await readdir(reportDir)).sort()).toEqual(['r.html', 'some-bad.tsv.skipped.jsonl']);
    expect(res.stderr).toContain(`listed in ${join(reportDir, 'some-bad.tsv.skipped.jsonl')}`);
    expect(existsSync(inRoot)).toBe(false);
  });
});
