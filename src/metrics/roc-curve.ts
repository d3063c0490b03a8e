import { LabelError, SimpairError } from '../errors.ts';

/** Points of a ROC curve, highest threshold first (scikit-learn's `roc_curve` layout). */
export interface RocCurve {
  /** False positive rate at each threshold. */
  readonly fpr: number[];
  /** True positive rate at each threshold. */
  readonly tpr: number[];
  /**
   * Decreasing score thresholds; a row is positive when its score is >= the threshold.
   * `thresholds[0]` is `Infinity` (no row positive), as scikit-learn >= 1.3 returns;
   * JSON.stringify writes it as null.
   */
  readonly thresholds: number[];
}

/** Options of {@link rocCurve}. */
export interface RocCurveOptions {
  /**
   * Drop thresholds that add no corner to the curve (scikit-learn's `drop_intermediate`).
   * @default true
   */
  readonly dropIntermediate?: boolean;
}

/** Checks that labels are 0/1 and scores finite, with equal lengths. */
export function checkLabelsAndScores(labels: ArrayLike<number>, scores: ArrayLike<number>): void {
  if (labels.length !== scores.length) {
    throw new LabelError(`${labels.length} labels for ${scores.length} probabilities; pass one label per prediction.`);
  }
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== 0 && labels[i] !== 1) throw new LabelError(`Row ${i}: label ${labels[i]} is not 0 or 1.`);
    if (!Number.isFinite(scores[i])) throw new SimpairError(`Row ${i}: probability ${scores[i]} is not a finite number.`);
  }
}

/**
 * Cumulative false and true positives at each distinct score, highest first: tied scores
 * form one threshold, as in scikit-learn's `_binary_clf_curve`.
 */
export function binaryClfCurve(labels: ArrayLike<number>, scores: ArrayLike<number>): { fps: number[]; tps: number[]; thresholds: number[] } {
  const order = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[b] - scores[a]);
  const fps: number[] = [];
  const tps: number[] = [];
  const thresholds: number[] = [];
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < order.length; k++) {
    const i = order[k];
    if (labels[i] === 1) tp++;
    else fp++;
    const last = k === order.length - 1;
    if (last || scores[order[k + 1]] !== scores[i]) {
      fps.push(fp);
      tps.push(tp);
      thresholds.push(scores[i]);
    }
  }
  return { fps, tps, thresholds };
}

/**
 * ROC curve of scores against 0/1 labels, matching scikit-learn's
 * `roc_curve(y, p, drop_intermediate=True)`: tied scores share one point, a first point
 * (0, 0) at threshold Infinity. With no negatives (or no positives) scikit-learn returns
 * NaN rates and warns; here those rates are 0, in the spirit of `zero_division=0`.
 */
export function rocCurve(labels: ArrayLike<number>, probabilities: ArrayLike<number>, options: RocCurveOptions = {}): RocCurve {
  const { dropIntermediate = true } = options;
  checkLabelsAndScores(labels, probabilities);
  let { fps, tps, thresholds } = binaryClfCurve(labels, probabilities);
  if (dropIntermediate && fps.length > 2) {
    // Keep the ends and every point where the curve bends (a non-zero second difference).
    const keep = fps.map((_, i) =>
      i === 0 || i === fps.length - 1 || fps[i + 1] - 2 * fps[i] + fps[i - 1] !== 0 || tps[i + 1] - 2 * tps[i] + tps[i - 1] !== 0,
    );
    fps = fps.filter((_, i) => keep[i]);
    tps = tps.filter((_, i) => keep[i]);
    thresholds = thresholds.filter((_, i) => keep[i]);
  }
  fps = [0, ...fps];
  tps = [0, ...tps];
  thresholds = [Infinity, ...thresholds];
  const negatives = fps[fps.length - 1];
  const positives = tps[tps.length - 1];
  return {
    fpr: fps.map((f) => (negatives > 0 ? f / negatives : 0)),
    tpr: tps.map((t) => (positives > 0 ? t / positives : 0)),
    thresholds,
  };
}

/**
 * Area under the ROC curve (trapezoids over the tie-grouped curve), equal to scikit-learn's
 * `roc_auc_score`: a tied positive/negative pair counts one half. `null` when only one
 * class is present (scikit-learn raises there).
 */
export function rocAuc(labels: ArrayLike<number>, probabilities: ArrayLike<number>): number | null {
  checkLabelsAndScores(labels, probabilities);
  const { fps, tps } = binaryClfCurve(labels, probabilities);
  const negatives = fps.length ? fps[fps.length - 1] : 0;
  const positives = tps.length ? tps[tps.length - 1] : 0;
  if (negatives === 0 || positives === 0) return null;
  let area = 0;
  let prevF = 0;
  let prevT = 0;
  for (let i = 0; i < fps.length; i++) {
    area += (fps[i] - prevF) * (tps[i] + prevT);
    prevF = fps[i];
    prevT = tps[i];
  }
  return area / (2 * negatives * positives);
}
