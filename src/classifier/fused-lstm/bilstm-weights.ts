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
  /**
   * The backward direction's input when it differs from the forward one's (`x`): with
   * Keras' LSTM `dropout` each direction multiplies the input by its own dropout mask.
   * Same shape as `x`. @default x
   */
  readonly backwardInput?: tf.Tensor3D;
  /**
   * The tensorflow path's backward pass: `cell` (one LSTMBlockCellGrad + one matMul per
   * time step) or `sequence` (one BlockLSTMGradV2 per direction). Ignored by the generic path.
   * @default tensorflowBackward(): SIMPAIR_LSTM_BACKWARD, else by device
   */
  readonly tensorflowBackward?: TensorflowBackward;
}

/** The backward pass of the tensorflow path (see FusedBiLstmOptions.tensorflowBackward). */
export type TensorflowBackward = 'cell' | 'sequence' | 'generic';

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

/**
 * The forward pass of a fused layer: `value` plus the gradient of the input(s) (when asked:
 * x, then the backward direction's input when it has its own) and of the 6 weights.
 */
export type FusedBiLstmRun = (
  inputs: DirectionInputs,
  weights: tf.Tensor[],
  save: tf.GradSaveFunc,
) => { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[] };

/** The input of each direction: `backward` is undefined when both read `forward`. */
export interface DirectionInputs {
  readonly forward: tf.Tensor3D;
  readonly backward?: tf.Tensor3D;
}

/**
 * Wraps `run` in `tf.customGrad` over the six weights of both directions (forward kernel,
 * recurrent kernel, bias, then backward's), with the input(s) as differentiable inputs only
 * when `inputGradient` (otherwise `run`'s gradFunc returns the six weight gradients only).
 */
export function biLstmCustomGrad(
  inputs: DirectionInputs,
  fw: LstmDirectionWeights,
  bw: LstmDirectionWeights,
  inputGradient: boolean,
  run: FusedBiLstmRun,
): tf.Tensor {
  const weights = [fw.kernel, fw.recurrentKernel, fw.bias, bw.kernel, bw.recurrentKernel, bw.bias];
  const xs = inputs.backward ? [inputs.forward, inputs.backward] : [inputs.forward];
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const tensors = args as tf.Tensor[];
    if (!inputGradient) return run(inputs, tensors, save);
    const [forward, backward] = tensors as tf.Tensor3D[];
    return run({ forward, backward: inputs.backward ? backward : undefined }, tensors.slice(xs.length), save);
  });
  return inputGradient ? f(...xs, ...weights) : f(...weights);
}
