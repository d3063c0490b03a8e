// The tensorflow backend from @tensorflow/tfjs-node-gpu, built by
// `scripts/install-tensorflow-backend.sh --gpu` against the PyPI `tensorflow` wheel and the
// nvidia-*-cu12 libraries: the training image's backend. Here, without a GPU (or driver),
// TensorFlow runs it on the CPU, the fallback this file checks. That the CUDA libraries are in
// place is checked by the script itself (TensorFlow's TryDlopenCUDALibraries on the layout).
// Skipped, saying why, where the script has not run with --gpu; CI runs it and requires it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { ROOT } from '../helpers/paths.ts';
import { describeOnBackend } from '../helpers/tf-backends.ts';
import { bilstmTrainingSuite } from './bilstm-training-suite.ts';

/** The TensorFlow the CPU and GPU backends are built on (scripts/install-tensorflow-backend.sh). */
const TF_VERSION = /^TF_VERSION="([^"]+)"$/m.exec(readFileSync(join(ROOT, 'scripts', 'install-tensorflow-backend.sh'), 'utf8'))![1];

describeOnBackend('tensorflow-gpu', 'initTfBackend with SIMPAIR_TF_BACKEND=node-gpu', (backendInfo) => {
  it('initialises tfjs-node-gpu 4.22.0 on the tensorflow wheel\'s TensorFlow (the CPU backend\'s version) and computes without a GPU', async () => {
    expect(backendInfo()).toEqual({ backend: 'tensorflow', package: '@tensorflow/tfjs-node-gpu', version: '4.22.0' });
    expect(tf.getBackend()).toBe('tensorflow');
    expect((tf.backend() as unknown as { binding: { TF_Version: string } }).binding.TF_Version).toBe(TF_VERSION);
    const product = tf.matMul(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[5, 6], [7, 8]]));
    expect(await product.array()).toEqual([[19, 22], [43, 50]]);
    tf.dispose(product);
  });
});

describeOnBackend('tensorflow-gpu', 'Bi-LSTM training', bilstmTrainingSuite);
