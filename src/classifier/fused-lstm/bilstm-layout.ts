import * as tf from '@tensorflow/tfjs-core';

/*
 * Layout. Both directions run in one set of 2-D tensors:
 * - states h, c: [batch, 2U] = [forward | backward];
 * - gate pre-activations per step: [batch, 8U] "gate-major": i, f, c, o blocks of 2U, each
 *   [forward | backward], so that splitting into 4 gives each gate for both directions and
 *   `c = f * c + i * g` runs on [batch, 2U] at once;
 * - the recurrent kernel is block-diagonal [2U, 8U]: one plain matMul per step for both
 *   directions (twice the multiply-adds of two [U, 4U] products, but a single call to a
 *   fast 2-D kernel; the backend's batched and transposed matMuls are far slower on wasm);
 * - all time steps are stacked as rows, time-major: [maxLen * batch, width]; the
 *   backward direction's rows are in its processing order (time reversed).
 * Only 2-D matMuls without transpose flags are used: on tfjs-backend-wasm 4.22 only those
 * reach XNNPACK (a transposed [2048, 384] x [2048, 512] product took 4.6 s, the plain
 * one 80 ms).
 */

/**
 * `[8U]` column scale: 2 on the c-gate block, 1 elsewhere. Scaling the c-gate
 * pre-activation by 2 lets ONE sigmoid serve all four gates, since
 * `tanh(z) = 2 * sigmoid(2z) - 1`; the scale is folded into the weights once per call.
 */
export function gateScale(units: number, layout: 'natural' | 'gate-major'): tf.Tensor1D {
  const scale = new Float32Array(8 * units).fill(1);
  if (layout === 'natural') {
    scale.fill(2, 2 * units, 3 * units); // [forward i f c o | backward i f c o]
    scale.fill(2, 6 * units, 7 * units);
  } else {
    scale.fill(2, 4 * units, 6 * units); // [i i | f f | c c | o o]
  }
  return tf.tensor1d(scale);
}

/** Reverses the order of the `steps` row blocks of a `[steps * batch, width]` tensor. */
export function reverseTime(x: tf.Tensor2D, steps: number): tf.Tensor2D {
  if (steps === 1) return x;
  return tf.concat(tf.split(x, steps, 0).reverse(), 0) as tf.Tensor2D;
}

/** Row blocks moved one step later, zeros first: the state each step started from. */
export function previousStates(all: tf.Tensor2D, steps: number, batch: number): tf.Tensor2D {
  const width = all.shape[1];
  if (steps === 1) return tf.zeros([batch, width]);
  return tf.concat([tf.zeros([batch, width]), tf.slice(all, [0, 0], [(steps - 1) * batch, width])], 0);
}

/** `[rows, 8U]` natural layout (forward i f c o, backward i f c o) -> gate-major. */
export function toGateMajor(x: tf.Tensor2D, units: number): tf.Tensor2D {
  const rows = x.shape[0];
  return tf.reshape(tf.transpose(tf.reshape(x, [rows, 2, 4, units]), [0, 2, 1, 3]), [rows, 8 * units]);
}

/** `[rows, 8U]` gate-major -> natural layout. */
export function toNatural(x: tf.Tensor2D, units: number): tf.Tensor2D {
  const rows = x.shape[0];
  return tf.reshape(tf.transpose(tf.reshape(x, [rows, 4, 2, units]), [0, 2, 1, 3]), [rows, 8 * units]);
}

/** Block-diagonal gate-major recurrent kernel [2U, 8U] from the two directions' [U, 4U]. */
export function blockRecurrent(rF: tf.Tensor, rB: tf.Tensor, units: number): tf.Tensor2D {
  const zeros = tf.zeros([units, 4 * units]);
  const forwardRows = tf.concat([rF, zeros], 1); // [U, 8U] natural: only forward columns
  const backwardRows = tf.concat([zeros, rB], 1);
  return toGateMajor(tf.concat([forwardRows, backwardRows], 0) as tf.Tensor2D, units);
}

/** The two directions' [U, 4U] blocks of a block-diagonal gate-major [2U, 8U] gradient. */
export function recurrentBlocks(full: tf.Tensor2D, units: number): [tf.Tensor2D, tf.Tensor2D] {
  const natural = toNatural(full, units); // [2U, 8U]: rows [forward | backward], columns [forward | backward]
  return [tf.slice(natural, [0, 0], [units, 4 * units]), tf.slice(natural, [units, 4 * units], [units, 4 * units])];
}
