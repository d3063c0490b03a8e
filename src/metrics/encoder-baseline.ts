import { SimpairError } from '../errors.ts';
import { computeMetrics, type ClassificationMetrics } from './compute-metrics.ts';
import { checkLabelsAndScores, rocCurve, type RocCurve } from './roc-curve.ts';

/** How the encoder baseline scores a pair: the cosine of the two sentences' mean-pooled embeddings. */
export const ENCODER_BASELINE_METHOD = 'cosine-mean-pooled';

/** Cosine similarity of two vectors; 0 when either is all zeros. */
export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new SimpairError(`cosineSimilarity: vectors of ${a.length} and ${b.length} values; both must come from the same encoder.`);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

/**
 * The threshold with the highest accuracy on labelled scores, "similar" meaning
 * `score > threshold` (as {@link computeMetrics} decides). Placed halfway between the two
 * neighbouring distinct scores, so that it does not sit on a training score; below the lowest
 * score when answering "similar" for every row is best. Ties go to the highest threshold.
 *
 * @example
 * bestThreshold([0, 1, 0, 1], [0.1, 0.4, 0.35, 0.8]); // { threshold: 0.375, accuracy: 1 }
 */
export function bestThreshold(labels: ArrayLike<number>, scores: ArrayLike<number>): { threshold: number; accuracy: number } {
  checkLabelsAndScores(labels, scores);
  const n = labels.length;
  if (n === 0) throw new SimpairError("There are no rows to tune the encoder baseline's threshold on; the training data must have at least one row.");
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b] - scores[a]);
  let negatives = 0;
  for (let i = 0; i < n; i++) if (labels[i] === 0) negatives++;
  // Above the highest score nothing is "similar": every negative is right.
  let correct = negatives;
  let best = { correct, threshold: scores[order[0]] };
  for (let k = 0; k < n; ) {
    const s = scores[order[k]];
    // Lowering the threshold below s makes every row scored s "similar".
    for (; k < n && scores[order[k]] === s; k++) correct += labels[order[k]] === 1 ? 1 : -1;
    if (correct > best.correct) {
      const next = k < n ? scores[order[k]] : s - Math.max(1, Math.abs(s));
      best = { correct, threshold: (s + next) / 2 };
    }
  }
  return { threshold: best.threshold, accuracy: best.correct / n };
}

/** Labels and the baseline's scores of a set of pairs. */
export interface ScoredPairs {
  readonly labels: ArrayLike<number>;
  readonly scores: ArrayLike<number>;
}

/** What {@link evaluateEncoderBaseline} returns. */
export interface EncoderBaselineEvaluation {
  readonly method: typeof ENCODER_BASELINE_METHOD;
  /** Tuned on the training rows. */
  readonly threshold: number;
  readonly trainAccuracy: number;
  /** The evaluation rows at that threshold. */
  readonly metrics: ClassificationMetrics;
  readonly roc: RocCurve;
}

/**
 * The encoder baseline's figures: its threshold tuned on the training rows' scores (best
 * accuracy), then accuracy, F1, ROC-AUC and the ROC curve of the evaluation rows.
 *
 * @example
 * const b = evaluateEncoderBaseline(trainScored, testScored);
 * b.metrics.rocAuc; // compare with the model's
 */
export function evaluateEncoderBaseline(train: ScoredPairs, evaluation: ScoredPairs): EncoderBaselineEvaluation {
  const { threshold, accuracy } = bestThreshold(train.labels, train.scores);
  return {
    method: ENCODER_BASELINE_METHOD,
    threshold,
    trainAccuracy: accuracy,
    metrics: computeMetrics(evaluation.labels, evaluation.scores, threshold),
    roc: rocCurve(evaluation.labels, evaluation.scores),
  };
}

/** The figures {@link encoderBaselineVerdict} compares. */
export interface ComparedFigures {
  readonly accuracy: number;
  readonly rocAuc: number | null;
}

/**
 * One plain line unless the model beats the encoder baseline on both accuracy and ROC-AUC
 * (ROC-AUC ignored when either is undefined): "does not beat" when it loses on both, and
 * which figure it wins on when it wins on one only (issue 19: a Bi-LSTM ahead on accuracy was
 * told it "does not beat" the baseline).
 */
export function encoderBaselineVerdict(model: ComparedFigures, baseline: ComparedFigures, evaluatedOn: string): string | undefined {
  const aucComparable = model.rocAuc !== null && baseline.rocAuc !== null;
  const accuracyWins = model.accuracy > baseline.accuracy;
  const aucWins = !aucComparable || model.rocAuc! > baseline.rocAuc!;
  if (accuracyWins && aucWins) return undefined;
  const what = 'the encoder baseline (cosine of mean-pooled sentence embeddings)';
  const acc = `accuracy ${model.accuracy.toFixed(4)} vs ${baseline.accuracy.toFixed(4)}`;
  const auc = aucComparable ? `ROC-AUC ${model.rocAuc!.toFixed(4)} vs ${baseline.rocAuc!.toFixed(4)}` : '';
  if (accuracyWins) return `The Bi-LSTM beats ${what} on ${evaluatedOn} in accuracy (${acc}) but not in ROC-AUC (${auc}).`;
  if (aucComparable && aucWins) return `The Bi-LSTM beats ${what} on ${evaluatedOn} in ROC-AUC (${auc}) but not in accuracy (${acc}).`;
  return `The Bi-LSTM does not beat ${what} on ${evaluatedOn}: ${acc}${auc ? `, ${auc}` : ''}.`;
}
