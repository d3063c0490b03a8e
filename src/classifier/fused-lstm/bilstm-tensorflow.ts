import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import { SimpairError } from '../../errors.ts';
import { tfBackendInfo } from '../tf-backend.ts';
import { biLstmGradients } from './bilstm-generic.ts';
import { blockRecurrent, gateScale } from './bilstm-layout.ts';
import { biLstmCustomGrad, type FusedBiLstmFn, type FusedBiLstmRun, type TensorflowBackward } from './bilstm-weights.ts';

/** The part of tfjs-node's `NodeJSKernelBackend` used here: TF eager op execution by name. */
interface TensorflowBackend {
  readonly binding: { readonly TF_ATTR_TYPE: number; readonly TF_ATTR_BOOL: number; readonly TF_ATTR_FLOAT: number; readonly TF_FLOAT: number };
  executeMultipleOutputs(name: string, attrs: OpAttr[], inputs: unknown[], numOutputs: number): tf.Tensor[];
}

interface OpAttr {
  name: string;
  type: number;
  value: number | boolean;
}

type Int64ScalarClass = new (value: number) => unknown;
let int64Scalar: Int64ScalarClass | undefined;

/** tfjs-node's own Int64Scalar class (its backend recognises inputs with `instanceof`). */
function int64ScalarClass(): Int64ScalarClass {
  if (int64Scalar) return int64Scalar;
  const pkg = tfBackendInfo()?.package;
  if (!pkg?.startsWith('@tensorflow/tfjs-node')) {
    throw new SimpairError(`The fused TensorFlow LSTM needs the tensorflow backend of @tensorflow/tfjs-node(-gpu); the backend in use is ${pkg ?? 'not initialised'}.`);
  }
  const require = createRequire(import.meta.url);
  int64Scalar = (require(`${pkg}/dist/int64_tensors.js`) as { Int64Scalar: Int64ScalarClass }).Int64Scalar;
  return int64Scalar;
}

function tensorflowBackend(): TensorflowBackend {
  const backend = tf.backend() as unknown as Partial<TensorflowBackend>;
  if (tf.getBackend() !== 'tensorflow' || typeof backend.executeMultipleOutputs !== 'function') {
    throw new SimpairError(`fusedBiLstmTensorflow needs the tensorflow backend; the backend in use is ${tf.getBackend()}.`);
  }
  return backend as TensorflowBackend;
}

/** The outputs of BlockLSTMV2, each `[T, B, units]`, in op order. */
const BLOCK_LSTM_OUTPUTS = ['i', 'cs', 'f', 'o', 'ci', 'co', 'h'] as const;

/**
 * `Bidirectional(LSTM)` on TensorFlow's fused kernels: one `BlockLSTMV2` op per direction
 * forward, executed eagerly through tfjs-node's backend, and backward either one
 * `LSTMBlockCellGrad` + one matMul per time step for both directions ({@link cellGradients})
 * or one `BlockLSTMGradV2` per direction ({@link sequenceGradients}), chosen by
 * {@link tensorflowBackward}; in `tf.customGrad` over the layer's own variables.
 *
 * BlockLSTMV2 is Keras' LSTM cell exactly: gate order i, f, c, o, sigmoid gates, tanh,
 * no forget bias added by the op (Keras' unit forget bias lives in the bias variable), no
 * peepholes, no cell clip. Time-major input; the backward direction runs on the
 * time-reversed sequence, as `go_backwards`. TF registers CPU and GPU kernels for both
 * ops, so tfjs-node-gpu runs this on the GPU unchanged (not tested on a GPU here).
 *
 * No mask input: masked sequences use {@link fusedBiLstmGeneric} instead.
 */
