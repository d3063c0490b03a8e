import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { PairTokenizer } from '../tokenizer/pair-tokenizer.ts';
import { BertEmbedder, type Embeddings } from './bert-embedder.ts';

/**
 * The tolerance of an int8 export: at every position the Bi-LSTM reads, the int8 model's
 * `last_hidden_state` vector must have at least this cosine similarity to the float32 one.
 * Measured: tiny-bert fixture 0.9999 everywhere; all-MiniLM-L6-v2 0.97 at real tokens but 0.30
 * at [PAD] positions, which the recipe's max-length padding feeds to the LSTMs.
 */
export const INT8_MIN_COSINE = 0.95;

/** Probe pairs of varied length: short ones leave most positions as padding. */
const PROBE_PAIRS: readonly (readonly [string, string])[] = [
  ['A man is eating.', 'Someone is eating food.'],
  ['The cat sleeps on the sofa.', 'A dog runs in the park.'],
  ['Stocks fell sharply on Monday after the central bank raised interest rates again.', 'Share prices dropped on Monday when the bank increased rates.'],
  ['Yes.', 'No.'],
  ['He said the report would be published next week, according to officials.', 'Officials said the report is due next week.'],
  ['Two children play football.', 'Kids are playing soccer outside.'],
  ['The company reported a net loss of $3.2 million for the quarter.', 'The firm lost money.'],
  ['Where is the station?', 'How do I get to the train station from here?'],
];

/** How close one embedder's output is to a reference's, per position. */
export interface EmbeddingAgreement {
  /** Lowest cosine similarity over the compared positions. */
  readonly minCosine: number;
  readonly meanCosine: number;
  /** Largest absolute difference of any value, and the largest |value| of the reference. */
  readonly maxAbsDiff: number;
  readonly maxAbsValue: number;
  /** Positions compared: every position whose reference vector is not all zeros. */
  readonly positions: number;
}

/**
 * Compares two `[batch, maxLen, hidden]` outputs position by position. Positions where the
 * reference is all zeros (padding under `--padding masked`) are what the Bi-LSTM masks, so
 * they are left out.
 *
 * @example
 * compareEmbeddings(float32, int8).minCosine >= INT8_MIN_COSINE;
 */
export function compareEmbeddings(reference: Embeddings, candidate: Embeddings): EmbeddingAgreement {
  const { hidden } = reference;
  let minCosine = 1;
  let sumCosine = 0;
  let positions = 0;
  let maxAbsDiff = 0;
  let maxAbsValue = 0;
  for (let p = 0; p < reference.data.length / hidden; p++) {
    let dot = 0;
    let na = 0;
    let nb = 0;
    for (let h = p * hidden; h < (p + 1) * hidden; h++) {
      const a = reference.data[h];
      const b = candidate.data[h];
      dot += a * b;
      na += a * a;
      nb += b * b;
      maxAbsDiff = Math.max(maxAbsDiff, Math.abs(a - b));
      maxAbsValue = Math.max(maxAbsValue, Math.abs(a));
    }
    if (na === 0) continue;
    const cosine = nb === 0 ? 0 : dot / Math.sqrt(na * nb);
    minCosine = Math.min(minCosine, cosine);
    sumCosine += cosine;
    positions++;
  }
  return { minCosine, meanCosine: positions ? sumCosine / positions : 1, maxAbsDiff, maxAbsValue, positions };
}

/** Options of {@link checkQuantizedModel}. */
export interface CheckQuantizedOptions {
  readonly maxLen: number;
  /** As the run embeds: 'dynamic' zeroes padding, so only real tokens are compared. @default 'max-length' */
  readonly padding?: 'max-length' | 'dynamic';
  readonly threads?: number;
  /** @default 'onnx/model.onnx' */
  readonly float32File?: string;
  /** @default 'onnx/model_quantized.onnx' */
  readonly int8File?: string;
}

/**
 * Runs a few fixed pairs through a model directory's float32 and int8 ONNX files, the way a
 * run would embed (its maxLen and padding), and measures how far the int8 output strays.
 * Returns undefined when the directory has no float32 file to compare with (an int8-only
 * download).
 *
 * @example
 * const agreement = await checkQuantizedModel('models/all-MiniLM-L6-v2', tokenizer, { maxLen: 64 });
 * if (agreement && agreement.minCosine < INT8_MIN_COSINE) throw new Error('int8 export too far from float32');
 */
export async function checkQuantizedModel(dir: string, tokenizer: PairTokenizer, options: CheckQuantizedOptions): Promise<EmbeddingAgreement | undefined> {
  const { maxLen, padding = 'max-length', threads, float32File = 'onnx/model.onnx', int8File = 'onnx/model_quantized.onnx' } = options;
  if (!existsSync(join(dir, float32File))) return undefined;
  const batch = tokenizer.encodePairs(PROBE_PAIRS, { maxLen });
  const embed = async (onnxFile: string) => {
    const embedder = await BertEmbedder.load(dir, { onnxFile, threads, padding });
    try {
      return await embedder.embed(batch);
    } finally {
      await embedder.dispose();
    }
  };
  return compareEmbeddings(await embed(float32File), await embed(int8File));
}
