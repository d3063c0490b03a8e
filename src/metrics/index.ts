export { computeMetrics, isPositive } from './compute-metrics.ts';
export type { ClassificationMetrics, Confusion } from './compute-metrics.ts';
export { binaryClfCurve, checkLabelsAndScores, rocAuc, rocCurve } from './roc-curve.ts';
export type { RocCurve, RocCurveOptions } from './roc-curve.ts';
