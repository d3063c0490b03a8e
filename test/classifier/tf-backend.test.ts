import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { hasNativeAddon, initTfBackend, tfBackendInfo } from '../../src/classifier/tf-backend.ts';
import { hasTensorflowBackend, hasTensorflowGpuBackend, useTfBackend } from '../helpers/tf-backends.ts';

// initTfBackend's own order, as in production: no SIMPAIR_TF_BACKEND.
useTfBackend('default');

describe('initTfBackend', () => {
  it.skipIf(hasTensorflowBackend || hasTensorflowGpuBackend)('falls back to wasm when no tfjs-node package is installed, and says so', async () => {
    // tfjs-node(-gpu) are optional peers, absent unless scripts/install-tensorflow-backend.sh ran.
    const info = await initTfBackend();
    expect(info).toMatchObject({ backend: 'wasm', package: '@tensorflow/tfjs-backend-wasm', version: tf.version_core });
    expect(info.details).toMatch(/simd|no simd/);
    expect(tf.getBackend()).toBe('wasm');
    expect(tfBackendInfo()).toBe(info);
  });

  it.skipIf(!hasTensorflowBackend && !hasTensorflowGpuBackend)('picks the tensorflow backend first when installed (tfjs-node-gpu before tfjs-node), and records package and version', async () => {
    const info = await initTfBackend();
    expect(info).toEqual({ backend: 'tensorflow', package: hasTensorflowGpuBackend ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node', version: '4.22.0' });
    expect(tf.getBackend()).toBe('tensorflow');
    expect(tfBackendInfo()).toBe(info);
  });

  it('is idempotent: later calls return the same promise result, whatever they prefer', async () => {
    const first = await initTfBackend();
    expect(await initTfBackend({ prefer: 'cpu' })).toBe(first);
    expect(tf.getBackend()).toBe(first.backend);
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

describe('hasNativeAddon', () => {
  it('finds tfjs-node\'s addon where node-pre-gyp puts it (lib/napi-v<N>/tfjs_binding.node), and only there', () => {
    // A tfjs-node-gpu brought by npm without its addon (install scripts off) must not be loaded:
    // it registers its kernels before failing, and tfjs-node would then warn ~200 times.
    const dir = mkdtempSync(join(tmpdir(), 'simpair-addon-'));
    expect(hasNativeAddon(dir)).toBe(false);
    mkdirSync(join(dir, 'lib', 'napi-v8'), { recursive: true });
    expect(hasNativeAddon(dir)).toBe(false);
    writeFileSync(join(dir, 'lib', 'tfjs_binding.node'), '');
    expect(hasNativeAddon(dir)).toBe(false);
    writeFileSync(join(dir, 'lib', 'napi-v8', 'tfjs_binding.node'), '');
    expect(hasNativeAddon(dir)).toBe(true);
  });
});
