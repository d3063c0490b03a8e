import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildBiLstm } from '../../src/classifier/bilstm.ts';
import { initTfBackend } from '../../src/classifier/tf-backend.ts';

beforeAll(async () => {
  await initTfBackend();
});

function weightsOf(model: tfl.LayersModel): Float32Array[] {
  return model.getWeights().map((w) => w.dataSync() as Float32Array);
}

describe('buildBiLstm', () => {
  it('is the recipe: Bi-LSTM(64, seq) -> Bi-LSTM(64) -> Dense(1, sigmoid) on [maxLen, hidden]', () => {
    const model = buildBiLstm({ maxLen: 8, hidden: 16 });
    expect(model.inputs[0].shape).toEqual([null, 8, 16]);
    expect(model.layers.map((l) => l.getClassName())).toEqual(['Bidirectional', 'Bidirectional', 'Dense']);
    expect(model.layers.map((l) => l.outputShape)).toEqual([[null, 8, 128], [null, 128], [null, 1]]);
    // The Keras-format topology (what model.json holds and Python reads).
    const topology = model.toJSON(null, false) as { config: { layers: { config: Record<string, any> }[] } };
    const [bi1, bi2, dense] = topology.config.layers.map((l) => l.config);
    expect(bi1.merge_mode).toBe('concat');
    expect(bi1.layer.config).toMatchObject({ units: 64, return_sequences: true, activation: 'tanh', recurrent_activation: 'sigmoid', unit_forget_bias: true });
    expect(bi2.layer.config).toMatchObject({ units: 64, return_sequences: false, recurrent_activation: 'sigmoid' });
    // glorot_uniform, serialized the way tfjs does it (Keras reads it back as the same thing).
    expect(bi1.layer.config.kernel_initializer).toMatchObject({ class_name: 'VarianceScaling', config: { scale: 1, mode: 'fan_avg', distribution: 'uniform' } });
    expect(bi1.layer.config.recurrent_initializer.class_name).toBe('Orthogonal');
    expect(dense).toMatchObject({ units: 1, activation: 'sigmoid' });
    // Parameters: per LSTM 4*u*(in + u + 1); Dense 128 + 1.
    expect(model.countParams()).toBe(2 * 4 * 64 * (16 + 64 + 1) + 2 * 4 * 64 * (128 + 64 + 1) + 129);
    model.dispose();
  });

  it('is compiled with adam (lr 0.001), binary cross-entropy and accuracy', () => {
    const model = buildBiLstm({ maxLen: 4, hidden: 8, units: 4 });
    expect(model.optimizer.getClassName()).toBe('Adam');
    expect(model.optimizer.getConfig()).toMatchObject({ learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 });
    expect(model.loss).toBe('binaryCrossentropy');
    expect(model.metricsNames).toEqual(['loss', 'acc']);
    model.dispose();
  });

  it('gives the same initial weights for the same seed, different ones otherwise, and distinct directions', () => {
    const a = buildBiLstm({ maxLen: 4, hidden: 8, units: 4, seed: 3 });
    const b = buildBiLstm({ maxLen: 4, hidden: 8, units: 4, seed: 3 });
    const c = buildBiLstm({ maxLen: 4, hidden: 8, units: 4, seed: 4 });
    const [wa, wb, wc] = [weightsOf(a), weightsOf(b), weightsOf(c)];
    wa.forEach((w, i) => expect(Array.from(w)).toEqual(Array.from(wb[i])));
    expect(Array.from(wa[0])).not.toEqual(Array.from(wc[0]));
    // Weights 0-2 forward LSTM of layer 1, 3-5 backward: kernels must differ.
    expect(Array.from(wa[0])).not.toEqual(Array.from(wa[3]));
    // Keras' unit_forget_bias: forget-gate bias starts at 1, the rest at 0.
    expect(Array.from(wa[2])).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    [a, b, c].forEach((m) => m.dispose());
  });

  it('leaves no tensors behind once disposed', () => {
    const before = tf.memory().numTensors;
    buildBiLstm({ maxLen: 4, hidden: 8, seed: 1 }).dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects a non-positive maxLen', () => {
    expect(() => buildBiLstm({ maxLen: 0, hidden: 8 })).toThrow(/maxLen must be a positive integer, received 0/);
  });
});

describe('buildBiLstm({ maskPadding: true })', () => {
  it('skips zero padding: same output as the unmasked model on the real timesteps only', () => {
    const masked = buildBiLstm({ maxLen: 9, hidden: 6, units: 4, seed: 5, maskPadding: true });
    expect(masked.layers.map((l) => l.getClassName())).toEqual(['Masking', 'Bidirectional', 'Bidirectional', 'Dense']);
    expect(masked.inputs[0].shape).toEqual([null, 9, 6]);
    const short = buildBiLstm({ maxLen: 4, hidden: 6, units: 4, seed: 99 });
    short.setWeights(masked.getWeights());
    const real = tf.randomNormal([2, 4, 6], 0, 1, 'float32', 3);
    const padded = tf.concat([real, tf.zeros([2, 5, 6])], 1);
    const a = (masked.predict(padded) as tf.Tensor).dataSync();
    const b = (short.predict(real) as tf.Tensor).dataSync();
    for (let i = 0; i < 2; i++) expect(a[i]).toBeCloseTo(b[i], 5);
    // Without the mask the padding changes the answer.
    const unmasked = buildBiLstm({ maxLen: 9, hidden: 6, units: 4, seed: 5 });
    unmasked.setWeights(masked.getWeights());
    const c = (unmasked.predict(padded) as tf.Tensor).dataSync();
    expect(Math.abs(c[0] - b[0]) + Math.abs(c[1] - b[1])).toBeGreaterThan(1e-4);
    tf.dispose([real, padded]);
    [masked, short, unmasked].forEach((m) => m.dispose());
  });
});

