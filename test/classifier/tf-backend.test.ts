import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { initTfBackend, tfBackendInfo } from '../../src/classifier/tf-backend.ts';

describe('initTfBackend', () => {
  it('falls back to wasm when no tfjs-node package is installed, and says so', async () => {
    // tfjs-node(-gpu) are optional peers, absent in this checkout.
    const info = await initTfBackend();
    expect(info).toMatchObject({ backend: 'wasm', package: '@tensorflow/tfjs-backend-wasm', version: tf.version_core });
    expect(info.details).toMatch(/simd|no simd/);
    expect(tf.getBackend()).toBe('wasm');
    expect(tfBackendInfo()).toBe(info);
  });

  it('is idempotent: later calls return the same promise result, whatever they prefer', async () => {
    const first = await initTfBackend();
    expect(await initTfBackend({ prefer: 'cpu' })).toBe(first);
    expect(tf.getBackend()).toBe('wasm');
  });

  it('installs the chained tensor methods tfjs-layers relies on, and gradients work', async () => {
    await initTfBackend();
    const x = tf.tensor2d([[1, 2], [3, 4]]) as tf.Tensor & { flatten(): tf.Tensor };
    const flat = x.flatten();
    expect(flat.shape).toEqual([4]);
    const g = tf.grad((v: tf.Tensor) => tf.sum(tf.sigmoid(v)))(tf.zeros([2]));
    expect(Array.from(await g.data())).toEqual([0.25, 0.25]);
    tf.dispose([x, flat, g]);
  });
});