export const fusedBiLstmTensorflow: FusedBiLstmFn = (x, mask, fw, bw, options) => {
  if (mask !== undefined) throw new SimpairError('fusedBiLstmTensorflow does not support masks; use fusedBiLstmGeneric.');
  const { returnSequences, inputGradient } = options;
  const backend = tensorflowBackend();
  const { binding } = backend;
  const Int64Scalar = int64ScalarClass();
  const [batch, steps, inputDim] = x.shape;
  const units = fw.recurrentKernel.shape[0];
  const seqLenMax = new Int64Scalar(steps);
  const typeAttr: OpAttr = { name: 'T', type: binding.TF_ATTR_TYPE, value: binding.TF_FLOAT };
  const peephole: OpAttr = { name: 'use_peephole', type: binding.TF_ATTR_BOOL, value: false };
  const forwardAttrs = [{ name: 'cell_clip', type: binding.TF_ATTR_FLOAT, value: 0 }, peephole, typeAttr];
  const ops: DirectOps = { backend, attrs: [peephole, typeAttr] };

  const backwardKind = options.tensorflowBackward ?? tensorflowBackward();

  const run: FusedBiLstmRun = (xs, weights, save) => {
    const [kF, rF, bF, kB, rB, bB] = weights;
    const zerosState = tf.zeros([batch, units]);
    const noPeephole = tf.zeros([units]);
    const xF = tf.transpose(xs.forward, [1, 0, 2]); // [T, B, D]
    const xB = tf.reverse(xs.backward ? tf.transpose(xs.backward, [1, 0, 2]) : xF, 0); // the backward direction's own input (dropout), in its processing order
    const wF = tf.concat([kF, rF], 0); // [D + U, 4U], BlockLSTM's layout
    const wB = tf.concat([kB, rB], 0);
    const block = (xDir: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => {
      return backend.executeMultipleOutputs('BlockLSTMV2', forwardAttrs, [seqLenMax, xDir, zerosState, zerosState, w, noPeephole, noPeephole, noPeephole, b], BLOCK_LSTM_OUTPUTS.length);
    };
    // Outputs [T, B, U] each: i, cs, f, o, ci (= tanh of the c-gate pre-activation), co (= tanh(cs)), h.
    const outF = block(xF, wF, bF);
    const outB = block(xB, wB, bB); // in its processing order
    const hF = outF[6];
    const hB = outB[6];
    let value: tf.Tensor;
    if (returnSequences) {
      value = tf.transpose(tf.concat([hF, tf.reverse(hB, 0)], 2), [1, 0, 2]);
    } else {
      value = tf.reshape(tf.slice(tf.concat([hF, hB], 2), [steps - 1, 0, 0], [1, batch, 2 * units]), [batch, 2 * units]);
    }
    save([...outF, ...outB, xF, xB, wF, wB, kF, kB, rF, rB, bF, bB]);
    const shape = { batch, steps, inputDim, units, returnSequences, inputGradient, backwardInput: xs.backward !== undefined };
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
      if (backwardKind === 'sequence') return sequenceGradients(ops, dy, saved, shape, seqLenMax);
      if (backwardKind === 'generic') return genericGradients(dy, saved, shape);
      return cellGradients(ops, dy, saved, shape);
    };
    return { value, gradFunc };
  };

  return biLstmCustomGrad({ forward: x, backward: options.backwardInput }, fw, bw, inputGradient, run);
};

/**
 * Environment variable choosing the backward pass of the tensorflow path: `cell`, `sequence`,
 * or `generic` (the generic path's hand-written per-step BPTT in tfjs ops, about 7 ops per
 * time step: what this path ran before `cell`; kept to compare).
 */
export const LSTM_BACKWARD_ENV = 'SIMPAIR_LSTM_BACKWARD';

/**
 * The backward pass the tensorflow path uses: {@link LSTM_BACKWARD_ENV} when set, else by
 * device. Measured on the CPU (bench/README.md, "kernels per step"): `cell` (one
 * LSTMBlockCellGrad + one matMul per time step, both directions at once) is faster than the
 * whole-sequence `BlockLSTMGradV2` there, whose per-step weight-gradient matMuls are small;
 * on a GPU every op is a launch, so tfjs-node-gpu takes `sequence` (one op per direction).
 */
