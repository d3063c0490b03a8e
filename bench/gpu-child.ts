/**
 * Child process of bench/gpu.ts: writes a synthetic embeddings store into --store (which Keras
 * then trains on too) and trains the Bi-LSTM on it with the backend bench/gpu.ts forces (tfjs-node-gpu), and marks the end
 * of every training step and epoch on stderr, where TensorFlow's placement log (TF_CPP_VMODULE=execute=1: one
 * "Executing op X in device D" line per op launch) also goes, so the parent can attribute op
 * launches to epochs. Prints one JSON line on stdout.
 *
 * node bin/run-ts.js bench/gpu-child.ts --store DIR --rows 2048 --max-len 64 --hidden 384 --epochs 3 [--batch-size 32]
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { buildBiLstm, initTfBackend, trainClassifier } from '../src/classifier/index.ts';
import { seededRandom } from '../src/classifier/seeded-random.ts';
import { EmbeddingStoreReader, writeEmbeddingManifest, writeEmbeddingShard } from '../src/embeddings/index.ts';
import { FsObjectStore } from '../src/storage/fs-object-store.ts';
import { EPOCH_MARKER, STEP_MARKER, type GpuChildResult } from './lib/gpu-bench.ts';

const { values } = parseArgs({
  options: {
    store: { type: 'string' },
    rows: { type: 'string', default: '2048' },
    'max-len': { type: 'string', default: '64' },
    hidden: { type: 'string', default: '384' },
    epochs: { type: 'string', default: '3' },
    'batch-size': { type: 'string', default: '32' },
  },
});
const rows = Number(values.rows);
const maxLen = Number(values['max-len']);
const hidden = Number(values.hidden);
const batchSize = Number(values['batch-size']);

if (!values.store) throw new Error('gpu-child needs --store DIR (an empty directory).');
const info = await initTfBackend();
{
  // Rows whose label sets the sign of the first 4 features of every token, plus noise.
  const store = new FsObjectStore(values.store);
  const random = seededRandom(7);
  const shardRows = 512;
  const shards = [];
  for (let index = 0, left = rows; left > 0; index++, left -= shardRows) {
    const count = Math.min(shardRows, left);
    const data = new Float32Array(count * maxLen * hidden);
    const labels: number[] = [];
    for (let r = 0; r < count; r++) {
      const y = random() < 0.5 ? 0 : 1;
      labels.push(y);
      for (let i = 0; i < maxLen * hidden; i++) data[r * maxLen * hidden + i] = random() - 0.5 + (i % hidden < 4 ? (y ? 0.8 : -0.8) : 0);
    }
    shards.push(await writeEmbeddingShard(store, '', index, { data, batchSize: count, maxLen, hidden }, labels, { dtype: 'float32' }));
  }
  await writeEmbeddingManifest(store, '', { modelId: 'bench/synthetic', tokenizerSha256: 'a'.repeat(64), maxLen, hidden, dtype: 'float32', datasetSha256: 'b'.repeat(64) }, shards);
  const reader = await EmbeddingStoreReader.open(store, '');
  const model = buildBiLstm({ maxLen, hidden, seed: 42 });
  const epochSeconds: number[] = [];
  const history = await trainClassifier(model, reader, {
    epochs: Number(values.epochs),
    batchSize,
    validationSplit: 0.1,
    seed: 42,
    onBatchEnd: () => {
      process.stderr.write(`${STEP_MARKER}\n`);
    },
    onEpochEnd: (epoch, logs) => {
      epochSeconds.push(logs.seconds);
      process.stderr.write(`${EPOCH_MARKER} ${epoch + 1} ${logs.seconds}\n`);
    },
  });
  const result: GpuChildResult = {
    backend: info.backend,
    package: info.package,
    tfVersion: (tf.backend() as unknown as { binding?: { TF_Version?: string } }).binding?.TF_Version ?? 'unknown',
    lstmPath: history.lstmPath,
    trainRows: history.trainRows,
    batchSize,
    epochSeconds,
  };
  model.dispose();
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
