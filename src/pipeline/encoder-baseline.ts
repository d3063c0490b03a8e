import type { PooledEmbeddings } from '../embedder/pooled-embeddings.ts';
import type { EmbeddingShard, EmbeddingStoreReader } from '../embeddings/embedding-store-reader.ts';
import { computeMetrics, rocAuc, rocCurve, type ClassificationMetrics, type RocCurve } from '../metrics/index.ts';
import { cosineSimilarity, ENCODER_BASELINE_METHOD, evaluateEncoderBaseline } from '../metrics/encoder-baseline.ts';

/**
 * Tokens per sentence of the encoder baseline: sentence-transformers' `max_seq_length` for
 * all-MiniLM-L6-v2; MRPC's longest sentence is far below it.
 */
export const ENCODER_BASELINE_MAX_TOKENS = 256;

/** A labelled sentence pair. */
interface LabelledPair {
  readonly sentence1: string;
  readonly sentence2: string;
  readonly label: number;
}

/** Mean-pooled embeddings of sentences, on the run's tokenizer and ONNX session. */
export type PoolSentences = (sentences: readonly string[]) => Promise<PooledEmbeddings>;

/** What computing the baseline cost: one BERT pass per distinct sentence. */
export interface EncoderBaselineCost {
  /** Sentences of all the pairs scored. */
  readonly sentences: number;
  /** Distinct ones. */
  readonly distinctSentences: number;
  /** Distinct ones found in the pooled-vector cache; BERT encoded the others. */
  readonly cachedSentences: number;
  /** Real tokens BERT encoded. */
  readonly tokens: number;
  readonly seconds: number;
}

/**
 * The `encoderBaseline` entry of `metrics.json` (and of `simpair evaluate --json`). `cost` is
 * absent where the pooling ran spread over the cloud's embedding shards.
 */
export type EncoderBaselineRecord = { readonly method: typeof ENCODER_BASELINE_METHOD } & (
  | ClassificationMetrics
  | { readonly n: number; readonly threshold: null; readonly rocAuc: number | null; readonly note: string }
) & { readonly trainAccuracy?: number; readonly cost?: EncoderBaselineCost };

/** The `encoderBaseline` entry of `metadata.json`: what evaluating it again needs. */
export interface EncoderBaselineSettings {
  readonly method: typeof ENCODER_BASELINE_METHOD;
  /** Best cosine threshold on the training rows ("similar" when above). */
  readonly threshold: number;
  readonly trainAccuracy: number;
  /** Tokens per sentence, [CLS] and [SEP] included. */
  readonly maxTokens: number;
}

/** Cosine of each pair's two pooled sentence vectors, every set's sentences pooled in one deduplicated pass. */
async function scorePairs(pool: PoolSentences, sets: readonly (readonly LabelledPair[])[]): Promise<{ scored: { labels: Uint8Array; scores: Float64Array }[]; cost: EncoderBaselineCost }> {
  const started = performance.now();
  const pooled = await pool(sets.flatMap((pairs) => pairs.flatMap((p) => [p.sentence1, p.sentence2])));
  let at = 0;
  const scored = sets.map((pairs) => {
    const scores = Float64Array.from(pairs, (_, i) => cosineSimilarity(pooled.vector(at + 2 * i), pooled.vector(at + 2 * i + 1)));
    at += 2 * pairs.length;
    return { labels: Uint8Array.from(pairs, (p) => p.label), scores };
  });
  const cost = { sentences: pooled.count, distinctSentences: pooled.uniqueCount, cachedSentences: pooled.cachedCount, tokens: pooled.tokens, seconds: (performance.now() - started) / 1000 };
  return { scored, cost };
}

/**
 * The frozen encoder's zero-training baseline for `simpair run`: cosine of mean-pooled
 * sentence embeddings, its threshold tuned on the training rows, its metrics and ROC curve on
 * the evaluation rows (the training rows again when there is no test set).
 *
 * @example
 * const b = await runEncoderBaseline((s) => meanPooledSentenceEmbeddings(tokenizer, embedder, s, { maxTokens: 256 }), train.pairs, test?.pairs, 256);
 * b.record.rocAuc; // beside the model's rocAuc in metrics.json
 */
