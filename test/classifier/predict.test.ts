import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildBiLstm } from '../../src/classifier/bilstm.ts';
import { evaluateStore, predictProbabilities } from '../../src/classifier/predict.ts';
import { initTfBackend } from '../../src/classifier/tf-backend.ts';
import { ShapeMismatchError } from '../../src/errors.ts';
import { writeSyntheticStore } from './synthetic-store.ts';

beforeAll(async () => {
  await initTfBackend();
});

describe('predictProbabilities', () => {
  it('returns one probability per row, the same whatever the chunk size, freeing its tensors', () => {
    const model = buildBiLstm({ maxLen: 4, hidden: 8, units: 4, seed: 5 });
    const data = new Float32Array(5 * 4 * 8).map((_, i) => Math.sin(i));
    const before = tf.memory().numTensors;
    const whole = predictProbabilities(model, { data, batchSize: 5, maxLen: 4, hidden: 8 });
    const chunked = predictProbabilities(model, { data, batchSize: 5, maxLen: 4, hidden: 8 }, { batchSize: 2 });
    expect(tf.memory().numTensors).toBe(before);
    expect(whole).toHaveLength(5);
    whole.forEach((p, i) => {
      expect(p).toBeGreaterThan(0);
      expect(p).toBeLessThan(1);
      expect(Math.abs(p - chunked[i])).toBeLessThan(1e-6);
    });
    model.dispose();
  });

  it('refuses embeddings of another shape, with both shapes and the fix', () => {
    const model = buildBiLstm({ maxLen: 4, hidden: 8, units: 4 });
    const call = () => predictProbabilities(model, { data: new Float32Array(2 * 6 * 8), batchSize: 2, maxLen: 6, hidden: 8 });
    expect(call).toThrow(ShapeMismatchError);
    expect(call).toThrow(/\[batch, 6, 8\] but the model expects \[batch, 4, 8\]/);
    model.dispose();
  });
});

describe('evaluateStore', () => {
  it('predicts every row of the store in manifest order', async () => {
    const { reader } = await writeSyntheticStore({ shardSizes: [3, 4], maxLen: 4, hidden: 8 });
    const model = buildBiLstm({ maxLen: 4, hidden: 8, units: 4, seed: 6 });
    const { labels, probabilities } = await evaluateStore(model, reader);
    expect(labels).toHaveLength(7);
    expect(probabilities).toHaveLength(7);
    const s1 = await reader.readShard(1);
    expect(Array.from(labels.subarray(3))).toEqual(Array.from(s1.labels));
    const direct = predictProbabilities(model, { data: s1.embeddings, batchSize: 4, maxLen: 4, hidden: 8 });
    expect(Array.from(probabilities.subarray(3))).toEqual(Array.from(direct));
    model.dispose();
  });
});
