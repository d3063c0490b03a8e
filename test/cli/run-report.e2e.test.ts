import { mkdtemp, readFile, rm } from 'node:fs/promises';
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

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'simpair-run-report-'));
  out = join(work, 'model');
  run = await simpair(['run', '--data', TRAIN, '--model', TINY_BERT, '--out', out, '--max-len', '24', '--epochs', '6', '--patience', '1', '--validation-split', '0.2', '--json']);
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
    for (const fact of ['embedding model', TINY_BERT, 'maxLen', '24', 'padding', 'max-length', 'TF.js backend', meta.backend, 'LSTM path', meta.lstmPath, 'early stopping', 'patience 1']) {
      expect(html).toContain(fact);
    }
    expect(html).toContain(`kept: epoch ${kept} of ${meta.history.length} run`);
    expect(html).toContain(`${meta.history.length} run of 6 asked`);
    expect(await readFile(join(out, 'training-curves.svg'), 'utf8')).toContain(`kept (epoch ${kept})`);
  });

  it('logs the estimated time per epoch and for all epochs after the first batches', () => {
    expect(run.stderr).toMatch(/estimated training time: \d+ s per epoch \([\d.]+ s per batch of 32, 2 batches\), \d+ s for 6 epochs/);
    // Before the first epoch ends, so the user sees it early.
    expect(run.stderr.indexOf('estimated training time')).toBeLessThan(run.stderr.indexOf('epoch 1/6: loss'));
  });
});
