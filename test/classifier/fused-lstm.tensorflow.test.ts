// The fused-vs-layers equivalence suite on the tensorflow backend (tfjs-node built by
// scripts/install-tensorflow-backend.sh): TF's BlockLSTMV2 kernels against tfjs-layers.
// Skipped, with the reason, where tfjs-node is not installed.
import { describe, expect, it } from 'vitest';
import { initTfBackend } from '../../src/classifier/tf-backend.ts';
import { fusedLstmEquivalenceSuite } from './fused-lstm-suite.ts';

process.env.SIMPAIR_TF_BACKEND = 'node';
const available = await initTfBackend().then(
  (info) => info.backend === 'tensorflow',
  (err: unknown) => {
    console.warn(`fused-lstm.tensorflow: skipped, the tensorflow backend is not installed (${(err as Error).message.split('\n')[0]}); run scripts/install-tensorflow-backend.sh`);
    return false;
  },
);

describe.skipIf(!available)('on the tensorflow backend', () => {
  it('runs on tfjs-node', async () => {
    expect((await initTfBackend()).backend).toBe('tensorflow');
  });
  fusedLstmEquivalenceSuite('fused-tensorflow');
});
