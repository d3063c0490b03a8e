import { describe, expect, it } from 'vitest';
import { LabelError } from '../../src/errors.ts';
import { rocAuc, rocCurve } from '../../src/metrics/roc-curve.ts';

describe('rocCurve', () => {
  it("matches scikit-learn's roc_curve docs example", () => {
    // sklearn: roc_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    expect(rocCurve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])).toEqual({
      fpr: [0, 0, 0.5, 0.5, 1],
      tpr: [0, 0.5, 0.5, 1, 1],
      thresholds: [Infinity, 0.8, 0.4, 0.35, 0.1],
    });
  });

  it('gives tied scores a single point', () => {
    // Sorted: 0.9(+) 0.6(-) 0.6(+) 0.2(-) 0.1(+); the two 0.6 rows move together.
    const c = rocCurve([0, 0, 1, 1, 1], [0.2, 0.6, 0.6, 0.9, 0.1]);
    expect(c.thresholds).toEqual([Infinity, 0.9, 0.6, 0.2, 0.1]);
    expect(c.fpr).toEqual([0, 0, 0.5, 1, 1]);
    expect(c.tpr.map((t) => +t.toFixed(6))).toEqual([0, 0.333333, 0.666667, 0.666667, 1]);
  });

  it('drops collinear intermediate points unless asked not to', () => {
    const labels = [1, 1, 1, 0];
    const scores = [0.9, 0.8, 0.7, 0.1];
    expect(rocCurve(labels, scores).thresholds).toEqual([Infinity, 0.9, 0.7, 0.1]);
    expect(rocCurve(labels, scores, { dropIntermediate: false }).thresholds).toEqual([Infinity, 0.9, 0.8, 0.7, 0.1]);
  });

  it('returns zero rates instead of NaN when a class is missing', () => {
    expect(rocCurve([0, 0], [0.3, 0.7])).toEqual({ fpr: [0, 0.5, 1], tpr: [0, 0, 0], thresholds: [Infinity, 0.7, 0.3] });
  });
});

describe('rocAuc', () => {
  it.each([
    ['the sklearn docs example', [0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], 0.75],
    // Pairs (pos, neg): 0.6>0.2, 0.6=0.6 (half), 0.9>both, 0.1<both -> 3.5 / 6.
    ['ties counted one half', [0, 0, 1, 1, 1], [0.2, 0.6, 0.6, 0.9, 0.1], 3.5 / 6],
    ['all scores tied', [0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5], 0.5],
    ['perfect ranking', [0, 1], [0.1, 0.9], 1],
    ['reversed ranking', [1, 0], [0.1, 0.9], 0],
  ])('%s', (_, labels, scores, auc) => {
    expect(rocAuc(labels, scores)).toBeCloseTo(auc, 12);
  });

  it('is null with a single class (scikit-learn raises)', () => {
    expect(rocAuc([1, 1, 1], [0.2, 0.5, 0.9])).toBeNull();
    expect(rocAuc([], [])).toBeNull();
  });

  it('refuses labels that are not 0/1 or lengths that differ', () => {
    expect(() => rocAuc([0, 2], [0.1, 0.2])).toThrow(LabelError);
    expect(() => rocAuc([0, 1], [0.1])).toThrow(/2 labels for 1 probabilities/);
  });
});
