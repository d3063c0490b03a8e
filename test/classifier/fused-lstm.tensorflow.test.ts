// The fused-vs-layers equivalence suite on the tensorflow backend (tfjs-node built by
// scripts/install-tensorflow-backend.sh): TF's BlockLSTMV2 kernels against tfjs-layers.
// Skipped, with the reason, where tfjs-node is not installed; CI requires it.
import { expect, it } from 'vitest';
import { describeOnBackend } from '../helpers/tf-backends.ts';
import { fusedLstmEquivalenceSuite } from './fused-lstm-suite.ts';

describeOnBackend('tensorflow', 'fused LSTM = tfjs-layers LSTM', (backendInfo) => {
  it('runs on tfjs-node', () => {
    expect(backendInfo().package).toBe('@tensorflow/tfjs-node');
  });
  fusedLstmEquivalenceSuite('fused-tensorflow');
});