export function tensorflowBackward(): TensorflowBackward {
  const value = process.env[LSTM_BACKWARD_ENV]?.trim();
  if (value === 'cell' || value === 'sequence' || value === 'generic') return value;
  if (value) throw new SimpairError(`${LSTM_BACKWARD_ENV}="${value}" is not a backward pass of the tensorflow LSTM; use cell, sequence or generic, or unset it.`);
  return tfBackendInfo()?.package === '@tensorflow/tfjs-node-gpu' ? 'sequence' : 'cell';
}

/** What the gradient functions need to run TF ops by name. */
interface DirectOps {
  readonly backend: TensorflowBackend;
  /** use_peephole false, T float */
  readonly attrs: OpAttr[];
}

/** Sizes and options of one fused layer's backward pass. */
interface LayerShape {
  readonly batch: number;
  readonly steps: number;
  readonly inputDim: number;
  readonly units: number;
  readonly returnSequences: boolean;
  readonly inputGradient: boolean;
  readonly backwardInput: boolean;
}

/** The saved tensors of the forward pass, by name (see `save` in fusedBiLstmTensorflow). */
function unpackSaved(saved: tf.Tensor[]) {
  const n = BLOCK_LSTM_OUTPUTS.length;
  const [xF, xB, wF, wB, kF, kB, rF, rB, bF, bB] = saved.slice(2 * n);
  return { outF: saved.slice(0, n), outB: saved.slice(n, 2 * n), xF, xB, wF, wB, kF, kB, rF, rB, bF, bB };
}

/**
 * dL/dh of each direction's outputs, `[T, B, U]` each in its processing order, or for the
 * final state only (`returnSequences` false) `[B, U]` each.
 */
function outputGradients(dy: tf.Tensor, shape: LayerShape): { forward: tf.Tensor; backward: tf.Tensor } {
  const [dF, dB] = tf.split(shape.returnSequences ? tf.transpose(dy, [1, 0, 2]) : dy, 2, -1);
  return { forward: dF, backward: shape.returnSequences ? tf.reverse(dB, 0) : dB };
}

/** The input gradient(s) from each direction's `[T, B, D]` gradient (backward in its processing order). */
function inputGradients(dxF: tf.Tensor, dxB: tf.Tensor, shape: LayerShape): tf.Tensor[] {
  const dxBInput = tf.reverse(dxB, 0);
  if (shape.backwardInput) return [tf.transpose(dxF, [1, 0, 2]), tf.transpose(dxBInput, [1, 0, 2])];
  return [tf.transpose(tf.add(dxF, dxBInput), [1, 0, 2])];
}

/**
 * Backward pass through TF's whole-sequence kernel: one `BlockLSTMGradV2` per direction,
 * which loops over the time steps inside TF (cell gradient, `dz x W^T` and the weight
 * gradient's `xh^T x dz` per step). Fewest launches; slower than {@link cellGradients} on a
 * CPU (its per-step weight-gradient products are small, and it always computes the input
 * gradient).
 */
function sequenceGradients(ops: DirectOps, dy: tf.Tensor, saved: tf.Tensor[], shape: LayerShape, seqLenMax: unknown): tf.Tensor[] {
  const { batch, steps, inputDim, units, returnSequences } = shape;
  const s = unpackSaved(saved);
  const zerosState = tf.zeros([batch, units]);
  const noPeephole = tf.zeros([units]);
  const csGrad = tf.zeros([steps, batch, units]);
  const grads = outputGradients(dy, shape);
  const hGrad = (g: tf.Tensor) => (returnSequences || steps === 1 ? tf.reshape(g, [steps, batch, units]) : tf.concat([tf.zeros([steps - 1, batch, units]), tf.reshape(g, [1, batch, units])], 0));
  const direction = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, out: tf.Tensor[], g: tf.Tensor) => {
    // Outputs: x_grad, cs_prev_grad, h_prev_grad, w_grad, wci_grad, wcf_grad, wco_grad, b_grad.
    const r = ops.backend.executeMultipleOutputs('BlockLSTMGradV2', ops.attrs, [seqLenMax, x, zerosState, zerosState, w, noPeephole, noPeephole, noPeephole, b, ...out, csGrad, hGrad(g)], 8);
    const [dK, dR] = tf.split(r[3], [inputDim, units], 0);
    return { dx: r[0], dK, dR, dB: r[7] };
  };
  const f = direction(s.xF, s.wF, s.bF, s.outF, grads.forward);
  const b = direction(s.xB, s.wB, s.bB, s.outB, grads.backward);
  const weightGrads = [f.dK, f.dR, f.dB, b.dK, b.dR, b.dB];
  return shape.inputGradient ? [...inputGradients(f.dx, b.dx, shape), ...weightGrads] : weightGrads;
}

