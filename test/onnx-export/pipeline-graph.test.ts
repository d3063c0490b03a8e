import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildBiLstm } from '../../src/classifier/bilstm.ts';
import { pairFeatures } from '../../src/classifier/pair-features.ts';
import { predictProbabilities } from '../../src/classifier/predict.ts';
import { seededRandom } from '../../src/classifier/seeded-random.ts';
import { initTfBackend } from '../../src/classifier/tf-backend.ts';
import { BertEmbedder } from '../../src/embedder/bert-embedder.ts';
import { createOnnxSession, ort } from '../../src/embedder/onnx-session.ts';
import { meanPooledSentenceEmbeddings } from '../../src/embedder/pooled-embeddings.ts';
import { classifierSpecFromModel } from '../../src/onnx-export/classifier-spec.ts';
import { decodeModel, encodeModel } from '../../src/onnx-export/onnx-proto.ts';
import { pipelineModel } from '../../src/onnx-export/pipeline-graph.ts';
import { PairTokenizer } from '../../src/tokenizer/pair-tokenizer.ts';
import { TINY_BERT } from '../helpers/paths.ts';

const PAIRS: [string, string][] = [
  ['A man is eating food.', 'A man is eating a meal.'],
  ['The cat sat on the mat.', 'Stocks fell sharply on Monday after the quarterly report surprised analysts.'],
  ['Hi.', 'Hello there, how are you doing on this fine day?'],
  ['Yes.', 'No.'],
];
const MAX_LEN = 16;
/** Tokens per sentence in the pooled passes; short, so the long sentence is cut as at training. */
const SENTENCE_TOKENS = 12;

beforeAll(async () => {
  await initTfBackend();
});

/** `[CLS] s [SEP]` per sentence, cut to SENTENCE_TOKENS, padded to the longest: what the pooled head's pipeline.onnx takes. */
function sentenceFeeds(tokenizer: PairTokenizer, sentences: string[], name: string): Record<string, ort.Tensor> {
  const rows = sentences.map((s) => [tokenizer.clsId, ...tokenizer.tokenIds(s).slice(0, SENTENCE_TOKENS - 2), tokenizer.sepId]);
  const width = Math.max(...rows.map((r) => r.length));
  const ids = new BigInt64Array(rows.length * width).fill(BigInt(tokenizer.padId));
  const mask = new BigInt64Array(rows.length * width);
  rows.forEach((r, b) => r.forEach((id, t) => ((ids[b * width + t] = BigInt(id)), (mask[b * width + t] = 1n))));
  return { [`${name}_input_ids`]: new ort.Tensor('int64', ids, [rows.length, width]), [`${name}_attention_mask`]: new ort.Tensor('int64', mask, [rows.length, width]) };
}

describe("pipeline.onnx of the pooled head (BERT three times: the pair, then each sentence alone, mean-pooled)", () => {
  it.each(['max-length', 'masked'] as const)('gives the TF.js model fed by simpair\'s embedder and pooling, within 1e-5 (%s padding)', async (padding) => {
    const tokenizer = await PairTokenizer.fromDir(TINY_BERT);
    const embedder = await BertEmbedder.load(TINY_BERT, { padding: padding === 'masked' ? 'dynamic' : 'max-length' });
    const batch = tokenizer.encodePairs(PAIRS, { maxLen: MAX_LEN });
    const emb = await embedder.embed(batch);
    const pooled = await meanPooledSentenceEmbeddings(tokenizer, embedder, PAIRS.flat(), { maxTokens: SENTENCE_TOKENS });
    await embedder.dispose();
    const h = emb.hidden;
    const features = new Float32Array(PAIRS.length * 4 * h);
    PAIRS.forEach((_, i) => pairFeatures(pooled.vector(2 * i), pooled.vector(2 * i + 1), features.subarray(4 * i * h, 4 * (i + 1) * h)));

    const model = buildBiLstm({ maxLen: MAX_LEN, hidden: h, units: 5, seed: 9, maskPadding: padding === 'masked', head: 'pooled' });
    const random = seededRandom(31);
    model.setWeights(model.getWeights().map((w) => tf.tensor(Float32Array.from({ length: w.size }, () => (random() * 2 - 1) * 0.4), w.shape)));
    const expected = predictProbabilities(model, emb, {}, features);
    const bert = decodeModel(await readFile(join(TINY_BERT, 'onnx', 'model.onnx')));
    const session = await createOnnxSession(encodeModel(pipelineModel(bert, classifierSpecFromModel(model))));
    model.dispose();
    const run = async (first: string[], second: string[]) => {
      const shape = [PAIRS.length, MAX_LEN];
      const out = await session.run({
        input_ids: new ort.Tensor('int64', batch.inputIds, shape),
        attention_mask: new ort.Tensor('int64', batch.attentionMask, shape),
        token_type_ids: new ort.Tensor('int64', batch.tokenTypeIds, shape),
        ...sentenceFeeds(tokenizer, first, 'sentence1'),
        ...sentenceFeeds(tokenizer, second, 'sentence2'),
      });
      return Float32Array.from(out.probability.data as Float32Array);
    };
    const got = await run(PAIRS.map((p) => p[0]), PAIRS.map((p) => p[1]));
    got.forEach((p, i) => expect(Math.abs(p - expected[i]), `pair ${i}: ${p} vs ${expected[i]}`).toBeLessThan(1e-5));
    // The sentence passes count: the same pairs with the sentences swapped around give other probabilities.
    const swapped = await run(PAIRS.map((p) => p[1]), PAIRS.map((p) => p[0]));
    expect(Math.max(...swapped.map((p, i) => Math.abs(p - got[i])))).toBeGreaterThan(1e-3);
    await session.release();
  });
});
