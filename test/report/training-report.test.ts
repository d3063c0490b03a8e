import { describe, expect, it } from 'vitest';
import type { EpochRecord } from '../../src/classifier/train.ts';
import { renderTrainingReport } from '../../src/report/index.ts';

const METRICS = { accuracy: 0.75, rocAuc: 0.8, n: 4, confusion: { tp: 1, fp: 0, tn: 2, fn: 1 } };
const ROC = { fpr: [0, 0, 1], tpr: [0, 0.5, 1] };

/** Five epochs as trainClassifier returns them (0-based), the best validation loss in the second. */
const HISTORY: EpochRecord[] = [0.7, 0.5, 0.55, 0.6, 0.65].map((val_loss, epoch) => ({ epoch, loss: 0.7 - epoch * 0.1, acc: 0.5 + epoch * 0.05, val_loss, val_acc: 0.6, seconds: 2 }));

describe('renderTrainingReport', () => {
  it('without a training history (evaluate) draws no training curves, only the ROC curve', async () => {
    const report = await renderTrainingReport({ title: 'simpair evaluate: t.tsv', history: [], roc: ROC, metrics: METRICS, evaluatedOn: 't.tsv' });
    expect(report.html).not.toMatch(/NaN/);
    expect(report.html).not.toMatch(/per epoch/);
    expect(report.curvesSvg).toBeUndefined();
    expect(report.rocSvg).toBeDefined();
    expect(report.html.match(/<svg/g)).toHaveLength(1);
  });

  it('lists what was run and marks the kept epoch, counting epochs from 1', async () => {
    const report = await renderTrainingReport({
      title: 'simpair run: train.tsv',
      history: HISTORY,
      roc: ROC,
      metrics: METRICS,
      evaluatedOn: 'test.tsv',
      facts: [
        ['embedding model', 'all-MiniLM-L6-v2'],
        ['maxLen', 64],
        ['padding', 'max-length'],
        ['TF.js backend', 'wasm'],
      ],
      keptEpoch: 2,
    });
    for (const fact of ['embedding model', 'all-MiniLM-L6-v2', 'maxLen', '64', 'padding', 'max-length', 'TF.js backend', 'wasm']) expect(report.html).toContain(fact);
    expect(report.html).toMatch(/kept: epoch 2 of 5/);
    // The mark is drawn on both curves at x = epoch 2 (the second of five points).
    expect(report.curvesSvg?.match(/kept \(epoch 2\)/g)).toHaveLength(2);
    expect(report.html).not.toMatch(/NaN/);
  });

  it('without early stopping says the last epoch is the one kept', async () => {
    const report = await renderTrainingReport({ title: 'r', history: HISTORY, metrics: METRICS, evaluatedOn: 'x' });
    expect(report.html).toMatch(/kept: epoch 5 of 5/);
  });

  it("prints both ROC legends whole, so the baseline's AUC can be read (issue 19: 'Bi-LSTM (AUC 0.527…')", async () => {
    const report = await renderTrainingReport({
      title: 'simpair run: t.tsv',
      history: [],
      roc: ROC,
      metrics: { ...METRICS, rocAuc: 0.52712 },
      evaluatedOn: 't.tsv',
      encoderBaseline: { roc: ROC, metrics: { accuracy: 0.719, rocAuc: 0.73612 } },
    });
    expect(report.rocSvg).toContain('>Bi-LSTM (AUC 0.5271)<');
    expect(report.rocSvg).toContain('>encoder baseline (AUC 0.7361)<');
    expect(report.rocSvg).not.toContain('…');
    expect(report.html).not.toMatch(/should beat it/);
  });
});