/** Column indices moving `[rows, 8U]` between TF's gate-major ICFO and Keras' natural layout. */
function gatePermutation(units: number, to: 'icfo-gate-major' | 'natural'): tf.Tensor1D {
  // Keras' natural layout: [forward i f c o | backward i f c o], U columns each.
  // Gate-major ICFO (LSTMBlockCellGrad on states [forward | backward]): [i | c | f | o], each [forward | backward].
  const icfoOfIfco = [0, 2, 1, 3]; // i->0, f->2, c->1, o->3
  const index = new Int32Array(8 * units);
  for (let d = 0; d < 2; d++) {
    for (let g = 0; g < 4; g++) {
      for (let u = 0; u < units; u++) {
        const natural = d * 4 * units + g * units + u;
        const gateMajor = (icfoOfIfco[g] * 2 + d) * units + u;
        if (to === 'natural') index[natural] = gateMajor;
        else index[gateMajor] = natural;
      }
    }
  }
  return tf.tensor1d(index, 'int32');
}

/**
 * Backward pass with TF's per-step fused cell gradient, both directions at once: the
 * states are `[B, 2U]` (forward units, then backward units), so ONE `LSTMBlockCellGrad`
 * per time step computes the elementwise gradient of both directions (the op is
 * elementwise per unit), and ONE matMul with the block-diagonal recurrent kernel carries
 * dL/dh to the previous step. The weight and input gradients are single large matMuls over
 * all steps. Per step: 2 ops (3 with per-step outputs, whose gradient is added to dL/dh).
 *
 * LSTMBlockCellGrad reads x and w for their shapes only (its gradient of the input is the
 * caller's `dz x W^T`): x is passed as `[B, 0]` and w as the `[2U, 8U]` recurrent block.
 */
