import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import { SimpairError } from '../../errors.ts';
import { tfBackendInfo } from '../tf-backend.ts';
import { biLstmCustomGrad, type FusedBiLstmOptions, type FusedBiLstmRun, type LstmDirectionWeights } from './bilstm-weights.ts';

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
 * forward and one `BlockLSTMGradV2` per direction backward, executed eagerly through
 * tfjs-node's backend and wrapped in `tf.customGrad` over the layer's own variables.
 *
 * BlockLSTMV2 is Keras' LSTM cell exactly: gate order i, f, c, o, sigmoid gates, tanh,
 * no forget bias added by the op (Keras' unit forget bias lives in the bias variable), no
 * peepholes, no cell clip. Time-major input; the backward direction runs on the
 * time-reversed sequence, as `go_backwards`. TF registers CPU and GPU kernels for both
 * ops, so tfjs-node-gpu runs this on the GPU unchanged (not tested on a GPU here).
 *
 * No mask input: masked sequences use {@link fusedBiLstmGeneric} instead.
 */
export function fusedBiLstmTensorflow(
  x: tf.Tensor3D,
  mask: tf.Tensor | undefined,
  fw: LstmDirectionWeights,
  bw: LstmDirectionWeights,
  options: FusedBiLstmOptions,
): tf.Tensor {
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
  const gradAttrs = [peephole, typeAttr];

  const run: FusedBiLstmRun = (xIn, weights, save) => {
    const [kF, rF, bF, kB, rB, bB] = weights;
    const zerosState = tf.zeros([batch, units]);
    const noPeephole = tf.zeros([units]);
    const xF = tf.transpose(xIn, [1, 0, 2]); // [T, B, D]
    const xB = tf.reverse(xF, 0);
    const wF = tf.concat([kF, rF], 0); // [D + U, 4U]: BlockLSTM multiplies [x, h] by it
    const wB = tf.concat([kB, rB], 0);
    const block = (xDir: tf.Tensor, w: tf.Tensor, b: tf.Tensor) =>
      backend.executeMultipleOutputs('BlockLSTMV2', forwardAttrs, [seqLenMax, xDir, zerosState, zerosState, w, noPeephole, noPeephole, noPeephole, b], BLOCK_LSTM_OUTPUTS.length);
    const outF = block(xF, wF, bF);
    const outB = block(xB, wB, bB);
    const hF = outF[6];
    const hB = outB[6]; // backward direction, in its processing order
    let value: tf.Tensor;
    if (returnSequences) {
      value = tf.concat([tf.transpose(hF, [1, 0, 2]), tf.transpose(tf.reverse(hB, 0), [1, 0, 2])], 2);
    } else {
      const last = (h: tf.Tensor) => tf.reshape(tf.slice(h, [steps - 1, 0, 0], [1, batch, units]), [batch, units]);
      value = tf.concat([last(hF), last(hB)], 1);
    }
    save([xF, xB, wF, wB, bF, bB, ...outF, ...outB]);

    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor[] => {
      const [sxF, sxB, swF, swB, sbF, sbB] = saved;
      const savedF = saved.slice(6, 13);
      const savedB = saved.slice(13, 20);
      let hGradF: tf.Tensor;
      let hGradB: tf.Tensor;
      if (returnSequences) {
        const [dF, dB] = tf.split(tf.transpose(dy, [1, 0, 2]), 2, 2); // [T, B, U]
        hGradF = dF;
        hGradB = tf.reverse(dB, 0);
      } else {
        const [dF, dB] = tf.split(dy, 2, 1); // [B, U]
        const atLast = (d: tf.Tensor) => tf.concat([tf.zeros([steps - 1, batch, units]), tf.expandDims(d, 0)], 0);
        hGradF = atLast(dF);
        hGradB = atLast(dB);
      }
      const zeros = tf.zeros([batch, units]);
      const noPeep = tf.zeros([units]);
      const csGrad = tf.zeros([steps, batch, units]);
      const grad = (xDir: tf.Tensor, w: tf.Tensor, b: tf.Tensor, outs: tf.Tensor[], hGrad: tf.Tensor) =>
        backend.executeMultipleOutputs('BlockLSTMGradV2', gradAttrs, [seqLenMax, xDir, zeros, zeros, w, noPeep, noPeep, noPeep, b, ...outs, csGrad, hGrad], 8);
      const [dxF, , , dwF, , , , dbF] = grad(sxF, swF, sbF, savedF, hGradF);
      const [dxB, , , dwB, , , , dbB] = grad(sxB, swB, sbB, savedB, hGradB);
      const [dkF, drF] = tf.split(dwF, [inputDim, units], 0);
      const [dkB, drB] = tf.split(dwB, [inputDim, units], 0);
      const weightGrads = [dkF, drF, dbF, dkB, drB, dbB];
      if (!inputGradient) return weightGrads;
      return [tf.transpose(tf.add(dxF, tf.reverse(dxB, 0)), [1, 0, 2]), ...weightGrads];
    };
    return { value, gradFunc };
  };

  return biLstmCustomGrad(x, fw, bw, inputGradient, run);
}
