import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simpair, type CliResult } from '../helpers/cli.ts';
import { ROOT, TINY_BERT } from '../helpers/paths.ts';

// What a new user reads after `simpair run` with early stopping: the log, metadata.json and
// report.html must tell what was run and which epoch's weights were kept, counted one way.
const TRAIN = join(ROOT, 'examples', 'train.tsv');
let work: string;
let out: string;
let run: CliResult;

let scores: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'simpair-run-report-'));
  out = join(work, 'model');
  // The examples as an STS-style file: a similarity score instead of a 0/1 label (1.000 = dissimilar).
  const rows = (await readFile(TRAIN, 'utf8')).trim().split('\n').slice(1).map((l) => l.split('\t'));
  scores = join(work, 'scores.tsv');
  await writeFile(scores, 'sentence1\tsentence2\tscore\n' + rows.map(([a, b, label], i) => `${a}\t${b}\t${label === '1' ? '4.200' : i % 2 ? '1.000' : '0.400'}\n`).join(''));
  run = await simpair(['run', '--data', scores, '--label-col', 'score', '--label-threshold', '3', '--model', TINY_BERT, '--out', out, '--max-len', '24', '--epochs', '6', '--patience', '1', '--validation-split', '0.2', '--json']);
  if (run.code !== 0) throw new Error(`run failed: ${run.stderr}`);
});
afterAll(() => rm(work, { recursive: true, force: true }));

describe('simpair run: what the report and metadata say', () => {
  it('counts epochs from 1 in metadata.json and records the kept epoch, the one with the lowest validation loss', async () => {
    const meta = JSON.parse(await readFile(join(out, 'metadata.json'), 'utf8'));
    const epochs: { epoch: number; val_loss: number }[] = meta.history;
    expect(epochs.map((e) => e.epoch)).toEqual(epochs.map((_, i) => i + 1));
    const best = epochs.reduce((a, b) => (b.val_loss < a.val_loss ? b : a));
    expect(meta.training.earlyStopping).toMatchObject({ patience: 1, restoreBestWeights: true, keptEpoch: best.epoch });
    expect(meta.training.earlyStopping.bestEpoch).toBeUndefined();
    expect(JSON.parse(run.stdout).keptEpoch).toBe(best.epoch);
    // The log counts the same way.
    for (const m of run.stderr.matchAll(/keeping the weights of epoch (\d+)/g)) expect(Number(m[1])).toBe(best.epoch);
    for (const e of epochs) expect(run.stderr).toContain(`epoch ${e.epoch}/6: loss`);
  });

  it("report.html says what was run and marks the kept epoch on the curves", async () => {
    const meta = JSON.parse(await readFile(join(out, 'metadata.json'), 'utf8'));
    const kept = meta.training.earlyStopping.keptEpoch;
    const html = await readFile(join(out, 'report.html'), 'utf8');
    for (const fact of ['embedding model', 'tiny-bert (local, onnx/model.onnx, config.json sha256', 'maxLen', '24', 'padding', 'max-length', 'TF.js backend', meta.backend, 'LSTM path', meta.lstmPath, 'early stopping', 'patience 1']) {
      expect(html).toContain(fact);
    }
    expect(html).toContain(`kept: epoch ${kept} of ${meta.history.length} run`);
    expect(html).toContain(`${meta.history.length} run of 6 asked`);
    expect(await readFile(join(out, 'training-curves.svg'), 'utf8')).toContain(`kept (epoch ${kept})`);
  });

  it('records the label rule of a score column (--label-threshold) in metadata.json and the report', async () => {
    const meta = JSON.parse(await readFile(join(out, 'metadata.json'), 'utf8'));
    expect(meta.labels).toEqual({ column: 'score', threshold: 3 });
    expect(await readFile(join(out, 'report.html'), 'utf8')).toContain('column score: 1 when score &gt;= 3, else 0');
    // Without the threshold the score column is refused as a whole, --skip-invalid or not.
    for (const extra of [[], ['--skip-invalid']]) {
      const v = await simpair(['validate', '--data', scores, '--label-col', 'score', ...extra]);
      expect(v.code).toBe(1);
      expect(v.stderr).toMatch(/label column "score" holds numbers other than 0 and 1 .*--label-threshold T/s);
    }
    const ok = await simpair(['validate', '--data', scores, '--label-col', 'score', '--label-threshold', '3', '--json']);
    expect(JSON.parse(ok.stdout)).toMatchObject({ rows: 48, positives: 24, negatives: 24, skipped: 0 });
  });

  it('logs the estimated time per epoch and for all epochs after the first batches', () => {
    expect(run.stderr).toMatch(/estimated training time: \d+ s per epoch \([\d.]+ s per batch of 32, 2 batches\), \d+ s for 6 epochs/);
    // Before the first epoch ends, so the user sees it early.
    expect(run.stderr.indexOf('estimated training time')).toBeLessThan(run.stderr.indexOf('epoch 1/6: loss'));
  });
});
