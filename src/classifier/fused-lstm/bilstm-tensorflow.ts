import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import { SimpairError } from '../../errors.ts';
import { tfBackendInfo } from '../tf-backend.ts';
import { biLstmGradients } from './bilstm-generic.ts';
import { blockRecurrent, gateScale } from './bilstm-layout.ts';
import { biLstmCustomGrad, type FusedBiLstmFn, type FusedBiLstmRun } from './bilstm-weights.ts';

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
 * `Bidirectional(LSTM)` on TensorFlow's fused kernel: one `BlockLSTMV2` op per direction
 * forward, executed eagerly through tfjs-node's backend, and the shared hand-written BPTT
 * of the generic path ({@link biLstmGradients}) backward, in `tf.customGrad` over the
 * layer's own variables.
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

  const run: FusedBiLstmRun = (xs, weights, save) => {
    const [kF, rF, bF, kB, rB, bB] = weights;
    const zerosState = tf.zeros([batch, units]);
    const noPeephole = tf.zeros([units]);
    const xF = tf.transpose(xs.forward, [1, 0, 2]); // [T, B, D]
    const xB = xs.backward ? tf.transpose(xs.backward, [1, 0, 2]) : xF; // the backward direction's own input (dropout)
    const block = (xDir: tf.Tensor, k: tf.Tensor, r: tf.Tensor, b: tf.Tensor) =>
      backend.executeMultipleOutputs('BlockLSTMV2', forwardAttrs, [seqLenMax, xDir, zerosState, zerosState, tf.concat([k, r], 0), noPeephole, noPeephole, noPeephole, b], BLOCK_LSTM_OUTPUTS.length);
    // Outputs [T, B, U] each: i, cs, f, o, ci (= tanh of the c-gate pre-activation), co, h.
    const [iF, csF, fF, oF, ciF, , hF] = block(xF, kF, rF, bF);
    const [iB, csB, fB, oB, ciB, , hB] = block(tf.reverse(xB, 0), kB, rB, bB); // in its processing order
    let value: tf.Tensor;
    if (returnSequences) {
      value = tf.concat([tf.transpose(hF, [1, 0, 2]), tf.transpose(tf.reverse(hB, 0), [1, 0, 2])], 2);
    } else {
      const last = (h: tf.Tensor) => tf.reshape(tf.slice(h, [steps - 1, 0, 0], [1, batch, units]), [batch, units]);
      value = tf.concat([last(hF), last(hB)], 1);
    }
    // What the shared BPTT (biLstmGradients) needs, in its layout. BlockLSTMGradV2 would
    // accumulate the weight gradients with a small matMul per time step; measured 2-4x
    // slower here than the shared backward pass, whose weight gradients are single matMuls.
    const rows = (t: tf.Tensor) => tf.reshape(t, [steps * batch, units]);
    const bothDirections = (f: tf.Tensor, b: tf.Tensor) => tf.concat([rows(f), rows(b)], 1); // [T*B, 2U]
    const sigmoidOf2z = (ci: tf.Tensor) => tf.div(tf.add(ci, 1), 2); // sigmoid(2z) = (tanh(z) + 1) / 2
    const gates = tf.concat([bothDirections(iF, iB), bothDirections(fF, fB), bothDirections(sigmoidOf2z(ciF), sigmoidOf2z(ciB)), bothDirections(oF, oB)], 1);
    const scaleNatural = gateScale(units, 'natural');
    const kernels = tf.mul(tf.concat([kF, kB], 1), scaleNatural);
    const recurrent = tf.mul(blockRecurrent(rF, rB, units), gateScale(units, 'gate-major'));
    const xRows = tf.reshape(xF, [steps * batch, inputDim]);
    const xRowsB = xs.backward ? [tf.reshape(xB, [steps * batch, inputDim])] : [];
    save([gates, bothDirections(hF, hB), bothDirections(csF, csB), xRows, kernels, recurrent, ...xRowsB]);
    const shape = { batch, steps, inputDim, units, returnSequences, inputGradient, masked: false, backwardInput: xs.backward !== undefined };
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => biLstmGradients(dy, saved, shape);
    return { value, gradFunc };
  };

  return biLstmCustomGrad({ forward: x, backward: options.backwardInput }, fw, bw, inputGradient, run);
};
