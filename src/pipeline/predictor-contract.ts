/** Moved: the predictor lives in predictor.ts. Kept so imports written against the contract resolve. */
export { loadPredictor, Predictor } from './predictor.ts';
export type { PredictorOptions, LiveModelPointer } from './predictor.ts';
