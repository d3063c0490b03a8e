import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildBiLstm } from '../../src/classifier/bilstm.ts';
import { OnnxClassifier } from '../../src/classifier/onnx-classifier.ts';
import { predictProbabilities } from '../../src/classifier/predict.ts';
import { seededRandom } from '../../src/classifier/seeded-random.ts';
import { initTfBackend } from '../../src/classifier/tf-backend.ts';
import { BertEmbedder, type Embeddings } from '../../src/embedder/bert-embedder.ts';
import { ExportError } from '../../src/errors.ts';
import { classifierModel } from '../../src/onnx-export/classifier-graph.ts';
import { classifierSpecFromModel } from '../../src/onnx-export/classifier-spec.ts';
import { encodeModel } from '../../src/onnx-export/onnx-proto.ts';
import { PairTokenizer } from '../../src/tokenizer/pair-tokenizer.ts';
import { TINY_BERT } from '../helpers/paths.ts';

beforeAll(async () => {
  await initTfBackend();
});

/**
 * Replaces every weight (biases too) by seeded values in [-scale, scale]: an untrained model's
 * zero biases and unit forget bias would hide a wrong gate order in the bias.
 */
function randomizeWeights(model: tfl.LayersModel, seed: number, scale = 0.5): void {
  const random = seededRandom(seed);
  model.setWeights(model.getWeights().map((w) => tf.tensor(Float32Array.from({ length: w.size }, () => (random() * 2 - 1) * scale), w.shape)));
}

/** Random embeddings; with `lengths`, row r is zero from lengths[r] on (the embedder's 'dynamic' padding). */
function randomEmbeddings(seed: number, batchSize: number, maxLen: number, hidden: number, lengths?: number[]): Embeddings {
  const random = seededRandom(seed);
  const data = Float32Array.from({ length: batchSize * maxLen * hidden }, () => random() * 4 - 2);
  lengths?.forEach((len, r) => data.fill(0, (r * maxLen + len) * hidden, (r + 1) * maxLen * hidden));
  return { data, batchSize, maxLen, hidden };
}

async function onnxProbabilities(model: tfl.LayersModel, emb: Embeddings, pairFeatures?: Float32Array): Promise<Float32Array> {
  const bytes = encodeModel(classifierModel(classifierSpecFromModel(model)));
  const clf = await OnnxClassifier.load(bytes, { maxLen: emb.maxLen, hidden: emb.hidden });
  try {
    return await clf.probabilities(emb, pairFeatures);
  } finally {
    await clf.dispose();
  }
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a).toHaveLength(b.length);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
}

