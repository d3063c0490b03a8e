import { describe, expect, it } from 'vitest';
import { computeMetrics } from '../../src/metrics/compute-metrics.ts';
import { bestThreshold, cosineSimilarity, encoderBaselineVerdict, evaluateEncoderBaseline } from '../../src/metrics/encoder-baseline.ts';
import { seededRandom } from '../../src/classifier/seeded-random.ts';

describe('cosineSimilarity', () => {
  it('is the cosine of the angle, 0 for a zero vector', () => {
    expect(cosineSimilarity(Float32Array.of(1, 0), Float32Array.of(0, 2))).toBe(0);
    expect(cosineSimilarity(Float32Array.of(1, 2, 3), Float32Array.of(2, 4, 6))).toBeCloseTo(1, 12);
    expect(cosineSimilarity(Float32Array.of(1, 1), Float32Array.of(-1, -1))).toBeCloseTo(-1, 12);
    expect(cosineSimilarity(Float32Array.of(3, 4), Float32Array.of(4, 3))).toBeCloseTo(24 / 25, 12);
    expect(cosineSimilarity(Float32Array.of(0, 0), Float32Array.of(1, 3))).toBe(0);
  });

  it('refuses vectors of different lengths', () => {
    expect(() => cosineSimilarity(Float32Array.of(1), Float32Array.of(1, 2))).toThrow(/1 and 2 values/);
  });
});

describe('bestThreshold', () => {
  it('picks the midpoint between the scores that separate the classes best ("similar" is score > threshold)', () => {
    const t = bestThreshold([0, 1, 0, 1], [0.1, 0.4, 0.35, 0.8]);
    expect(t.threshold).toBeCloseTo(0.375, 12);
    expect(t.accuracy).toBe(1);
    expect(computeMetrics([0, 1, 0, 1], [0.1, 0.4, 0.35, 0.8], t.threshold).accuracy).toBe(1);
  });

  it('reaches the best accuracy over every possible threshold (brute force, random data with ties)', () => {
    const random = seededRandom(7);
    for (let trial = 0; trial < 20; trial++) {
      const n = 5 + Math.floor(random() * 60);
      const scores = Array.from({ length: n }, () => Math.round((random() * 2 - 1) * 20) / 20);
      const labels = scores.map((s) => (random() < 0.3 + 0.4 * (s > 0 ? 1 : 0) ? 1 : 0));
      const candidates = [...new Set(scores)].flatMap((s) => [s, s - 1e-9]);
      const brute = Math.max(...candidates.map((c) => computeMetrics(labels, scores, c).accuracy));
      const t = bestThreshold(labels, scores);
      expect(t.accuracy).toBeCloseTo(brute, 12);
      expect(computeMetrics(labels, scores, t.threshold).accuracy).toBeCloseTo(brute, 12);
    }
  });

  it('with one class only, answers that class for every row', () => {
    const pos = bestThreshold([1, 1, 1], [0.2, 0.5, 0.9]);
    expect(computeMetrics([1, 1, 1], [0.2, 0.5, 0.9], pos.threshold).accuracy).toBe(1);
    const neg = bestThreshold([0, 0], [0.2, 0.9]);
    expect(computeMetrics([0, 0], [0.2, 0.9], neg.threshold).accuracy).toBe(1);
  });

  it('refuses no rows', () => {
    expect(() => bestThreshold([], [])).toThrow(/no rows to tune the encoder baseline's threshold on/);
  });
});

describe('evaluateEncoderBaseline', () => {
  it('tunes the threshold on the training scores and reports the evaluation rows at it, with its ROC curve', () => {
    const result = evaluateEncoderBaseline({ labels: [0, 1, 0, 1], scores: [0.1, 0.4, 0.35, 0.8] }, { labels: [1, 0, 1], scores: [0.39, 0.36, 0.9] });
    expect(result.method).toBe('cosine-mean-pooled');
    expect(result.threshold).toBeCloseTo(0.375, 12);
    expect(result.trainAccuracy).toBe(1);
    expect(result.metrics).toMatchObject({ n: 3, accuracy: 1, f1: 1, rocAuc: 1, threshold: result.threshold });
    expect(result.roc.fpr[0]).toBe(0);
    expect(result.roc.tpr.at(-1)).toBe(1);
  });
});

describe('encoderBaselineVerdict', () => {
  const base = { accuracy: 0.719, rocAuc: 0.736 };
  it('says in one plain line when the model does not beat the encoder baseline', () => {
    const line = encoderBaselineVerdict({ accuracy: 0.674, rocAuc: 0.643 }, base, 'test.tsv');
    expect(line).toBe(
      'The Bi-LSTM does not beat the encoder baseline (cosine of mean-pooled sentence embeddings) on test.tsv: accuracy 0.6740 vs 0.7190, ROC-AUC 0.6430 vs 0.7360.',
    );
    expect(line).not.toContain('\n');
  });

  it('says which figure the model wins on when it wins on one only, never "does not beat" (issue 19)', () => {
    const accuracyOnly = encoderBaselineVerdict({ accuracy: 0.8, rocAuc: 0.7 }, base, 'x');
    expect(accuracyOnly).toBe(
      'The Bi-LSTM beats the encoder baseline (cosine of mean-pooled sentence embeddings) on x in accuracy (accuracy 0.8000 vs 0.7190) but not in ROC-AUC (ROC-AUC 0.7000 vs 0.7360).',
    );
    const aucOnly = encoderBaselineVerdict({ accuracy: 0.7, rocAuc: 0.8 }, base, 'x');
    expect(aucOnly).toMatch(/beats .* in ROC-AUC \(ROC-AUC 0.8000 vs 0.7360\) but not in accuracy \(accuracy 0.7000 vs 0.7190\)/);
    for (const line of [accuracyOnly, aucOnly]) expect(line).not.toMatch(/does not beat/);
  });

  it('says nothing when the model beats it on both', () => {
    expect(encoderBaselineVerdict({ accuracy: 0.8, rocAuc: 0.85 }, base, 'x')).toBeUndefined();
  });

  it('compares accuracy alone when a ROC-AUC is undefined (one class)', () => {
    expect(encoderBaselineVerdict({ accuracy: 0.8, rocAuc: null }, { accuracy: 0.7, rocAuc: null }, 'x')).toBeUndefined();
    expect(encoderBaselineVerdict({ accuracy: 0.6, rocAuc: null }, { accuracy: 0.7, rocAuc: null }, 'x')).toMatch(/accuracy 0.6000 vs 0.7000/);
  });
});
