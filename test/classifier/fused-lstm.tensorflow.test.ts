// The fused-vs-layers equivalence suite on the tensorflow backend (tfjs-node built by
// scripts/install-tensorflow-backend.sh): TF's BlockLSTMV2 kernels against tfjs-layers.
// Skipped, with the reason, where tfjs-node is not installed; CI requires it.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { expect, it } from 'vitest';
import { useFusedLstm } from '../../src/classifier/fused-lstm/use-fused-lstm.ts';
import { startKernelCount } from '../../src/classifier/kernel-count.ts';
import { describeOnBackend } from '../helpers/tf-backends.ts';
import { fusedLstmEquivalenceSuite } from './fused-lstm-suite.ts';

describeOnBackend('tensorflow', 'fused LSTM = tfjs-layers LSTM', (backendInfo) => {
  it('runs on tfjs-node', () => {
    expect(backendInfo().package).toBe('@tensorflow/tfjs-node');
  });
  fusedLstmEquivalenceSuite('fused-tensorflow');
});

describeOnBackend('tensorflow', 'TF op launches of one training step of a fused layer', () => {
  /** TF ops of one forward + backward pass of one Bidirectional(LSTM(6)) layer at `maxLen`. */
  function opsPerStep(maxLen: number, returnSequences: boolean, backward: 'cell' | 'sequence'): number {
    const model = tfl.sequential({ layers: [tfl.layers.bidirectional({ layer: tfl.layers.lstm({ units: 6, returnSequences, recurrentActivation: 'sigmoid' }), inputShape: [maxLen, 12] })] });
    const x = tf.randomNormal([4, maxLen, 12]) as tf.Tensor3D;
    const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const fused = useFusedLstm(model, { mode: 'fused' });
    process.env.SIMPAIR_LSTM_BACKWARD = backward;
    try {
      const run = () => {
        const { value, grads } = tf.variableGrads(() => tf.sum(model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, variables);
        tf.dispose([value, ...Object.values(grads)]);
      };
      run(); // warm-up
      const count = startKernelCount();
      run();
      return count.stop().tensorflowOps!;
    } finally {
      delete process.env.SIMPAIR_LSTM_BACKWARD;
      fused.restore();
      x.dispose();
      model.dispose();
    }
  }

  it('sequence backward (BlockLSTMGradV2): as many TF ops at maxLen 64 as at maxLen 8', () => {
    for (const rs of [false, true]) expect(opsPerStep(64, rs, 'sequence')).toBe(opsPerStep(8, rs, 'sequence'));
  });

  it('cell backward (LSTMBlockCellGrad): 2 TF ops per time step, 3 with per-step outputs, for both directions together', () => {
    expect(opsPerStep(64, false, 'cell') - opsPerStep(8, false, 'cell')).toBe(2 * 56);
    expect(opsPerStep(64, true, 'cell') - opsPerStep(8, true, 'cell')).toBe(3 * 56);
  });
});
