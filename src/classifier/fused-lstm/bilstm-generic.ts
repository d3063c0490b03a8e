import * as tf from '@tensorflow/tfjs-core';
import { biLstmCustomGrad, type FusedBiLstmOptions, type FusedBiLstmRun, type LstmDirectionWeights } from './bilstm-weights.ts';

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
function gateScale(units: number, layout: 'natural' | 'gate-major'): tf.Tensor1D {
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
function reverseTime(x: tf.Tensor2D, steps: number): tf.Tensor2D {
  if (steps === 1) return x;
  return tf.concat(tf.split(x, steps, 0).reverse(), 0) as tf.Tensor2D;
}

/** Row blocks moved one step later, zeros first: the state each step started from. */
function previousStates(all: tf.Tensor2D, steps: number, batch: number): tf.Tensor2D {
  const width = all.shape[1];
  if (steps === 1) return tf.zeros([batch, width]);
  return tf.concat([tf.zeros([batch, width]), tf.slice(all, [0, 0], [(steps - 1) * batch, width])], 0);
}

/** `[rows, 8U]` natural layout (forward i f c o, backward i f c o) -> gate-major. */
function toGateMajor(x: tf.Tensor2D, units: number): tf.Tensor2D {
  const rows = x.shape[0];
  return tf.reshape(tf.transpose(tf.reshape(x, [rows, 2, 4, units]), [0, 2, 1, 3]), [rows, 8 * units]);
}

/** `[rows, 8U]` gate-major -> natural layout. */
function toNatural(x: tf.Tensor2D, units: number): tf.Tensor2D {
  const rows = x.shape[0];
  return tf.reshape(tf.transpose(tf.reshape(x, [rows, 4, 2, units]), [0, 2, 1, 3]), [rows, 8 * units]);
}

/** Block-diagonal gate-major recurrent kernel [2U, 8U] from the two directions' [U, 4U]. */
function blockRecurrent(rF: tf.Tensor, rB: tf.Tensor, units: number): tf.Tensor2D {
  const zeros = tf.zeros([units, 4 * units]);
  const forwardRows = tf.concat([rF, zeros], 1); // [U, 8U] natural: only forward columns
  const backwardRows = tf.concat([zeros, rB], 1);
  return toGateMajor(tf.concat([forwardRows, backwardRows], 0) as tf.Tensor2D, units);
}

/** The two directions' [U, 4U] blocks of a block-diagonal gate-major [2U, 8U] gradient. */
function recurrentBlocks(full: tf.Tensor2D, units: number): [tf.Tensor2D, tf.Tensor2D] {
  const natural = toNatural(full, units); // [2U, 8U]: rows [forward | backward], columns [forward | backward]
  return [tf.slice(natural, [0, 0], [units, 4 * units]), tf.slice(natural, [units, 4 * units], [units, 4 * units])];
}

/**
 * The recipe's `Bidirectional(LSTM(units, activation='tanh', recurrent_activation='sigmoid'))`
 * (Keras' `merge_mode='concat'`, zero initial state), fused for backends without a fused
 * LSTM kernel (wasm, cpu, webgl), written in tfjs-core ops:
 *
 * - the input projection of every time step and both directions is ONE matMul
 *   (`[maxLen * batch, inputDim] x [inputDim, 8 * units]`);
 * - the recurrence runs both directions at once (one matMul and one sigmoid per step, about
 *   12 small ops);
 * - the backward pass (BPTT) is hand-written: per step only the `dz x R^T` product and
 *   elementwise math; the weight and input gradients are again single large matMuls over
 *   all time steps.
 *
 * Masking follows tfjs-layers' `rnn()` (and Keras): at a masked step the state and the
 * output keep their previous values. The backward direction processes the time-reversed
 * sequence with the time-reversed mask, as `go_backwards` does.
 *
 * Proven equal to the tfjs-layers Bidirectional(LSTM) (outputs and the gradients of every
 * weight) in test/classifier/fused-lstm.*.test.ts.
 */
export function fusedBiLstmGeneric(
  x: tf.Tensor3D,
  mask: tf.Tensor | undefined,
  fw: LstmDirectionWeights,
  bw: LstmDirectionWeights,
  options: FusedBiLstmOptions,
): tf.Tensor {
  const { returnSequences, inputGradient } = options;
  const [batch, steps, inputDim] = x.shape;
  const units = fw.recurrentKernel.shape[0];
  const width = 2 * units; // both directions' states

  const run: FusedBiLstmRun = (xIn, weights, save) => {
    const [kF, rF, bF, kB, rB, bB] = weights;
    const scaleNatural = gateScale(units, 'natural');
    const kernels = tf.mul(tf.concat([kF, kB], 1), scaleNatural) as tf.Tensor2D; // [D, 8U] natural
    const biases = tf.mul(tf.concat([bF, bB]), scaleNatural);
    const recurrent = tf.mul(blockRecurrent(rF, rB, units), gateScale(units, 'gate-major')) as tf.Tensor2D; // [2U, 8U]
    const xRows = tf.reshape(tf.transpose(xIn, [1, 0, 2]), [steps * batch, inputDim]) as tf.Tensor2D; // time-major rows
    const projected = tf.add(tf.matMul(xRows, kernels), biases) as tf.Tensor2D; // [T*B, 8U] natural
    const [pF, pB] = tf.split(projected, 2, 1);
    const inputSteps = tf.split(toGateMajor(tf.concat([pF, reverseTime(pB as tf.Tensor2D, steps)], 1) as tf.Tensor2D, units), steps, 0);
    // Per-step masks [B, 2U]: the forward half at time t, the backward half at time T-1-t.
    let maskRows: tf.Tensor2D | undefined;
    let maskSteps: tf.Tensor[] | undefined;
    if (mask) {
      const m = tf.reshape(tf.transpose(tf.cast(tf.cast(mask, 'bool'), 'float32'), [1, 0]), [steps * batch, 1]) as tf.Tensor2D;
      maskRows = tf.concat([tf.tile(m, [1, units]), tf.tile(reverseTime(m, steps), [1, units])], 1) as tf.Tensor2D;
      maskSteps = tf.split(maskRows, steps, 0);
    }

    let h: tf.Tensor = tf.zeros([batch, width]);
    let c: tf.Tensor = tf.zeros([batch, width]);
    const sigs: tf.Tensor[] = [];
    const hs: tf.Tensor[] = [];
    const cs: tf.Tensor[] = [];
    for (let t = 0; t < steps; t++) {
      const sig = tf.sigmoid(tf.add(inputSteps[t], tf.matMul(h, recurrent))); // [B, 8U]
      const [i, f, gs, o] = tf.split(sig, 4, 1);
      const g = tf.sub(tf.mul(gs, 2), 1); // tanh of the c-gate pre-activation
      let cNew = tf.add(tf.mul(f, c), tf.mul(i, g));
      let hNew = tf.mul(o, tf.tanh(cNew));
      if (maskSteps) {
        const m = maskSteps[t];
        cNew = tf.add(c, tf.mul(m, tf.sub(cNew, c)));
        hNew = tf.add(h, tf.mul(m, tf.sub(hNew, h)));
      }
      sigs.push(sig);
      h = hNew;
      c = cNew;
      hs.push(h);
      cs.push(c);
    }
    const sigAll = tf.concat(sigs, 0) as tf.Tensor2D; // [T*B, 8U]
    const hAll = tf.concat(hs, 0) as tf.Tensor2D; // [T*B, 2U], states after each step
    const cAll = tf.concat(cs, 0) as tf.Tensor2D;

    let value: tf.Tensor;
    if (returnSequences) {
      const [hF, hB] = tf.split(hAll, 2, 1);
      const rows = tf.concat([hF, reverseTime(hB as tf.Tensor2D, steps)], 1); // input time order
      value = tf.transpose(tf.reshape(rows, [steps, batch, width]), [1, 0, 2]);
    } else {
      value = h; // [forward final | backward final], Keras' concat order
    }
    save([sigAll, hAll, cAll, xRows, kernels, recurrent, ...(maskRows ? [maskRows] : [])]);

    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor[] => {
      const [S, H, C, xRowsS, kernelsS, recurrentS, M] = saved as tf.Tensor2D[];
      // Everything that does not depend on the recurrence, for all steps at once.
      const hPrev = previousStates(H, steps, batch);
      const cPrev = previousStates(C, steps, batch);
      const [I, F, GS, O] = tf.split(S, 4, 1);
      const G = tf.sub(tf.mul(GS, 2), 1);
      const tanhC = tf.tanh(tf.add(tf.mul(F, cPrev), tf.mul(I, G))); // tanh of each step's unmasked new cell
      const dcFromDh = tf.split(tf.mul(O, tf.sub(1, tf.square(tanhC))), steps, 0); // through h = o * tanh(c)
      // dz = [dc, dc, dc, dh] * factor: each gate's partner times d(activation)/d(pre-activation)
      // (the c gate's activation is sigmoid(2z): its 2 is in the factor).
      const factor = tf.split(tf.mul(tf.concat([G, cPrev, tf.mul(I, 2), tanhC], 1), tf.mul(S, tf.sub(1, S))), steps, 0);
      const forget = tf.split(F, steps, 0);
      const maskSteps = M ? tf.split(M, steps, 0) : undefined;
      const keepSteps = M ? tf.split(tf.sub(1, M), steps, 0) : undefined;

      // dL/dh of each step's output [B, 2U] (backward half in its processing order).
      let outputGrads: tf.Tensor[] | undefined;
      let dh: tf.Tensor;
      if (returnSequences) {
        const rows = tf.reshape(tf.transpose(dy, [1, 0, 2]), [steps * batch, width]) as tf.Tensor2D;
        const [dF, dB] = tf.split(rows, 2, 1);
        outputGrads = tf.split(tf.concat([dF, reverseTime(dB as tf.Tensor2D, steps)], 1), steps, 0);
        dh = tf.zeros([batch, width]);
      } else {
        dh = dy; // [B, 2U]: the final states'
      }
      const recurrentT = tf.transpose(recurrentS); // [8U, 2U]
      let dc: tf.Tensor = tf.zeros([batch, width]);
      const dz: tf.Tensor[] = new Array(steps);
      for (let t = steps - 1; t >= 0; t--) {
        let dhStep = outputGrads ? tf.add(dh, outputGrads[t]) : dh;
        let dcStep = dc;
        let dhCarry: tf.Tensor | undefined;
        let dcCarry: tf.Tensor | undefined;
        if (maskSteps && keepSteps) {
          dhCarry = tf.mul(dhStep, keepSteps[t]);
          dcCarry = tf.mul(dcStep, keepSteps[t]);
          dhStep = tf.mul(dhStep, maskSteps[t]);
          dcStep = tf.mul(dcStep, maskSteps[t]);
        }
        dcStep = tf.add(dcStep, tf.mul(dhStep, dcFromDh[t]));
        const dzStep = tf.mul(tf.concat([dcStep, dcStep, dcStep, dhStep], 1), factor[t]); // [B, 8U] gate-major
        dz[t] = dzStep;
        dh = tf.matMul(dzStep, recurrentT);
        dc = tf.mul(dcStep, forget[t]);
        if (dhCarry) dh = tf.add(dh, dhCarry);
        if (dcCarry) dc = tf.add(dc, dcCarry);
      }
      const dzAll = tf.concat(dz, 0) as tf.Tensor2D; // [T*B, 8U] gate-major, processing order
      const scaleNatural = gateScale(units, 'natural');
      const [dRF, dRB] = recurrentBlocks(tf.matMul(tf.transpose(hPrev), dzAll), units);
      const dBias = tf.mul(tf.reshape(toNatural(tf.matMul(tf.ones([1, steps * batch]), dzAll), units), [8 * units]), scaleNatural);
      const [dBF, dBB] = tf.split(dBias, 2, 0);
      // Back to the input's time order: the backward direction's rows reversed again.
      const [dzF, dzB] = tf.split(toNatural(dzAll, units), 2, 1);
      const dzRows = tf.concat([dzF, reverseTime(dzB as tf.Tensor2D, steps)], 1) as tf.Tensor2D; // [T*B, 8U] natural
      const [dKF, dKB] = tf.split(tf.mul(tf.matMul(tf.transpose(xRowsS), dzRows), scaleNatural), 2, 1);
      const weightGrads = [dKF, tf.mul(dRF, tf.slice(scaleNatural, 0, 4 * units)), dBF, dKB, tf.mul(dRB, tf.slice(scaleNatural, 4 * units, 4 * units)), dBB];
      if (!inputGradient) return weightGrads;
      const dx = tf.transpose(tf.reshape(tf.matMul(dzRows, tf.transpose(kernelsS)), [steps, batch, inputDim]), [1, 0, 2]);
      return [dx, ...weightGrads];
    };
    return { value, gradFunc };
  };

  return biLstmCustomGrad(x, fw, bw, inputGradient, run);
}
