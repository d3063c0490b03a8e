import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { COMPILE_CONFIG, buildBiLstm, type BiLstmOptions } from '../../src/classifier/index.ts';

/**
 * The recipe's Bi-LSTM with a `Masking(maskValue: 0)` layer in front, for the accuracy
 * report's "dynamic padding, masked" variant (src/classifier stays unchanged). It reuses the
 * layers of {@link buildBiLstm} with the same seed, so it starts from the very same weights
 * as the unmasked model and the two differ only by the mask.
 */
export function buildMaskedBiLstm(options: BiLstmOptions): tfl.LayersModel {
  const base = buildBiLstm(options);
  let model: tfl.LayersModel | undefined;
  tf.tidy(() => {
    const input = tfl.input({ shape: [options.maxLen, options.hidden] });
    let x = tfl.layers.masking({ maskValue: 0 }).apply(input) as tfl.SymbolicTensor;
    for (const layer of base.layers) x = layer.apply(x) as tfl.SymbolicTensor;
    model = tfl.model({ inputs: input, outputs: x, name: 'simpair_bilstm_masked' });
    model.compile({ ...COMPILE_CONFIG, metrics: [...COMPILE_CONFIG.metrics] });
  });
  return model as tfl.LayersModel;
}
