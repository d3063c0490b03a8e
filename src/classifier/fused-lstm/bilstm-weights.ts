import * as tf from '@tensorflow/tfjs-core';

/** The three weights of one Keras/TF.js LSTM direction, gate order i, f, c, o. */
export interface LstmDirectionWeights {
  /** `[inputDim, 4 * units]` */
  readonly kernel: tf.Tensor2D;
  /** `[units, 4 * units]` */
  readonly recurrentKernel: tf.Tensor2D;
  /** `[4 * units]` */
  readonly bias: tf.Tensor1D;
}

/** What a fused `Bidirectional(LSTM(units))` computes, besides its weights. */
export interface FusedBiLstmOptions {
  /** Keras' `return_sequences`: `[batch, maxLen, 2 * units]` when true, else `[batch, 2 * units]`. */
  readonly returnSequences: boolean;
  /**
   * Whether the caller needs the gradient with respect to the input. False for the
   * model's first layer (its input is data, not a variable): the backward pass then skips
   * the `[batch * maxLen, 4 * units] x [4 * units, inputDim]` product, as TF's gradient
   * tape prunes it for Keras.
   */
  readonly inputGradient: boolean;
}

/**
 * One fused `Bidirectional(LSTM)` forward pass with its hand-written gradient:
 * `(x [batch, maxLen, inputDim], mask [batch, maxLen] | undefined) -> output`.
 * The weights are `tf.Variable`s (or any tensors); gradients flow to them and, when
 * `inputGradient`, to `x`, through `tf.customGrad`.
 */
export type FusedBiLstmFn = (
  x: tf.Tensor3D,
  mask: tf.Tensor | undefined,
  forward: LstmDirectionWeights,
  backward: LstmDirectionWeights,
  options: FusedBiLstmOptions,
) => tf.Tensor;

/** The forward pass of a fused layer: `value` plus the gradient of x (when asked) and of the 6 weights. */
export type FusedBiLstmRun = (
  x: tf.Tensor3D,
  weights: tf.Tensor[],
  save: tf.GradSaveFunc,
) => { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[] };

/**
 * Wraps `run` in `tf.customGrad` over the six weights of both directions (forward kernel,
 * recurrent kernel, bias, then backward's), with `x` as a differentiable input only when
 * `inputGradient` (otherwise `run`'s gradFunc returns the six weight gradients only).
 */
export function biLstmCustomGrad(
  x: tf.Tensor3D,
  fw: LstmDirectionWeights,
  bw: LstmDirectionWeights,
  inputGradient: boolean,
  run: FusedBiLstmRun,
): tf.Tensor {
  const weights = [fw.kernel, fw.recurrentKernel, fw.bias, bw.kernel, bw.recurrentKernel, bw.bias];
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const tensors = args as tf.Tensor[];
    return inputGradient ? run(tensors[0] as tf.Tensor3D, tensors.slice(1), save) : run(x, tensors, save);
  });
  return inputGradient ? f(x, ...weights) : f(...weights);
}