describe('buildBiLstm({ dropout, recurrentDropout })', () => {
  type Topology = { config: { layers: { config: Record<string, any> }[] } };
  it('defaults to the recipe byte for byte: dropout 0 gives the same model.json topology as no option', () => {
    const recipe = buildBiLstm({ maxLen: 8, hidden: 16, seed: 1 });
    const zero = buildBiLstm({ maxLen: 8, hidden: 16, seed: 1, dropout: 0, recurrentDropout: 0 });
    // Layer names are numbered per process (bidirectional_3, lstm_LSTM4...); everything else is identical.
    const unnumbered = (m: tfl.LayersModel) => JSON.stringify(m.toJSON(null, false)).replace(/("name":"[A-Za-z_]+?)_?\d+"/g, '$1"');
    expect(unnumbered(zero)).toBe(unnumbered(recipe));
    const [bi1] = (recipe.toJSON(null, false) as Topology).config.layers.map((l) => l.config);
    expect(bi1.layer.config).toMatchObject({ dropout: 0, recurrent_dropout: 0 });
    recipe.dispose();
    zero.dispose();
  });

  it("sets Keras' LSTM dropout and recurrent_dropout on both Bi-LSTM layers", () => {
    const model = buildBiLstm({ maxLen: 8, hidden: 16, seed: 1, dropout: 0.2, recurrentDropout: 0.1 });
    const layers = (model.toJSON(null, false) as Topology).config.layers.map((l) => l.config);
    for (const bi of layers.slice(0, 2)) expect(bi.layer.config).toMatchObject({ dropout: 0.2, recurrent_dropout: 0.1 });
    model.dispose();
  });

  it('refuses a rate outside [0, 1)', () => {
    expect(() => buildBiLstm({ maxLen: 8, hidden: 16, dropout: 1 })).toThrow(/buildBiLstm: dropout must be a number in \[0, 1\), received 1/);
    expect(() => buildBiLstm({ maxLen: 8, hidden: 16, recurrentDropout: -0.1 })).toThrow(/recurrentDropout must be a number in \[0, 1\), received -0.1/);
  });
});

describe("buildBiLstm({ head: 'pooled' })", () => {
  it('is a functional model: the Bi-LSTM output concatenated with the pair features [u, v, |u-v|, u*v] before Dense(1, sigmoid)', async () => {
    const model = buildBiLstm({ maxLen: 8, hidden: 16, seed: 1, head: 'pooled' });
    expect(model.inputs.map((i) => i.shape)).toEqual([[null, 8, 16], [null, 64]]);
    expect(model.inputs.map((i) => i.name)).toEqual(['tokens', 'pair_features']);
    expect(model.layers.map((l) => l.getClassName())).toEqual(['InputLayer', 'Bidirectional', 'Bidirectional', 'InputLayer', 'Concatenate', 'Dense']);
    expect(model.countParams()).toBe(2 * 4 * 64 * (16 + 64 + 1) + 2 * 4 * 64 * (128 + 64 + 1) + (128 + 64) + 1);
    // The pair features reach the output.
    const tokens = tf.randomNormal([2, 8, 16], 0, 1, 'float32', 3);
    const a = (model.predict([tokens, tf.zeros([2, 64])]) as tf.Tensor).dataSync();
    const b = (model.predict([tokens, tf.ones([2, 64])]) as tf.Tensor).dataSync();
    expect(Math.abs(a[0] - b[0])).toBeGreaterThan(1e-4);
    const topology = model.toJSON(null, false) as { class_name: string; config: { input_layers: unknown[] } };
    expect(topology.class_name).toBe('Model');
    expect(topology.config.input_layers).toHaveLength(2);
    model.dispose();
  });

  it("refuses an unknown head, naming the choices", () => {
    expect(() => buildBiLstm({ maxLen: 8, hidden: 16, head: 'mlp' as never })).toThrow(/buildBiLstm: head must be 'recipe' or 'pooled', received mlp/);
  });
});

describe('pairFeatures', () => {
  it("is SBERT's classification input [u, v, |u - v|, u * v]", async () => {
    const { pairFeatures } = await import('../../src/classifier/pair-features.ts');
    expect(Array.from(pairFeatures(Float32Array.of(1, -2), Float32Array.of(3, 0.5)))).toEqual([1, -2, 3, 0.5, 2, 2.5, 3, -1]);
    expect(() => pairFeatures(Float32Array.of(1), Float32Array.of(1, 2))).toThrow(/1 and 2 values/);
  });
});
