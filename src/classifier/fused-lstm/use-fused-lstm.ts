import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { SimpairError } from '../../errors.ts';
import { fusedBiLstmGeneric } from './bilstm-generic.ts';
import { fusedBiLstmTensorflow } from './bilstm-tensorflow.ts';
import type { FusedBiLstmFn, LstmDirectionWeights } from './bilstm-weights.ts';

/**
 * Environment variable choosing the LSTM training path: `fused` (default), `layers`
 * (tfjs-layers' own), or `generic` (the generic fused path on every backend, also on
 * tensorflow, e.g. to profile: V8's `--cpu-prof` sampling aborts inside libtensorflow's
 * BlockLSTM kernel, see README).
 */
export const LSTM_PATH_ENV = 'SIMPAIR_LSTM';

/**
 * How the Bi-LSTM layers run:
 * - `layers`: tfjs-layers' own LSTM, one time step at a time (about 10 ops per step,
 *   direction and layer, forward and backward);
 * - `fused-generic`: {@link fusedBiLstmGeneric}, one input-projection matMul per layer, both
 *   directions per step at once, hand-written BPTT (wasm, cpu, and masked sequences on
 *   tensorflow);
 * - `fused-tensorflow`: TensorFlow's own `BlockLSTMV2` / `BlockLSTMGradV2` kernels (CPU and
 *   GPU) through tfjs-node's `tensorflow` backend.
 */
export type LstmPath = 'layers' | 'fused-generic' | 'fused-tensorflow';

/** What {@link useFusedLstm} installed. */
export interface FusedLstmHandle {
  /** The path of each Bidirectional layer, in model order. */
  readonly paths: readonly LstmPath[];
  /** One line for logs and metadata, e.g. `fused-tensorflow` or `fused-generic (masked input)`. */
  readonly summary: string;
  /** Puts back tfjs-layers' own `call` on every patched layer. */
  restore(): void;
}

/** Options of {@link useFusedLstm}. */
export interface UseFusedLstmOptions {
  /**
   * `fused`, `layers` or `generic`; overrides {@link LSTM_PATH_ENV}.
   * @default process.env.SIMPAIR_LSTM ?? 'fused'
   */
  readonly mode?: LstmMode;
}

interface RnnLike {
  readonly cell: {
    readonly kernel: tfl.LayerVariable;
    readonly recurrentKernel: tfl.LayerVariable;
    readonly bias: tfl.LayerVariable | null;
    readonly activation: { getClassName(): string };
    readonly recurrentActivation: { getClassName(): string };
    readonly dropout: number;
    readonly recurrentDropout: number;
    /** tfjs-layers' hook replacing `tf.dropout` when drawing the dropout mask (tests set it). */
    readonly dropoutFunc?: (ones: tf.Tensor, rate: number) => tf.Tensor;
    readonly units: number;
  };
  readonly goBackwards: boolean;
  readonly returnSequences: boolean;
  readonly returnState: boolean;
  readonly stateful: boolean;
  getClassName(): string;
}

interface BidirectionalLike extends tfl.layers.Layer {
  forwardLayer: RnnLike;
  backwardLayer: RnnLike;
  mergeMode: string | null;
  returnSequences: boolean;
  returnState: boolean;
}

/** Why a Bidirectional layer cannot take the fused path, or undefined when it can. */
function ineligible(layer: BidirectionalLike): string | undefined {
  if (layer.mergeMode !== 'concat') return `mergeMode ${layer.mergeMode} (fused supports concat)`;
  if (layer.returnState) return 'returnState';
  for (const [dir, rnn] of [['forward', layer.forwardLayer], ['backward', layer.backwardLayer]] as const) {
    if (rnn.getClassName() !== 'LSTM') return `${dir} layer is ${rnn.getClassName()}`;
    const { cell } = rnn;
    if (cell.activation.getClassName() !== 'tanh') return `activation ${cell.activation.getClassName()}`;
    if (cell.recurrentActivation.getClassName() !== 'sigmoid') return `recurrentActivation ${cell.recurrentActivation.getClassName()}`;
    if (cell.bias === null) return 'useBias false';
    if (cell.recurrentDropout > 0) return 'recurrentDropout';
    if (rnn.stateful) return 'stateful';
  }
  if (layer.forwardLayer.goBackwards || !layer.backwardLayer.goBackwards) return 'goBackwards on the wrapped layer';
  return undefined;
}

/**
 * `x` times the LSTM's input dropout mask while training, as tfjs-layers' (and Keras')
 * LSTMCell applies it: one mask `[batch, inputDim]` per layer call, the same at every time
 * step, scaled by 1 / (1 - rate). Like LSTMCell, it draws four masks (one per gate, for
 * Keras' implementation 1) and uses the first, so a seeded `dropoutFunc` gives both paths
 * the same masks.
 */
function inputDropout(cell: RnnLike['cell'], x: tf.Tensor3D): tf.Tensor3D {
  const [batch, , inputDim] = x.shape;
  const draw = () => (cell.dropoutFunc ? cell.dropoutFunc(tf.ones([batch, inputDim]), cell.dropout) : tf.dropout(tf.ones([batch, inputDim]), cell.dropout));
  const [mask] = [draw(), draw(), draw(), draw()];
  return tf.mul(x, tf.reshape(mask, [batch, 1, inputDim]));
}

