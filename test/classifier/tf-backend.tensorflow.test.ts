// The tensorflow backend (tfjs-node built against the tensorflow-cpu wheel by
// scripts/install-tensorflow-backend.sh): the path of tfjs-node-gpu in the cloud image, on CPU.
// Skipped, saying why, where the script has not run; CI runs the script and requires it.
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { describeOnBackend } from '../helpers/tf-backends.ts';
import { bilstmTrainingSuite } from './bilstm-training-suite.ts';

describeOnBackend('tensorflow', 'initTfBackend with SIMPAIR_TF_BACKEND=node', (backendInfo) => {
  it('initialises tfjs-node 4.22.0 into simpair\'s tfjs-core and computes on TensorFlow\'s kernels', async () => {
    expect(backendInfo()).toEqual({ backend: 'tensorflow', package: '@tensorflow/tfjs-node', version: '4.22.0' });
    expect(tf.getBackend()).toBe('tensorflow');
    // The addon's TF_Version: the C API of the wheel the script built against.
    expect((tf.backend() as unknown as { binding: { TF_Version: string } }).binding.TF_Version).toMatch(/^2\.\d+\.\d+/);
    const product = tf.matMul(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[5, 6], [7, 8]]));
    expect(await product.array()).toEqual([[19, 22], [43, 50]]);
    tf.dispose(product);
  });
});

describeOnBackend('tensorflow', 'Bi-LSTM training', bilstmTrainingSuite);

describeOnBackend('tensorflow', "libtensorflow's load-time log lines", () => {
  it('simpair sets TF_CPP_MIN_LOG_LEVEL before the addon loads: no cpu_feature_guard "rebuild TensorFlow" lines on every run (issue 19)', async () => {
    const { runNode } = await import('../helpers/cli.ts');
    const { ROOT } = await import('../helpers/paths.ts');
    const env: NodeJS.ProcessEnv = { ...process.env, SIMPAIR_TF_BACKEND: 'node', SIMPAIR_LOG_LEVEL: 'info' };
    delete env.TF_CPP_MIN_LOG_LEVEL; // test/setup.ts sets it for the suite; a user's shell does not
    const script = "const { initTfBackend } = await import('./src/classifier/tf-backend.ts'); console.log(JSON.stringify(await initTfBackend()));";
    const res = await runNode(['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, env });
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ backend: 'tensorflow' });
    expect(res.stderr).toMatch(/TensorFlow\.js backend: tensorflow/);
    expect(res.stderr).not.toMatch(/cpu_feature_guard|rebuild TensorFlow/);
    // Not silenced, and not claimed: absl's "All log messages before absl::InitializeLog()" and
    // oneDNN's note are written before TensorFlow reads the variable (TF 2.21).
  });
});
