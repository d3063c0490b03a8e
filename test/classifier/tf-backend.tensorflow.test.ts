// The tensorflow backend (tfjs-node built against the tensorflow-cpu wheel by
// scripts/install-tensorflow-backend.sh): the path of tfjs-node-gpu in the cloud image, on CPU.
// Skipped, saying why, where the script has not run; CI runs the script and requires it.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { buildBiLstm } from '../../src/classifier/bilstm.ts';
import { loadClassifier, saveClassifier } from '../../src/classifier/model-io.ts';
import { predictProbabilities } from '../../src/classifier/predict.ts';
import { trainClassifier } from '../../src/classifier/train.ts';
import { FsObjectStore } from '../../src/storage/fs-object-store.ts';
import { describeOnBackend } from '../helpers/tf-backends.ts';
import { SHA_A, SHA_B, writeSyntheticStore } from './synthetic-store.ts';

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

describeOnBackend('tensorflow', 'Bi-LSTM training', () => {
  it('trains the Bi-LSTM on a separable store, saves it with backend "tensorflow", reloads it with the same predictions', async () => {
    // maxLen 8, hidden 16, 200 rows in 3 shards, label = sign of the first 4 features.
    const { reader } = await writeSyntheticStore();
    const model = buildBiLstm({ maxLen: 8, hidden: 16, units: 8, seed: 1 });
    const history = await trainClassifier(model, reader, { epochs: 3, seed: 42 });
    expect(history).toMatchObject({ stoppedEarly: false, trainRows: 180, validationRows: 20 });
    const [first, , last] = history.epochs;
    expect(last.loss).toBeLessThan(first.loss);
    expect(last.acc).toBeGreaterThanOrEqual(0.9);
    expect(last.val_acc).toBeGreaterThanOrEqual(0.9);

    const store = new FsObjectStore(await mkdtemp(join(tmpdir(), 'simpair-tf-model-')));
    const training = { epochs: 3, batchSize: 32, validationSplit: 0.1, seed: 42, earlyStopping: null };
    const saved = await saveClassifier(store, 'models/tf/', model, { embeddingModel: 'test/tiny', tokenizerSha256: SHA_A, datasetSha256: SHA_B, training, history: history.epochs });
    expect(saved.backend).toBe('tensorflow');

    const { model: loaded, metadata } = await loadClassifier(store, 'models/tf/');
    expect(metadata).toEqual(saved);
    const { embeddings } = await reader.readShard(2);
    const emb = { data: embeddings, batchSize: 60, maxLen: 8, hidden: 16 };
    const expected = predictProbabilities(model, emb);
    const actual = predictProbabilities(loaded, emb);
    expect(Math.max(...expected.map((p, i) => Math.abs(p - actual[i])))).toBeLessThan(1e-6);
    // The predictions follow the labels, not only each other.
    const labels = (await reader.readShard(2)).labels;
    const correct = Array.from(actual).filter((p, i) => (p >= 0.5 ? 1 : 0) === labels[i]).length;
    expect(correct / labels.length).toBeGreaterThanOrEqual(0.9);
    model.dispose();
    loaded.dispose();
  });
});

describeOnBackend('tensorflow', "libtensorflow's load-time log lines", () => {
  it('simpair sets TF_CPP_MIN_LOG_LEVEL before the addon loads: no cpu_feature_guard "rebuild TensorFlow" lines on every run (issue 19)', async () => {
    const { runNode } = await import('../helpers/cli.ts');
    const { ROOT } = await import('../helpers/paths.ts');
    const env = { ...process.env, SIMPAIR_TF_BACKEND: 'node', SIMPAIR_LOG_LEVEL: 'info' };
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
