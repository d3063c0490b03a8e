import { SimpairError } from '../errors.ts';
import type { PairTokenizer } from '../tokenizer/pair-tokenizer.ts';
import type { Progress } from '../util/progress.ts';
import type { BertEmbedder } from './bert-embedder.ts';
import type { PooledVectorCache } from './pooled-vector-cache.ts';

/** Options of {@link meanPooledSentenceEmbeddings}. */
export interface PooledEmbeddingOptions {
  /**
   * Tokens per sentence, `[CLS]` and `[SEP]` included; longer sentences are cut at the end.
   * sentence-transformers' `max_seq_length` of all-MiniLM-L6-v2; BERT's position limit is 512.
   * @default 256
   */
  readonly maxTokens?: number;
  /** Sentences per BERT call. @default 32 */
  readonly batchSize?: number;
  /**
   * Vectors computed before (same encoder, tokenizer and maxTokens): sentences found there are
   * not encoded, and those encoded are added and written to it. @default undefined (no cache)
   */
  readonly cache?: PooledVectorCache;
  /**
   * Makes the progress bar of the encoding, counted in real tokens (sentences go shortest
   * first, so tokens, not sentences, measure the work). @default undefined (no bar)
   */
  readonly progress?: (tokensToEncode: number) => Progress;
}

/** One mean-pooled vector per input sentence, identical sentences sharing one. */
export interface PooledEmbeddings {
  readonly hidden: number;
  /** Sentences asked for. */
  readonly count: number;
  /** Distinct sentences, each run through BERT once (or found in the cache). */
  readonly uniqueCount: number;
  /** Distinct sentences found in the cache, not encoded. */
  readonly cachedCount: number;
  /** Real tokens BERT encoded (`[CLS]` and `[SEP]` included, padding not). */
  readonly tokens: number;
  /** The vector of the `i`-th input sentence (a view: do not modify). */
  vector(i: number): Float32Array;
}

/**
 * Sentence embeddings as sentence-transformers' mean pooling computes them: each sentence
 * encoded alone (`[CLS] s [SEP]`, token type 0), BERT's `last_hidden_state` averaged over the
 * positions whose attention mask is 1. Cheap on purpose: identical sentences are encoded
 * once, sentences are sorted by length and batched, and each batch is padded only to its
 * longest sentence (padding is masked in BERT and left out of the mean, so batch mates never
 * change a vector). Uses the caller's tokenizer and embedder (its ONNX session).
 *
 * @example
 * const pooled = await meanPooledSentenceEmbeddings(tokenizer, embedder, ['A cat naps.', 'The cat sleeps.']);
 * cosineSimilarity(pooled.vector(0), pooled.vector(1)); // close to 1 for paraphrases
 */
export async function meanPooledSentenceEmbeddings(
  tokenizer: PairTokenizer,
  embedder: BertEmbedder,
  sentences: readonly string[],
  { maxTokens = 256, batchSize = 32, cache, progress }: PooledEmbeddingOptions = {},
): Promise<PooledEmbeddings> {
  if (!Number.isInteger(maxTokens) || maxTokens < 3 || maxTokens > 512) {
    throw new SimpairError(`maxTokens must be an integer from 3 to 512, got ${maxTokens}: a sentence needs [CLS], one token and [SEP], and BERT has 512 positions.`);
  }
  const rowOf = new Map<string, number>();
  const slot = new Int32Array(sentences.length);
  const distinct: string[] = [];
  for (let i = 0; i < sentences.length; i++) {
    let row = rowOf.get(sentences[i]);
    if (row === undefined) {
      row = distinct.length;
      rowOf.set(sentences[i], row);
      distinct.push(sentences[i]);
    }
    slot[i] = row;
  }
  const hidden = embedder.hidden;
  const vectors = new Float32Array(distinct.length * hidden);
  // Token ids of the distinct sentences the cache does not hold: the only ones BERT encodes.
  const ids = new Map<number, number[]>();
  distinct.forEach((sentence, r) => {
    const cached = cache?.get(sentence);
    if (cached) vectors.set(cached, r * hidden);
    else ids.set(r, [tokenizer.clsId, ...tokenizer.tokenIds(sentence).slice(0, maxTokens - 2), tokenizer.sepId]);
  });
  // Shortest first: a batch's padding is at most the spread of its lengths.
  const order = [...ids.keys()].sort((a, b) => ids.get(a)!.length - ids.get(b)!.length);
  let toEncode = 0;
  for (const r of order) toEncode += ids.get(r)!.length;
  const bar = progress?.(toEncode);
  let tokens = 0;
  try {
    for (let start = 0; start < order.length; start += batchSize) {
      const rows = order.slice(start, start + batchSize);
      const width = ids.get(rows[rows.length - 1])!.length;
      const inputIds = new BigInt64Array(rows.length * width).fill(BigInt(tokenizer.padId));
      const attentionMask = new BigInt64Array(rows.length * width);
      const lengths = Int32Array.from(rows, (r) => ids.get(r)!.length);
      rows.forEach((r, b) => {
        ids.get(r)!.forEach((id, t) => {
          inputIds[b * width + t] = BigInt(id);
          attentionMask[b * width + t] = 1n;
        });
      });
      const emb = await embedder.embed({ inputIds, attentionMask, tokenTypeIds: new BigInt64Array(rows.length * width), batchSize: rows.length, maxLen: width, lengths });
      rows.forEach((r, b) => {
        const out = vectors.subarray(r * hidden, (r + 1) * hidden);
        const n = lengths[b];
        for (let t = 0; t < n; t++) {
          const at = (b * width + t) * hidden;
          for (let j = 0; j < hidden; j++) out[j] += emb.data[at + j];
        }
        for (let j = 0; j < hidden; j++) out[j] /= n;
        tokens += n;
        cache?.add(distinct[r], out);
      });
      bar?.increment(lengths.reduce((a, b) => a + b, 0));
    }
  } finally {
    bar?.stop();
  }
  await cache?.flush();
  return {
    hidden,
    count: sentences.length,
    uniqueCount: distinct.length,
    cachedCount: distinct.length - ids.size,
    tokens,
    vector: (i: number) => vectors.subarray(slot[i] * hidden, (slot[i] + 1) * hidden),
  };
}