describe('classifier.onnx = the TF.js model', () => {
  it.each([
    { padding: 'max-length', maskPadding: false, units: 64 },
    { padding: 'masked', maskPadding: true, units: 64 },
    { padding: 'max-length', maskPadding: false, units: 5 },
  ])('matches within 1e-5 on random inputs ($padding padding, $units units, random weights and biases)', async ({ maskPadding, units }) => {
    const [maxLen, hidden, batch] = [9, 16, 7];
    const model = buildBiLstm({ maxLen, hidden, units, seed: 3, maskPadding });
    randomizeWeights(model, 11);
    // Lengths cover a full row, a single token and everything between.
    const lengths = maskPadding ? [9, 1, 2, 5, 8, 3, 9] : undefined;
    const emb = randomEmbeddings(17, batch, maxLen, hidden, lengths);
    const expected = predictProbabilities(model, emb);
    const got = await onnxProbabilities(model, emb);
    expect(maxAbsDiff(got, expected)).toBeLessThan(1e-5);
    // Not a degenerate comparison: the probabilities spread.
    expect(Math.max(...expected) - Math.min(...expected)).toBeGreaterThan(0.01);
    model.dispose();
  });

  it.each([
    { padding: 'max-length', maskPadding: false },
    { padding: 'masked', maskPadding: true },
  ])('the pooled head (two inputs) matches within 1e-5 on random inputs ($padding padding, random weights and biases)', async ({ maskPadding }) => {
    const [maxLen, hidden, batch] = [9, 16, 7];
    const model = buildBiLstm({ maxLen, hidden, units: 6, seed: 5, maskPadding, head: 'pooled' });
    randomizeWeights(model, 13);
    const emb = randomEmbeddings(19, batch, maxLen, hidden, maskPadding ? [9, 1, 2, 5, 8, 3, 9] : undefined);
    const random = seededRandom(23);
    const pairs = Float32Array.from({ length: batch * 4 * hidden }, () => random() * 2 - 1);
    const expected = predictProbabilities(model, emb, {}, pairs);
    expect(maxAbsDiff(await onnxProbabilities(model, emb, pairs), expected)).toBeLessThan(1e-5);
    expect(Math.max(...expected) - Math.min(...expected)).toBeGreaterThan(0.01);
    // The pair features count: other features, other probabilities.
    const other = await onnxProbabilities(model, emb, pairs.map((v) => -v));
    expect(maxAbsDiff(other, expected)).toBeGreaterThan(1e-3);
    model.dispose();
  });

  it('a pooled classifier.onnx refuses to run without pair features, a recipe one refuses them', async () => {
    const [maxLen, hidden] = [4, 8];
    const emb = randomEmbeddings(1, 2, maxLen, hidden);
    const pooled = buildBiLstm({ maxLen, hidden, units: 3, seed: 1, head: 'pooled' });
    const recipe = buildBiLstm({ maxLen, hidden, units: 3, seed: 1 });
    await expect(onnxProbabilities(pooled, emb)).rejects.toThrow(/pooled head: it needs pair features \[2, 32\]/);
    await expect(onnxProbabilities(recipe, emb, new Float32Array(2 * 4 * hidden))).rejects.toThrow(/only a model trained with --head pooled takes them/);
    await expect(onnxProbabilities(pooled, emb, new Float32Array(3))).rejects.toThrow(/hold 3 values/);
    pooled.dispose();
    recipe.dispose();
  });

  it.each(['max-length', 'masked'] as const)('matches within 1e-5 on real BERT embeddings of the tiny-bert fixture (%s padding)', async (padding) => {
    const maxLen = 16;
    const tokenizer = await PairTokenizer.fromDir(TINY_BERT);
    const embedder = await BertEmbedder.load(TINY_BERT, { padding: padding === 'masked' ? 'dynamic' : 'max-length' });
    const pairs: [string, string][] = [
      ['A man is eating food.', 'A man is eating a meal.'],
      ['The cat sat on the mat.', 'Stocks fell sharply on Monday after the report.'],
      ['Hi.', 'Hello there, how are you doing on this fine day?'],
      ['He said the food was good and the service was very slow indeed.', 'Good.'],
    ];
    const emb = await embedder.embed(tokenizer.encodePairs(pairs, { maxLen }));
    await embedder.dispose();
    const model = buildBiLstm({ maxLen, hidden: emb.hidden, seed: 4, maskPadding: padding === 'masked' });
    randomizeWeights(model, 12, 0.3);
    const expected = predictProbabilities(model, emb);
    expect(maxAbsDiff(await onnxProbabilities(model, emb), expected)).toBeLessThan(1e-5);
    model.dispose();
  });

  it('refuses a model that is not the Bi-LSTM it knows, naming the layer', async () => {
    const tfl = await import('@tensorflow/tfjs-layers');
    const model = tfl.sequential({ layers: [tfl.layers.lstm({ units: 4, inputShape: [3, 2] }), tfl.layers.dense({ units: 1, activation: 'sigmoid' })] });
    expect(() => classifierSpecFromModel(model)).toThrow(ExportError);
    expect(() => classifierSpecFromModel(model)).toThrow(/no Bidirectional\(LSTM\) layer/);
    model.dispose();
  });
});
