import * as tf from '@tensorflow/tfjs-core';
import { initTfBackend } from '../../src/classifier/tf-backend.ts';
import { buildBiLstm } from '../../src/classifier/bilstm.ts';
const maxLen = Number(process.env.ML ?? 32), hidden = Number(process.env.HID ?? 768), n = Number(process.env.N ?? 256);
const info = await initTfBackend();
const model = buildBiLstm({ maxLen, hidden, seed: 1 });
const x = tf.randomNormal([n, maxLen, hidden], 0, 1, 'float32', 3);
const y = tf.randomUniform([n, 1], 0, 1, 'float32', 4).greater(0.5).cast('float32');
for (let e = 0; e < 2; e++) {
  const t0 = performance.now();
  await model.fit(x, y, { epochs: 1, batchSize: 32, shuffle: false, verbose: 0 });
  console.log(JSON.stringify({ ...info, maxLen, hidden, n, epoch: e, seconds: ((performance.now() - t0) / 1000).toFixed(2) }));
}
