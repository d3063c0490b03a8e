import * as tf from '@tensorflow/tfjs-core';

/** Kernels with boolean outputs that a masked head computes from BERT's hidden states, and their inputs. */
const BOOLEAN_KERNELS: Record<string, readonly string[]> = { Any: ['x'], All: ['x'], NotEqual: ['a', 'b'], Equal: ['a', 'b'] };

/**
 * Registers a zero gradient for the boolean kernels tfjs has none for. A `Masking` layer
 * computes its mask as `any(notEqual(x, 0))` on its input; with a frozen encoder that input
 * needs no gradient, but a fine-tuned encoder's hidden states do, and tfjs' tape then fails
 * with "gradient function not found for Any". The mask is piecewise constant in `x`, so its
 * gradient is zero, as TensorFlow declares it (`ops.NotDifferentiable`). Idempotent.
 */
export function ensureBooleanGradients(): void {
  for (const [kernelName, inputs] of Object.entries(BOOLEAN_KERNELS)) {
    if (tf.getGradient(kernelName) !== undefined) continue;
    tf.registerGradient({
      kernelName,
      inputsToSave: [...inputs],
      gradFunc: (_dy, saved) => Object.fromEntries(inputs.map((name, i) => [name, () => tf.zeros(saved[i].shape, 'float32')])),
    });
  }
}
