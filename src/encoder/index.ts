export { parseBertConfig, readBertConfig } from './bert-config.ts';
export type { BertConfig } from './bert-config.ts';
export { bertParameterShapes, readBertWeights, withBertWeights } from './bert-weights.ts';
export type { BertParameter } from './bert-weights.ts';
export { TfBert } from './tf-bert.ts';
export type { BertInputs } from './tf-bert.ts';
export { assertFineTuneBackend, fineTuneEncoder, predictFineTuned } from './fine-tune.ts';
export type { FineTuneHistory, FineTuneOptions, TokenizedPairs } from './fine-tune.ts';
