import type * as tfl from '@tensorflow/tfjs-layers';
import { ExportError } from '../errors.ts';

/** An activation the ONNX `LSTM` operator offers under the same definition as TF.js/Keras. */
export type LstmActivation = 'Sigmoid' | 'Tanh' | 'Relu' | 'HardSigmoid';

/** One LSTM direction's weights in Keras/TF.js layout, gate order i, f, c, o. */
export interface LstmDirection {
  /** `[inputDim, 4 * units]`, row-major. */
  readonly kernel: Float32Array;
  /** `[units, 4 * units]`, row-major. */
  readonly recurrentKernel: Float32Array;
  /** `[4 * units]` (zeros when the layer has no bias). */
  readonly bias: Float32Array;
}

/** A `Bidirectional(LSTM(units), merge_mode='concat')` layer. */
export interface BiLstmSpec {
  readonly units: number;
  readonly inputDim: number;
  readonly returnSequences: boolean;
  /** Keras' `recurrent_activation` (ONNX's f). */
  readonly recurrentActivation: LstmActivation;
  /** Keras' `activation` (ONNX's g and h). */
  readonly activation: LstmActivation;
  readonly forward: LstmDirection;
  readonly backward: LstmDirection;
}

/**
 * Everything the ONNX graph needs to compute what the TF.js classifier computes, free of
 * TF.js: `[Masking(0)] -> Bidirectional(LSTM)+ -> Dense(1, sigmoid)`.
 */
export interface ClassifierSpec {
  readonly maxLen: number;
  readonly hidden: number;
  /** A `Masking(mask_value=0)` layer comes first (`--padding masked`). */
  readonly masked: boolean;
  readonly biLstms: readonly BiLstmSpec[];
  /** Dense kernel `[2 * lastUnits]` (one output unit) and its bias. */
  readonly dense: { readonly kernel: Float32Array; readonly bias: number };
}

const ACTIVATIONS: Record<string, LstmActivation> = {
  sigmoid: 'Sigmoid',
  tanh: 'Tanh',
  relu: 'Relu',
  // tfjs' hardSigmoid is clip(0.2 x + 0.5, 0, 1): ONNX HardSigmoid with its default alpha/beta.
  hardSigmoid: 'HardSigmoid',
  hard_sigmoid: 'HardSigmoid',
};

function refuse(what: string): never {
  throw new ExportError(
    `Cannot export this classifier to ONNX: ${what}. simpair exports the architecture it trains, [Masking(0)] -> Bidirectional(LSTM, merge_mode concat) x N -> Dense(1, sigmoid); re-train it with simpair run.`,
  );
}

function activation(value: unknown, where: string): LstmActivation {
  const onnx = typeof value === 'string' ? ACTIVATIONS[value] : undefined;
  if (!onnx) refuse(`${where} uses activation ${JSON.stringify(value)} (supported: ${Object.keys(ACTIVATIONS).join(', ')})`);
  return onnx;
}

function weight(layer: tfl.layers.Layer, suffix: string, size: number, optional = false): Float32Array {
  const w = layer.weights.find((v) => v.originalName.endsWith(suffix));
  if (!w) {
    if (optional) return new Float32Array(size);
    refuse(`layer ${layer.name} has no weight ending in ${suffix}`);
  }
  const data = w.read().dataSync() as Float32Array;
  if (data.length !== size) refuse(`weight ${w.originalName} holds ${data.length} values, expected ${size}`);
  return Float32Array.from(data);
}

function biLstmSpec(layer: tfl.layers.Layer, inputDim: number): BiLstmSpec {
  const config = layer.getConfig() as { mergeMode?: unknown; layer?: { className?: string; config?: Record<string, unknown> } };
  if (config.layer?.className !== 'LSTM' || !config.layer.config) refuse(`layer ${layer.name} wraps ${config.layer?.className ?? 'nothing'}, not an LSTM`);
  if (config.mergeMode !== 'concat') refuse(`layer ${layer.name} merges its directions with ${JSON.stringify(config.mergeMode)}, not concat`);
  const lstm = config.layer.config;
  if (lstm.goBackwards === true || lstm.stateful === true) refuse(`layer ${layer.name} is go_backwards or stateful`);
  const units = lstm.units as number;
  const direction = (name: 'forward' | 'backward'): LstmDirection => ({
    kernel: weight(layer, `/${name}_${lstm.name}/kernel`, inputDim * 4 * units),
    recurrentKernel: weight(layer, `/${name}_${lstm.name}/recurrent_kernel`, units * 4 * units),
    bias: weight(layer, `/${name}_${lstm.name}/bias`, 4 * units, lstm.useBias === false),
  });
  return {
    units,
    inputDim,
    returnSequences: lstm.returnSequences === true,
    recurrentActivation: activation(lstm.recurrentActivation, `${layer.name}'s recurrent activation`),
    activation: activation(lstm.activation, `${layer.name}'s activation`),
    forward: direction('forward'),
    backward: direction('backward'),
  };
}

/**
 * Reads the architecture and weights of a TF.js classifier (as {@link buildBiLstm} builds
 * and {@link loadClassifier} loads it) into a TF.js-free {@link ClassifierSpec}.
 *
 * @throws ExportError naming the layer or setting that ONNX export does not cover.
 * @example
 * const { model } = await loadClassifier(store, '');
 * const spec = classifierSpecFromModel(model);
 */
export function classifierSpecFromModel(model: tfl.LayersModel): ClassifierSpec {
  const shape = model.inputs[0]?.shape ?? [];
  const [, maxLen, hidden] = shape;
  if (shape.length !== 3 || maxLen == null || hidden == null) refuse(`its input shape is [${shape.join(', ')}], not [batch, maxLen, hidden]`);
  const layers = model.layers.filter((l) => l.getClassName() !== 'InputLayer');
  let at = 0;
  let masked = false;
  if (layers[0]?.getClassName() === 'Masking') {
    const maskValue = (layers[0].getConfig() as { maskValue?: unknown }).maskValue;
    if (maskValue !== 0) refuse(`its Masking layer masks ${JSON.stringify(maskValue)}, not 0`);
    masked = true;
    at = 1;
  }
  const biLstms: BiLstmSpec[] = [];
  let width = hidden;
  while (layers[at]?.getClassName() === 'Bidirectional') {
    const spec = biLstmSpec(layers[at], width);
    biLstms.push(spec);
    width = 2 * spec.units;
    at++;
  }
  if (biLstms.length === 0) refuse('it has no Bidirectional(LSTM) layer where one is expected');
  biLstms.forEach((b, i) => {
    const last = i === biLstms.length - 1;
    if (b.returnSequences === last) refuse(`Bidirectional layer ${i + 1} of ${biLstms.length} has return_sequences ${b.returnSequences}; only the last one may return its final state`);
  });
  const dense = layers[at];
  if (dense?.getClassName() !== 'Dense' || at !== layers.length - 1) refuse(`after the LSTMs it has ${layers.slice(at).map((l) => l.getClassName()).join(', ') || 'nothing'} instead of one Dense layer`);
  const denseConfig = dense.getConfig() as { units?: unknown; activation?: unknown; useBias?: unknown };
  if (denseConfig.units !== 1 || denseConfig.activation !== 'sigmoid') {
    refuse(`its Dense layer has ${String(denseConfig.units)} units and activation ${String(denseConfig.activation)}, not 1 and sigmoid`);
  }
  return {
    maxLen,
    hidden,
    masked,
    biLstms,
    dense: { kernel: weight(dense, '/kernel', width), bias: weight(dense, '/bias', 1, denseConfig.useBias === false)[0] },
  };
}
