import * as tf from '@tensorflow/tfjs-core';
import { biLstmCustomGrad, type FusedBiLstmOptions, type FusedBiLstmRun, type LstmDirectionWeights } from './bilstm-weights.ts';

/**
 * `[4 * units]` column scale `1, 1, 2, 1` (per gate block i, f, c, o). Scaling the c-gate
 * pre-activation by 2 lets ONE sigmoid serve all four gates, since
 * `tanh(z) = 2 * sigmoid(2 * z) - 1`; the scale is folded into the weights once per call.
 */
function gateScale(units: number): tf.Tensor1D {
  const scale = new Float32Array(4 * units).fill(1);
  scale.fill(2, 2 * units, 3 * units);
  return tf.tensor1d(scale);
}

/** `[T, B, ...]` forward-direction steps and the backward direction's, reversed in time, stacked as `[T, 2, B, ...]`. */
function stackDirectionsTimeMajor(forward: tf.Tensor, backward: tf.Tensor): tf.Tensor {
  return tf.stack([forward, tf.reverse(backward, 0)], 1);
}

/**
 * The recipe's `Bidirectional(LSTM(units, activation='tanh', recurrent_activation='sigmoid'))`
 * (Keras' `merge_mode='concat'`, zero initial state), fused for backends without a fused
 * LSTM kernel (wasm, cpu, webgl), written in tfjs-core ops:
 *
 * - the input projection of every time step and both directions is ONE matMul
 *   (`[maxLen * batch, inputDim] x [inputDim, 2 * 4 * units]`);
 * - the recurrence runs both directions at once (a batched `[2, batch, units] x
 *   [2, units, 4 * units]` product and one sigmoid per step, about 12 small ops);
 * - the backward pass (BPTT) is hand-written: per step only the `dz x R^T` product and
 *   elementwise math; the weight and input gradients are again single large matMuls over
 *   all time steps.
 *
 * Masking follows tfjs-layers' `rnn()` (and Keras): at a masked step the state and the
 * output keep their previous values. The backward direction processes the time-reversed
 * sequence with the time-reversed mask, as `go_backwards` does.
 *
 * Proven equal to the tfjs-layers Bidirectional(LSTM) (outputs and the gradients of every
 * weight) in test/classifier/fused-lstm.test.ts.
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
  const gates = 4 * units;

  const run: FusedBiLstmRun = (xIn, weights, save) => {
    const [kF, rF, bF, kB, rB, bB] = weights;
    const scale = gateScale(units);
    const kernels = tf.concat([tf.mul(kF, scale), tf.mul(kB, scale)], 1) as tf.Tensor2D; // [D, 2G]
    const recurrent = tf.stack([tf.mul(rF, scale), tf.mul(rB, scale)]) as tf.Tensor3D; // [2, U, G]
    const biases = tf.concat([tf.mul(bF, scale), tf.mul(bB, scale)]); // [2G]
    const xFlat = tf.reshape(tf.transpose(xIn, [1, 0, 2]), [steps * batch, inputDim]); // [T*B, D]
    const projected = tf.reshape(tf.add(tf.matMul(xFlat, kernels), biases), [steps, batch, 2, gates]);
    const [pF, pB] = tf.unstack(tf.transpose(projected, [2, 0, 1, 3])); // 2 x [T, B, G]
    const inputSteps = tf.unstack(stackDirectionsTimeMajor(pF, pB)); // T x [2, B, G]
    // Time-major per-direction mask [T, 2, B, 1], the backward direction reversed in time.
    let maskAll: tf.Tensor | undefined;
    let maskSteps: tf.Tensor[] | undefined;
    if (mask) {
      const m = tf.transpose(tf.cast(tf.cast(mask, 'bool'), 'float32'), [1, 0]); // [T, B]
      maskAll = tf.expandDims(stackDirectionsTimeMajor(m, m), -1);
      maskSteps = tf.unstack(maskAll);
    }

    let h: tf.Tensor = tf.zeros([2, batch, units]);
    let c: tf.Tensor = tf.zeros([2, batch, units]);
    const sigs: tf.Tensor[] = [];
    const hs: tf.Tensor[] = [];
    const cs: tf.Tensor[] = [];
    for (let t = 0; t < steps; t++) {
      const sig = tf.sigmoid(tf.add(inputSteps[t], tf.matMul(h, recurrent))); // [2, B, G]
      const [i, f, gs, o] = tf.split(sig, 4, 2);
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
    const sigAll = tf.stack(sigs); // [T, 2, B, G]
    const hAll = tf.stack(hs); // [T, 2, B, U], states after each step
    const cAll = tf.stack(cs);

    let value: tf.Tensor;
    if (returnSequences) {
      const [oF, oB] = tf.unstack(tf.transpose(hAll, [1, 2, 0, 3])); // [B, T, U] each, backward in processing order
      value = tf.concat([oF, tf.reverse(oB, 1)], 2);
    } else {
      const [hF, hB] = tf.unstack(h);
      value = tf.concat([hF, hB], 1);
    }
    save([sigAll, hAll, cAll, xFlat, kernels, recurrent, ...(maskAll ? [maskAll] : [])]);

    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor[] => {
      const [S, H, C, xFlatS, kernelsS, recurrentS, M] = saved;
      // Everything that does not depend on the recurrence, for all steps at once.
      const shift = (all: tf.Tensor) => tf.concat([tf.zeros([1, 2, batch, units]), tf.slice(all, [0, 0, 0, 0], [steps - 1, 2, batch, units])]);
      const hPrev = shift(H);
      const cPrev = shift(C);
      const [I, F, GS, O] = tf.split(S, 4, 3);
      const G = tf.sub(tf.mul(GS, 2), 1);
      const tanhC = tf.tanh(tf.add(tf.mul(F, cPrev), tf.mul(I, G))); // tanh of each step's unmasked new cell
      const dcFromDh = tf.unstack(tf.mul(O, tf.sub(1, tf.square(tanhC)))); // dc/dh through h = o * tanh(c)
      // dz = [dc, dc, dc, dh] * factor: d(activation)/d(pre-activation) times each gate's partner
      // (the c gate's activation is sigmoid(2z): its 2 is in the factor).
      const factor = tf.unstack(tf.mul(tf.concat([G, cPrev, tf.mul(I, 2), tanhC], 3), tf.mul(S, tf.sub(1, S))));
      const forget = tf.unstack(F);
      const maskSteps = M ? tf.unstack(M) : undefined;
      const keepSteps = M ? tf.unstack(tf.sub(1, M)) : undefined;

      // dL/dh of each step's output, time-major [2, B, U] (backward direction in its processing order).
      let outputGrads: tf.Tensor[] | undefined;
      let lastGrad: tf.Tensor | undefined;
      if (returnSequences) {
        const [dF, dB] = tf.split(tf.transpose(dy, [1, 0, 2]), 2, 2); // [T, B, U] each
        outputGrads = tf.unstack(stackDirectionsTimeMajor(dF, dB));
      } else {
        lastGrad = tf.stack(tf.split(dy, 2, 1)); // [2, B, U]
      }
      const recurrentT = tf.transpose(recurrentS, [0, 2, 1]); // [2, G, U]
      let dh: tf.Tensor = lastGrad ?? tf.zeros([2, batch, units]);
      let dc: tf.Tensor = tf.zeros([2, batch, units]);
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
        const dzStep = tf.mul(tf.concat([dcStep, dcStep, dcStep, dhStep], 2), factor[t]); // [2, B, G]
        dz[t] = dzStep;
        dh = tf.matMul(dzStep, recurrentT);
        dc = tf.mul(dcStep, forget[t]);
        if (dhCarry) dh = tf.add(dh, dhCarry);
        if (dcCarry) dc = tf.add(dc, dcCarry);
      }
      const dzByDir = tf.transpose(tf.stack(dz), [1, 0, 2, 3]); // [2, T, B, G]
      const dzFlatByDir = tf.reshape(dzByDir, [2, steps * batch, gates]);
      const hByDir = tf.reshape(tf.transpose(hPrev, [1, 0, 2, 3]), [2, steps * batch, units]);
      const scaleS = gateScale(units);
      const dRecurrent = tf.mul(tf.matMul(hByDir, dzFlatByDir, true, false), scaleS); // [2, U, G]
      const dBias = tf.mul(tf.sum(dzFlatByDir, 1), scaleS); // [2, G]
      // Back to the input's time order: the backward direction's steps reversed again.
      const [dzF, dzB] = tf.unstack(dzByDir); // [T, B, G] each
      const dzFlat = tf.reshape(tf.concat([dzF, tf.reverse(dzB, 0)], 2), [steps * batch, 2 * gates]);
      const [dKF, dKB] = tf.split(tf.matMul(xFlatS, dzFlat, true, false), 2, 1); // [D, G] each
      const [dRF, dRB] = tf.unstack(dRecurrent);
      const [dBF, dBB] = tf.unstack(dBias);
      const weightGrads = [tf.mul(dKF, scaleS), dRF, dBF, tf.mul(dKB, scaleS), dRB, dBB];
      if (!inputGradient) return weightGrads;
      const dx = tf.transpose(tf.reshape(tf.matMul(dzFlat, kernelsS, false, true), [steps, batch, inputDim]), [1, 0, 2]);
      return [dx, ...weightGrads];
    };
    return { value, gradFunc };
  };

  return biLstmCustomGrad(x, fw, bw, inputGradient, run);
}
