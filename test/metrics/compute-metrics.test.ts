import { describe, expect, it } from 'vitest';
import { computeMetrics, isPositive } from '../../src/metrics/compute-metrics.ts';

describe('computeMetrics', () => {
  it('matches hand-computed values', () => {
    // p > 0.5 -> [1, 0, 1, 0, 1, 0]; 0.5 itself is negative (Keras: y_pred > threshold).
    const m = computeMetrics([1, 1, 0, 0, 1, 0], [0.9, 0.4, 0.6, 0.2, 0.7, 0.5]);
    expect(m.confusion).toEqual({ tp: 2, fp: 1, tn: 2, fn: 1 });
    expect(m.n).toBe(6);
    expect(m.threshold).toBe(0.5);
    expect(m.accuracy).toBeCloseTo(4 / 6, 12);
    expect(m.precision).toBeCloseTo(2 / 3, 12);
    expect(m.recall).toBeCloseTo(2 / 3, 12);
    expect(m.f1).toBeCloseTo(2 / 3, 12);
    // Positive scores 0.9, 0.4, 0.7 vs negatives 0.6, 0.2, 0.5: 3 + 1 + 3 of 9 pairs.
    expect(m.rocAuc).toBeCloseTo(7 / 9, 12);
    expect(m.majorityBaseline).toBe(0.5);
  });

  it('uses the given threshold', () => {
    const m = computeMetrics([1, 1, 0, 0, 1, 0], [0.9, 0.4, 0.6, 0.2, 0.7, 0.5], 0.3);
    expect(m.confusion).toEqual({ tp: 3, fp: 2, tn: 1, fn: 0 });
    expect(m.recall).toBe(1);
  });

  it('gives 0 on division by zero (zero_division=0) and a null AUC without positives', () => {
    const m = computeMetrics([0, 0, 0, 0], [0.1, 0.2, 0.3, 0.9]);
    expect(m).toMatchObject({ precision: 0, recall: 0, f1: 0, rocAuc: null, accuracy: 0.75, majorityBaseline: 1 });
    const none = computeMetrics([0, 0], [0.1, 0.2]);
    expect(none).toMatchObject({ precision: 0, recall: 0, f1: 0 });
    expect(computeMetrics([], [])).toMatchObject({ n: 0, accuracy: 0, majorityBaseline: 0, rocAuc: null });
  });

  it('reports the majority-class baseline', () => {
    expect(computeMetrics([1, 1, 1, 0], [0.9, 0.9, 0.9, 0.9]).majorityBaseline).toBe(0.75);
  });
});

describe('isPositive', () => {
  it('is strictly above the threshold', () => {
    expect(isPositive(0.5)).toBe(false);
    expect(isPositive(0.5000001)).toBe(true);
  });
});