export async function runEncoderBaseline(
  pool: PoolSentences,
  train: readonly LabelledPair[],
  evaluation: readonly LabelledPair[] | undefined,
  maxTokens: number,
): Promise<{ record: EncoderBaselineRecord & { readonly cost: EncoderBaselineCost }; settings: EncoderBaselineSettings; roc: RocCurve }> {
  const { scored, cost } = await scorePairs(pool, evaluation ? [train, evaluation] : [train]);
  const result = evaluateEncoderBaseline(scored[0], scored[scored.length - 1]);
  return {
    record: { method: result.method, ...result.metrics, trainAccuracy: result.trainAccuracy, cost },
    settings: { method: result.method, threshold: result.threshold, trainAccuracy: result.trainAccuracy, maxTokens },
    roc: result.roc,
  };
}

/**
 * The baseline from already-scored pairs (the cloud's training step, whose embedding shards
 * hold each row's two pooled vectors): threshold tuned on `train`, figures on `evaluation`.
 */
export function encoderBaselineOfScores(
  train: { readonly labels: Uint8Array; readonly scores: Float64Array },
  evaluation: { readonly labels: Uint8Array; readonly scores: Float64Array },
  maxTokens: number,
): { record: EncoderBaselineRecord; settings: EncoderBaselineSettings; roc: RocCurve } {
  const result = evaluateEncoderBaseline(train, evaluation);
  return {
    record: { method: result.method, ...result.metrics, trainAccuracy: result.trainAccuracy },
    settings: { method: result.method, threshold: result.threshold, trainAccuracy: result.trainAccuracy, maxTokens },
    roc: result.roc,
  };
}

/**
 * Cosine of each row's two pooled sentence vectors, over a whole embedding store in manifest
 * order, in one read of each shard; undefined when a shard has no pooled vectors (embedded
 * before simpair stored them). `visit` sees every shard as it is read, with the index of its
 * first row, so a caller can do its own work in the same pass (the cloud training step
 * predicts its held-out rows there).
 */
export async function storedPairScores(
  reader: EmbeddingStoreReader,
  visit?: (shard: EmbeddingShard, firstRow: number) => void | Promise<void>,
): Promise<{ labels: Uint8Array; scores: Float64Array } | undefined> {
  const { count, hidden, shards } = reader.manifest;
  const labels = new Uint8Array(count);
  const scores = new Float64Array(count);
  let complete = true;
  let at = 0;
  for (let i = 0; i < shards.length; i++) {
    const shard = await reader.readShard(i);
    await visit?.(shard, at);
    if (!shard.pooled) complete = false;
    for (let r = 0; complete && r < shard.count; r++) {
      const u = shard.pooled!.subarray(2 * r * hidden, (2 * r + 1) * hidden);
      const v = shard.pooled!.subarray((2 * r + 1) * hidden, (2 * r + 2) * hidden);
      scores[at + r] = cosineSimilarity(u, v);
      labels[at + r] = shard.labels[r];
    }
    at += shard.count;
  }
  return complete ? { labels, scores } : undefined;
}

/**
 * The baseline for `simpair evaluate`: the evaluation rows at the threshold stored at
 * training. A model saved without one gets the threshold-free figures (ROC-AUC) and a note.
 */
export async function evaluateStoredEncoderBaseline(
  pool: PoolSentences,
  pairs: readonly LabelledPair[],
  settings: EncoderBaselineSettings | undefined,
): Promise<{ record: EncoderBaselineRecord & { readonly cost: EncoderBaselineCost }; roc: RocCurve }> {
  const { scored, cost } = await scorePairs(pool, [pairs]);
  const { labels, scores } = scored[0];
  const roc = rocCurve(labels, scores);
  if (!settings) {
    const note =
      "no threshold: the model's metadata.json has no encoderBaseline (saved before simpair stored it); train it again to get the baseline's accuracy and F1";
    return { record: { method: ENCODER_BASELINE_METHOD, n: labels.length, threshold: null, rocAuc: rocAuc(labels, scores), note, cost }, roc };
  }
  return { record: { method: ENCODER_BASELINE_METHOD, ...computeMetrics(labels, scores, settings.threshold), cost }, roc };
}
