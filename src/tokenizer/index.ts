export { PairTokenizer, truncateLongestFirst } from './pair-tokenizer.ts';
export type { EncodedBatch, EncodeOptions } from './pair-tokenizer.ts';
