export { computeMetrics, isPositive } from './compute-metrics.ts';
export type { ClassificationMetrics, Confusion } from './compute-metrics.ts';
export { binaryClfCurve, checkLabelsAndScores, rocAuc, rocCurve } from './roc-curve.ts';
export type { RocCurve, RocCurveOptions } from './roc-curve.ts';
export { ENCODER_BASELINE_METHOD, bestThreshold, cosineSimilarity, encoderBaselineVerdict, evaluateEncoderBaseline } from './encoder-baseline.ts';
export type { ComparedFigures, EncoderBaselineEvaluation, ScoredPairs } from './encoder-baseline.ts';
