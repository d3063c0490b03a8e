import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/classifier/seeded-random.ts';
import { initTfBackend } from '../../src/classifier/tf-backend.ts';

process.env.SIMPAIR_TF_BACKEND = 'wasm';

beforeAll(async () => {
  expect((await initTfBackend()).backend).toBe('wasm');
});

/** The same op on the cpu backend (tfjs' reference kernels) and on wasm (simpair's replacements). */
function onBothBackends(make: () => tf.Tensor | tf.Tensor[]): { cpu: number[][]; wasm: number[][]; shapes: number[][] } {
  const run = (backend: string) => {
    tf.setBackend(backend);
    return tf.tidy(() => {
      const out = make();
      const list = Array.isArray(out) ? out : [out];
      return { values: list.map((t) => Array.from(t.dataSync())), shapes: list.map((t) => t.shape) };
    });
  };
  const cpu = run('cpu');
  const wasm = run('wasm');
  expect(wasm.shapes).toEqual(cpu.shapes);
  return { cpu: cpu.values, wasm: wasm.values, shapes: wasm.shapes };
}

describe('wasm Slice / Unpack / SplitV replacements', () => {
  it('equal the reference kernels on random shapes, offsets and sizes, rank 1 to 6, contiguous or not', async () => {
    await import('@tensorflow/tfjs-backend-cpu');
    const random = seededRandom(17);
    const int = (n: number) => Math.floor(random() * n);
    let checked = 0;
    for (let k = 0; k < 150; k++) {
      const rank = 1 + (k % 6);
      const shape = Array.from({ length: rank }, () => 1 + int(5));
      const data = Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => i + 0.5);
      const begin = shape.map((d) => int(d));
      const size = shape.map((d, i) => (int(4) === 0 ? -1 : int(d - begin[i] + 1)));
      const dtype = k % 3 === 0 ? 'int32' : 'float32';
      const slice = onBothBackends(() => tf.slice(tf.tensor(data, shape, dtype), begin, size));
      expect(slice.wasm).toEqual(slice.cpu);
      const axis = int(rank);
      const unstack = onBothBackends(() => tf.unstack(tf.tensor(data, shape, dtype), axis));
      expect(unstack.wasm).toEqual(unstack.cpu);
      const cut = int(shape[axis] + 1);
      const split = onBothBackends(() => tf.split(tf.tensor(data, shape, dtype), [cut, shape[axis] - cut], axis));
      expect(split.wasm).toEqual(split.cpu);
      checked++;
    }
    expect(checked).toBe(150);
    tf.setBackend('wasm');
  });

  it('slice bool tensors and empty boxes, and leave no memory behind', () => {
    const before = tf.memory();
    tf.tidy(() => {
      const b = tf.tensor2d([true, false, true, true, true, false], [2, 3], 'bool');
      expect(Array.from(tf.slice(b, [1, 1], [1, 2]).dataSync())).toEqual([1, 0]);
      expect(tf.unstack(b).map((t) => Array.from(t.dataSync()))).toEqual([[1, 0, 1], [1, 1, 0]]);
      expect(Array.from(tf.slice(tf.tensor1d([7]), [0], [0]).dataSync())).toEqual([]);
    });
    expect(tf.memory().numTensors).toBe(before.numTensors);
    expect(tf.memory().numBytes).toBe(before.numBytes);
  });
});
