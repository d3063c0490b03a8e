import * as tf from '@tensorflow/tfjs-core';

let installed = false;

/**
 * Replaces tfjs-core 4.22's `Unpack` gradient, which fails for an axis of size 1: the tape
 * hands a single-output op's gradient over as a Tensor, not a Tensor[], and `stack(dy)`
 * throws "Argument tensors passed to stack must be a `Tensor[]`". tfjs-layers' LSTM
 * unstacks the time axis, so any LSTM with `maxLen` 1 could not be trained. Idempotent;
 * called by initTfBackend.
 */
export function ensureGradientFixes(): void {
  if (installed) return;
  installed = true;
  tf.registerGradient({
    kernelName: tf.Unpack,
    gradFunc: (dy: tf.Tensor | tf.Tensor[], _saved: tf.Tensor[], attrs: tf.NamedAttrMap) => {
      const { axis } = attrs as unknown as tf.UnpackAttrs;
      return { value: () => tf.stack(Array.isArray(dy) ? dy : [dy], axis) };
    },
  });
}
