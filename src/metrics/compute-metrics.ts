import { checkLabelsAndScores, rocAuc } from './roc-curve.ts';

/** Counts of the confusion matrix at a threshold. */
export interface Confusion {
  readonly tp: number;
  readonly fp: number;
  readonly tn: number;
  readonly fn: number;
}

/** Binary classification metrics at one threshold, plus the threshold-free ROC AUC. */
export interface ClassificationMetrics {
  readonly n: number;
  readonly threshold: number;
  readonly accuracy: number;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  /** null when only one class is present. */
  readonly rocAuc: number | null;
  readonly confusion: Confusion;
  /** Accuracy of always answering the majority class: the bar a useful model must clear. */
  readonly majorityBaseline: number;
}

/**
 * Whether a probability counts as "similar": strictly above the threshold, as Keras'
 * `binary_accuracy` (`y_pred > threshold`) decides.
 */
export function isPositive(probability: number, threshold = 0.5): boolean {
  return probability > threshold;
}

/**
 * Accuracy, precision, recall, F1, ROC AUC and the confusion matrix of probabilities
 * against 0/1 labels. Divisions by zero give 0, as scikit-learn with `zero_division=0`.
 *
 * @throws LabelError when a label is not 0/1 or the lengths differ.
 *
 * @example
 * const { labels, probabilities } = await evaluateStore(model, reader);
 * const m = computeMetrics(labels, probabilities);
 * m.accuracy > m.majorityBaseline; // the model learned something
 */
export function computeMetrics(labels: ArrayLike<number>, probabilities: ArrayLike<number>, threshold = 0.5): ClassificationMetrics {
  checkLabelsAndScores(labels, probabilities);
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  for (let i = 0; i < labels.length; i++) {
    const predicted = isPositive(probabilities[i], threshold);
    if (labels[i] === 1) {
      if (predicted) tp++;
      else fn++;
    } else if (predicted) fp++;
    else tn++;
  }
  const n = labels.length;
  const ratio = (a: number, b: number) => (b === 0 ? 0 : a / b);
  const positives = tp + fn;
  return {
    n,
    threshold,
    accuracy: ratio(tp + tn, n),
    precision: ratio(tp, tp + fp),
    recall: ratio(tp, positives),
    f1: ratio(2 * tp, 2 * tp + fp + fn),
    rocAuc: rocAuc(labels, probabilities),
    confusion: { tp, fp, tn, fn },
    majorityBaseline: ratio(Math.max(positives, n - positives), n),
  };
}