function directionWeights(rnn: RnnLike): LstmDirectionWeights {
  return {
    kernel: rnn.cell.kernel.read() as tf.Tensor2D,
    recurrentKernel: rnn.cell.recurrentKernel.read() as tf.Tensor2D,
    bias: rnn.cell.bias!.read() as tf.Tensor1D,
  };
}

/** What the caller asks for: `fused` picks the fastest fused path for the backend. */
export type LstmMode = 'fused' | 'layers' | 'generic';

/** The LSTM mode asked for: the option, else {@link LSTM_PATH_ENV}, else `fused`. */
export function lstmMode(option?: LstmMode): LstmMode {
  const value = option ?? process.env[LSTM_PATH_ENV]?.trim() ?? 'fused';
  if (value === '') return 'fused';
  if (value !== 'fused' && value !== 'layers' && value !== 'generic') {
    throw new SimpairError(`${LSTM_PATH_ENV}="${value}" is not an LSTM path; use fused, layers or generic, or unset it.`);
  }
  return value;
}

/**
 * Makes every `Bidirectional(LSTM)` layer of `model` compute through a fused
 * implementation over the SAME weight variables, until `restore()`. The model stays the
 * single source of truth: weights, saving, loading and Keras interop are untouched; only
 * the layers' `call` is replaced, so `model.apply`, `model.predict` and gradients of the
 * trainable weights all go through the fused code.
 *
 * On the `tensorflow` backend (tfjs-node, tfjs-node-gpu) unmasked layers use TF's fused
 * `BlockLSTMV2` kernels; masked layers (the `--padding masked` model) and every other
 * backend use {@link fusedBiLstmGeneric}, which handles Keras' masking exactly. Layers the
 * fused code does not cover (other activations, recurrent dropout, ...) keep tfjs-layers' path, and
 * the summary says so. `mode: 'layers'` (or `SIMPAIR_LSTM=layers`) installs nothing.
 *
 * @example
 * const fused = useFusedLstm(model);
 * log('info', `LSTM path: ${fused.summary}`);
 * try { await train(model); } finally { fused.restore(); }
 */
export function useFusedLstm(model: tfl.LayersModel, options: UseFusedLstmOptions = {}): FusedLstmHandle {
  const mode = lstmMode(options.mode);
  const patched: BidirectionalLike[] = [];
  const paths: LstmPath[] = [];
  const notes = new Set<string>();
  const onTensorflow = tf.getBackend() === 'tensorflow' && mode !== 'generic';
  const maskable = model.layers.some((l) => l.getClassName() === 'Masking');
  let weightsBefore = false; // a trainable layer upstream: the input needs a gradient
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'Bidirectional') {
      if (layer.trainableWeights.length > 0) weightsBefore = true;
      continue;
    }
    const bi = layer as BidirectionalLike;
    const reason = mode === 'layers' ? undefined : ineligible(bi);
    if (mode === 'layers' || reason !== undefined) {
      if (reason) notes.add(`${layer.name} on layers: ${reason}`);
      paths.push('layers');
      weightsBefore = true;
      continue;
    }
    const inputGradient = weightsBefore;
    weightsBefore = true;
    const returnSequences = bi.returnSequences;
    // Masked sequences need per-step state carry, which BlockLSTM has no input for.
    const pick = (mask: tf.Tensor | undefined): FusedBiLstmFn => (onTensorflow && mask === undefined ? fusedBiLstmTensorflow : fusedBiLstmGeneric);
    paths.push(onTensorflow && !maskable ? 'fused-tensorflow' : 'fused-generic');
    if (onTensorflow && maskable) notes.add('masked input on the generic fused path');
    const { forwardLayer, backwardLayer } = bi;
    const dropout = forwardLayer.cell.dropout > 0 || backwardLayer.cell.dropout > 0;
    const call = (inputs: tf.Tensor | tf.Tensor[], kwargs: { mask?: tf.Tensor | tf.Tensor[]; training?: boolean }) =>
      tf.tidy(() => {
        const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor3D;
        const rawMask = Array.isArray(kwargs.mask) ? kwargs.mask[0] : kwargs.mask;
        const mask = rawMask ?? undefined;
        let xForward = x;
        let backwardInput: tf.Tensor3D | undefined;
        if (dropout && kwargs.training === true) {
          // Forward first, then backward: the order tfjs' Bidirectional calls its layers in.
          xForward = forwardLayer.cell.dropout > 0 ? inputDropout(forwardLayer.cell, x) : x;
          backwardInput = backwardLayer.cell.dropout > 0 ? inputDropout(backwardLayer.cell, x) : x;
        }
        return pick(mask)(xForward, mask, directionWeights(forwardLayer), directionWeights(backwardLayer), { returnSequences, inputGradient, backwardInput });
      });
    (bi as unknown as { call: typeof call }).call = call;
    patched.push(bi);
  }
  const kinds = [...new Set(paths)];
  const summary = `${kinds.join(' + ') || 'no Bidirectional(LSTM) layers'}${notes.size ? ` (${[...notes].join('; ')})` : ''}`;
  return {
    paths,
    summary,
    restore() {
      // The patch is an own property shadowing the prototype's call.
      for (const layer of patched) delete (layer as unknown as { call?: unknown }).call;
      patched.length = 0;
    },
  };
}
