import * as tf from '@tensorflow/tfjs-core';
import { blockRecurrent, gateScale, previousStates, recurrentBlocks, reverseTime, toGateMajor, toNatural } from './bilstm-layout.ts';
import { biLstmCustomGrad, type FusedBiLstmFn, type FusedBiLstmRun } from './bilstm-weights.ts';

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
export const fusedBiLstmGeneric: FusedBiLstmFn = (x, mask, fw, bw, options) => {
  const { returnSequences, inputGradient } = options;
  const [batch, steps, inputDim] = x.shape;
  const units = fw.recurrentKernel.shape[0];
  const width = 2 * units; // both directions' states

  const run: FusedBiLstmRun = (xs, weights, save) => {
    const [kF, rF, bF, kB, rB, bB] = weights;
    const scaleNatural = gateScale(units, 'natural');
    const kernels = tf.mul(tf.concat([kF, kB], 1), scaleNatural) as tf.Tensor2D; // [D, 8U] natural
    const biases = tf.mul(tf.concat([bF, bB]), scaleNatural);
    const recurrent = tf.mul(blockRecurrent(rF, rB, units), gateScale(units, 'gate-major')) as tf.Tensor2D; // [2U, 8U]
    const xRows = timeMajorRows(xs.forward); // [T*B, D]
    const xRowsB = xs.backward && timeMajorRows(xs.backward);
    let projected: tf.Tensor2D; // [T*B, 8U] natural
    if (xRowsB) {
      // Each direction its own input (its own dropout mask): two half-width products.
      const [kernelsF, kernelsB] = tf.split(kernels, 2, 1) as tf.Tensor2D[];
      projected = tf.add(tf.concat([tf.matMul(xRows, kernelsF), tf.matMul(xRowsB, kernelsB)], 1), biases) as tf.Tensor2D;
    } else {
      projected = tf.add(tf.matMul(xRows, kernels), biases) as tf.Tensor2D;
    }
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
    save([sigAll, hAll, cAll, xRows, kernels, recurrent, ...(maskRows ? [maskRows] : []), ...(xRowsB ? [xRowsB] : [])]);

    const shape = { batch, steps, inputDim, units, returnSequences, inputGradient, masked: maskRows !== undefined, backwardInput: xRowsB !== undefined };
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => biLstmGradients(dy, saved, shape);
    return { value, gradFunc };
  };

  return biLstmCustomGrad({ forward: x, backward: options.backwardInput }, fw, bw, inputGradient, run);
};

/** `[batch, T, D]` -> `[T * batch, D]`, time-major rows. */
export function timeMajorRows(x: tf.Tensor3D): tf.Tensor2D {
  const [batch, steps, inputDim] = x.shape;
  return tf.reshape(tf.transpose(x, [1, 0, 2]), [steps * batch, inputDim]);
}

/** Sizes and options {@link biLstmGradients} needs. */
export interface BiLstmShape {
  readonly batch: number;
  readonly steps: number;
  readonly inputDim: number;
  readonly units: number;
  readonly returnSequences: boolean;
  readonly inputGradient: boolean;
  /** `saved` holds the step mask (index 6). */
  readonly masked: boolean;
  /** `saved` ends with the backward direction's own input rows (see FusedBiLstmOptions.backwardInput). */
  readonly backwardInput: boolean;
}

/**
 * Backpropagation through time of a fused Bidirectional(LSTM), shared by both fused paths.
 * `saved` is what the forward pass kept, in the layout described at the top of this file:
 * `[S, H, C, xRows, kernels, recurrent, mask?, xRowsBackward?]` with
 * - S `[T*B, 8U]` gate-major gate activations (i, f, sigmoid(2 z_c), o),
 * - H, C `[T*B, 2U]` the states after each step (backward half in its processing order),
 * - xRows `[T*B, D]` the input, time-major,
 * - kernels `[D, 8U]` natural layout and recurrent `[2U, 8U]` block-diagonal gate-major,
 *   both with the c-gate columns scaled by 2,
 * - mask `[T*B, 2U]` (1 = real step), when masked,
 * - xRowsBackward `[T*B, D]` the backward direction's own input, when it has one.
 * Returns the gradients of (x, and the backward input when it has its own, when
 * `inputGradient`,) forward kernel, recurrent kernel, bias, backward kernel, recurrent
 * kernel, bias.
 */
export function biLstmGradients(dy: tf.Tensor, saved: tf.Tensor[], shape: BiLstmShape): tf.Tensor[] {
  const { batch, steps, inputDim, units, returnSequences, inputGradient, masked, backwardInput } = shape;
  const width = 2 * units;
  const [S, H, C, xRowsS, kernelsS, recurrentS] = saved as tf.Tensor2D[];
  const M = masked ? (saved[6] as tf.Tensor2D) : undefined;
  const xRowsB = backwardInput ? (saved[masked ? 7 : 6] as tf.Tensor2D) : undefined;
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
  const dzBRows = reverseTime(dzB as tf.Tensor2D, steps);
  const [scaleF, scaleB] = tf.split(scaleNatural, 2, 0);
  const toInput = (rows: tf.Tensor) => tf.transpose(tf.reshape(rows, [steps, batch, inputDim]), [1, 0, 2]);
  if (xRowsB) {
    // Each direction read its own input: its kernel's gradient and its input's, separately.
    const dKF = tf.mul(tf.matMul(tf.transpose(xRowsS), dzF), scaleF);
    const dKB = tf.mul(tf.matMul(tf.transpose(xRowsB), dzBRows), scaleB);
    const weightGrads = [dKF, tf.mul(dRF, scaleF), dBF, dKB, tf.mul(dRB, scaleB), dBB];
    if (!inputGradient) return weightGrads;
    const [kernelsF, kernelsB] = tf.split(kernelsS, 2, 1);
    return [toInput(tf.matMul(dzF, tf.transpose(kernelsF))), toInput(tf.matMul(dzBRows, tf.transpose(kernelsB))), ...weightGrads];
  }
  const dzRows = tf.concat([dzF, dzBRows], 1) as tf.Tensor2D; // [T*B, 8U] natural
  const [dKF, dKB] = tf.split(tf.mul(tf.matMul(tf.transpose(xRowsS), dzRows), scaleNatural), 2, 1);
  const weightGrads = [dKF, tf.mul(dRF, scaleF), dBF, dKB, tf.mul(dRB, scaleB), dBB];
  if (!inputGradient) return weightGrads;
  return [toInput(tf.matMul(dzRows, tf.transpose(kernelsS))), ...weightGrads];
}