function cellGradients(ops: DirectOps, dy: tf.Tensor, saved: tf.Tensor[], shape: LayerShape): tf.Tensor[] {
  const { batch, steps, inputDim, units, returnSequences } = shape;
  const width = 2 * units;
  const s = unpackSaved(saved);
  // [i, cs, f, o, ci, co] of both directions, [B, 2U] per step.
  const perStep = [0, 1, 2, 3, 4, 5].map((k) => tf.unstack(tf.concat([s.outF[k], s.outB[k]], 2)));
  const [I, CS, F, O, CI, CO] = perStep;
  const toIcfo = gatePermutation(units, 'icfo-gate-major');
  const zeros = tf.zeros([units, 4 * units]);
  const recurrentBlock = tf.gather(tf.concat([tf.concat([s.rF, zeros], 1), tf.concat([zeros, s.rB], 1)], 0), toIcfo, 1); // [2U, 8U]
  const x = tf.zeros([batch, 0]);
  const noPeephole = tf.zeros([width]);
  const bias = tf.zeros([4 * width]);
  const zeroState = tf.zeros([batch, width]);
  const grads = outputGradients(dy, shape);
  const dh0 = tf.concat([grads.forward, grads.backward], -1); // [T, B, 2U] or [B, 2U]
  const outputGrads = returnSequences ? tf.unstack(dh0) : undefined;
  let dh: tf.Tensor = outputGrads ? outputGrads[steps - 1] : dh0;
  let dcs = zeroState;
  const dz: tf.Tensor[] = new Array(steps);
  for (let t = steps - 1; t >= 0; t--) {
    const csPrev = t > 0 ? CS[t - 1] : zeroState;
    // Outputs: cs_prev_grad, dicfo, wci_grad, wcf_grad, wco_grad. h_prev only for its shape.
    const [csPrevGrad, dicfo] = ops.backend.executeMultipleOutputs(
      'LSTMBlockCellGrad',
      ops.attrs,
      [x, csPrev, csPrev, recurrentBlock, noPeephole, noPeephole, noPeephole, bias, I[t], CS[t], F[t], O[t], CI[t], CO[t], dcs, dh],
      5,
    );
    dz[t] = dicfo;
    if (t > 0) {
      dcs = csPrevGrad;
      dh = tf.matMul(dicfo, recurrentBlock, false, true);
      if (outputGrads) dh = tf.add(dh, outputGrads[t - 1]);
    }
  }
  // [T*B, 8U] natural (Keras' i, f, c, o per direction), time steps in processing order.
  const [dzF, dzB] = tf.split(tf.gather(tf.concat(dz, 0), gatePermutation(units, 'natural'), 1), 2, 1);
  const rows = (t: tf.Tensor, width: number) => tf.reshape(t, [steps * batch, width]);
  const direction = (xDir: tf.Tensor, h: tf.Tensor, dzDir: tf.Tensor) => {
    const dK = tf.matMul(rows(xDir, inputDim), dzDir, true, false);
    // Recurrent kernel: the state each step started from (none before the first) x dz.
    const dR = steps === 1 ? tf.zeros([units, 4 * units]) : tf.matMul(tf.slice(rows(h, units), 0, (steps - 1) * batch), tf.slice(dzDir, batch, (steps - 1) * batch), true, false);
    return { dK, dR, dB: tf.sum(dzDir, 0) };
  };
  const f = direction(s.xF, s.outF[6], dzF);
  const b = direction(s.xB, s.outB[6], dzB);
  const weightGrads = [f.dK, f.dR, f.dB, b.dK, b.dR, b.dB];
  if (!shape.inputGradient) return weightGrads;
  const dx = (dzDir: tf.Tensor, k: tf.Tensor) => tf.reshape(tf.matMul(dzDir, k, false, true), [steps, batch, inputDim]);
  return [...inputGradients(dx(dzF, s.kF), dx(dzB, s.kB), shape), ...weightGrads];
}

/**
 * Backward pass in tfjs ops: the generic path's BPTT ({@link biLstmGradients}) on the
 * BlockLSTMV2 outputs, rearranged into its layout (about 7 ops per time step).
 */
function genericGradients(dy: tf.Tensor, saved: tf.Tensor[], shape: LayerShape): tf.Tensor[] {
  const { batch, steps, inputDim, units } = shape;
  const s = unpackSaved(saved);
  const [iF, csF, fF, oF, ciF, , hF] = s.outF;
  const [iB, csB, fB, oB, ciB, , hB] = s.outB;
  const rows = (t: tf.Tensor) => tf.reshape(t, [steps * batch, units]);
  const bothDirections = (f: tf.Tensor, b: tf.Tensor) => tf.concat([rows(f), rows(b)], 1); // [T*B, 2U]
  const sigmoidOf2z = (ci: tf.Tensor) => tf.div(tf.add(ci, 1), 2); // sigmoid(2z) = (tanh(z) + 1) / 2
  const gates = tf.concat([bothDirections(iF, iB), bothDirections(fF, fB), bothDirections(sigmoidOf2z(ciF), sigmoidOf2z(ciB)), bothDirections(oF, oB)], 1);
  const scaleNatural = gateScale(units, 'natural');
  const kernels = tf.mul(tf.concat([s.kF, s.kB], 1), scaleNatural);
  const recurrent = tf.mul(blockRecurrent(s.rF, s.rB, units), gateScale(units, 'gate-major'));
  const xRows = tf.reshape(s.xF, [steps * batch, inputDim]);
  // The generic layout keeps the backward direction's input in input time order.
  const xRowsB = shape.backwardInput ? [tf.reshape(tf.reverse(s.xB, 0), [steps * batch, inputDim])] : [];
  const layout = [gates, bothDirections(hF, hB), bothDirections(csF, csB), xRows, kernels, recurrent, ...xRowsB];
  return biLstmGradients(dy, layout, { ...shape, masked: false });
}
