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
 * TF.js: `[Masking(0)] -> Bidirectional(LSTM)+ -> [Concatenate(pair_features)] -> Dense(1, sigmoid)`.
 */
export interface ClassifierSpec {
  readonly maxLen: number;
  readonly hidden: number;
  /** A `Masking(mask_value=0)` layer comes first (`--padding masked`). */
  readonly masked: boolean;
  readonly biLstms: readonly BiLstmSpec[];
  /**
   * The pooled head's second input: its width (`4 * hidden`), concatenated after the last
   * Bi-LSTM's output before the Dense layer. Absent for the recipe.
   */
  readonly pairFeatures?: number;
  /** Dense kernel `[2 * lastUnits (+ pairFeatures)]` (one output unit) and its bias. */
  readonly dense: { readonly kernel: Float32Array; readonly bias: number };
}

/**
 * Reads a weight by its name in `model.json`'s weightsManifest (TF.js' `originalName`,
 * e.g. `bidirectional_Bidirectional1/forward_lstm_LSTM1/kernel`); undefined when absent.
 */
export type WeightLookup = (name: string) => Float32Array | undefined;

const ACTIVATIONS: Record<string, LstmActivation> = {
  sigmoid: 'Sigmoid',
  tanh: 'Tanh',
  relu: 'Relu',
  // tfjs' hardSigmoid is clip(0.2 x + 0.5, 0, 1): ONNX HardSigmoid with its default alpha/beta.
  hardSigmoid: 'HardSigmoid',
  hard_sigmoid: 'HardSigmoid',
};

type Json = Record<string, unknown>;

/** One layer of a Keras/TF.js topology with the names of the layers feeding it. */
interface TopologyLayer {
  readonly name: string;
  readonly className: string;
  readonly config: Json;
  readonly inbound: readonly string[];
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads one architecture from a topology and its weights; `where` names the model in messages. */
class SpecReader {
  constructor(
    private readonly where: string,
    private readonly weights: WeightLookup,
    private readonly weightNames: readonly string[],
  ) {}

  refuse(what: string): never {
    throw new ExportError(
      `Cannot export ${this.where} to ONNX: ${what}. simpair exports the architecture it trains, [Masking(0)] -> Bidirectional(LSTM, merge_mode concat) x N -> [Concatenate(pair_features)] -> Dense(1, sigmoid); re-train it with simpair run.`,
    );
  }

  activation(value: unknown, where: string): LstmActivation {
    const onnx = typeof value === 'string' ? ACTIVATIONS[value] : undefined;
    if (!onnx) this.refuse(`${where} uses activation ${JSON.stringify(value)} (supported: ${Object.keys(ACTIVATIONS).join(', ')})`);
    return onnx;
  }

  /** The weight of layer `layer` whose name ends in `suffix`, checked to hold `size` values. */
  weight(layer: string, suffix: string, size: number, optional = false): Float32Array {
    const name = this.weightNames.find((n) => n.startsWith(`${layer}/`) && n.endsWith(suffix));
    const data = name === undefined ? undefined : this.weights(name);
    if (name === undefined || data === undefined) {
      if (optional) return new Float32Array(size);
      this.refuse(`layer ${layer} has no weight ending in ${suffix}`);
    }
    if (data.length !== size) this.refuse(`weight ${name} holds ${data.length} values, expected ${size}`);
    return data;
  }

  biLstm(layer: TopologyLayer, inputDim: number): BiLstmSpec {
    const inner = layer.config.layer;
    const lstm = isObject(inner) && isObject(inner.config) ? inner.config : undefined;
    if (!isObject(inner) || inner.class_name !== 'LSTM' || !lstm) this.refuse(`layer ${layer.name} wraps ${String(isObject(inner) ? inner.class_name : 'nothing')}, not an LSTM`);
    if (layer.config.merge_mode !== 'concat') this.refuse(`layer ${layer.name} merges its directions with ${JSON.stringify(layer.config.merge_mode)}, not concat`);
    if (lstm.go_backwards === true || lstm.stateful === true) this.refuse(`layer ${layer.name} is go_backwards or stateful`);
    const units = lstm.units;
    if (typeof units !== 'number' || !Number.isInteger(units) || units <= 0) this.refuse(`layer ${layer.name} has ${JSON.stringify(units)} units`);
    const direction = (dir: 'forward' | 'backward'): LstmDirection => ({
      kernel: this.weight(layer.name, `/${dir}_${String(lstm.name)}/kernel`, inputDim * 4 * units),
      recurrentKernel: this.weight(layer.name, `/${dir}_${String(lstm.name)}/recurrent_kernel`, units * 4 * units),
      bias: this.weight(layer.name, `/${dir}_${String(lstm.name)}/bias`, 4 * units, lstm.use_bias === false),
    });
    return {
      units,
      inputDim,
      returnSequences: lstm.return_sequences === true,
      recurrentActivation: this.activation(lstm.recurrent_activation, `${layer.name}'s recurrent activation`),
      activation: this.activation(lstm.activation, `${layer.name}'s activation`),
      forward: direction('forward'),
      backward: direction('backward'),
    };
  }

  /** The `[null, ...dims]` shape of an input layer's config. */
  inputShape(layer: TopologyLayer | undefined, rank: number, what: string): number[] {
    const shape = layer?.config.batch_input_shape;
    const dims = Array.isArray(shape) ? shape.slice(1) : [];
    if (!Array.isArray(shape) || dims.length !== rank || dims.some((d) => typeof d !== 'number' || !Number.isInteger(d) || d <= 0)) {
      this.refuse(`${what} has shape [${Array.isArray(shape) ? shape.map(String).join(', ') : '?'}], not [batch, ${rank === 2 ? 'maxLen, hidden' : 'width'}]`);
    }
    return dims as number[];
  }

  /** The layers of a Sequential or functional topology, each with its inbound layer names, and the output layer's name. */
  layers(topology: unknown): { layers: Map<string, TopologyLayer>; output: string } {
    if (!isObject(topology) || !isObject(topology.config) && !Array.isArray(topology.config)) this.refuse('its modelTopology is not a Keras/TF.js model');
    const className = topology.class_name;
    const config = topology.config;
    const raw = Array.isArray(config) ? config : isObject(config) && Array.isArray(config.layers) ? config.layers : this.refuse('its modelTopology lists no layers');
    const layers = new Map<string, TopologyLayer>();
    if (className === 'Sequential') {
      // A Sequential model's first layer carries the input shape; an InputLayer stands in for it.
      let previous = '';
      raw.forEach((l: unknown, i: number) => {
        if (!isObject(l) || !isObject(l.config) || typeof l.class_name !== 'string') this.refuse(`layer ${i + 1} of its topology is not a layer`);
        const name = typeof l.config.name === 'string' ? l.config.name : `layer_${i}`;
        if (i === 0 && l.class_name !== 'InputLayer') {
          layers.set('input', { name: 'input', className: 'InputLayer', config: { batch_input_shape: l.config.batch_input_shape }, inbound: [] });
          previous = 'input';
        }
        layers.set(name, { name, className: l.class_name, config: l.config, inbound: previous ? [previous] : [] });
        previous = name;
      });
      return { layers, output: previous };
    }
    if (className !== 'Model' && className !== 'Functional') this.refuse(`its topology is a ${JSON.stringify(className)}, not a Sequential or functional model`);
    for (const l of raw as unknown[]) {
      if (!isObject(l) || !isObject(l.config) || typeof l.class_name !== 'string' || typeof l.name !== 'string') this.refuse('its topology holds a layer without name, class or config');
      const nodes = Array.isArray(l.inbound_nodes) ? l.inbound_nodes : [];
      if (nodes.length > 1) this.refuse(`layer ${l.name} is applied ${nodes.length} times (shared layers are not exported)`);
      const inbound = nodes.length === 0 ? [] : (nodes[0] as unknown[]).map((n) => (Array.isArray(n) ? String(n[0]) : this.refuse(`layer ${String(l.name)} has a malformed inbound node`)));
      layers.set(l.name, { name: l.name, className: l.class_name, config: l.config, inbound });
    }
    const outputs = isObject(config) && Array.isArray(config.output_layers) ? config.output_layers : [];
    if (outputs.length !== 1 || !Array.isArray(outputs[0])) this.refuse(`it has ${outputs.length} outputs, not one`);
    return { layers, output: String((outputs[0] as unknown[])[0]) };
  }

  /**
   * Walks back from the output: Dense(1, sigmoid) <- [Concatenate(<- last Bi-LSTM, <- pair
   * features input)] <- Bidirectional(LSTM)+ <- [Masking(0)] <- the token input.
   */
  spec(topology: unknown): ClassifierSpec {
    const { layers, output } = this.layers(topology);
    const layer = (name: string | undefined, what: string): TopologyLayer => layers.get(name ?? '') ?? this.refuse(`${what} ${JSON.stringify(name)} is not in its topology`);
    const single = (l: TopologyLayer): TopologyLayer => {
      if (l.inbound.length !== 1) this.refuse(`layer ${l.name} (${l.className}) takes ${l.inbound.length} inputs, not one`);
      return layer(l.inbound[0], `the input of ${l.name}`);
    };
    const dense = layer(output, 'the output layer');
    if (dense.className !== 'Dense') this.refuse(`its output layer ${dense.name} is a ${dense.className}, not one Dense layer after the LSTMs`);
    if (dense.config.units !== 1 || dense.config.activation !== 'sigmoid') {
      this.refuse(`its Dense layer has ${String(dense.config.units)} units and activation ${String(dense.config.activation)}, not 1 and sigmoid`);
    }
    let at = single(dense);
    let pairFeatures: number | undefined;
    if (at.className === 'Concatenate') {
      if (at.config.axis !== -1 && at.config.axis !== 1) this.refuse(`its Concatenate layer ${at.name} joins axis ${String(at.config.axis)}, not the last one`);
      const [lstmOut, pairs] = at.inbound.map((n) => layer(n, `an input of ${at.name}`));
      if (at.inbound.length !== 2 || pairs.className !== 'InputLayer') this.refuse(`its Concatenate layer ${at.name} joins [${at.inbound.join(', ')}], not the last Bi-LSTM and a pair features input`);
      [pairFeatures] = this.inputShape(pairs, 1, `its input ${pairs.name}`);
      at = lstmOut;
    }
    const chain: TopologyLayer[] = [];
    while (at.className === 'Bidirectional') {
      chain.unshift(at);
      at = single(at);
    }
    if (chain.length === 0) this.refuse(`it has no Bidirectional(LSTM) layer where one is expected (before ${dense.name} it has a ${at.className})`);
    let masked = false;
    if (at.className === 'Masking') {
      if (at.config.mask_value !== 0) this.refuse(`its Masking layer masks ${JSON.stringify(at.config.mask_value)}, not 0`);
      masked = true;
      at = single(at);
    }
    if (at.className !== 'InputLayer') this.refuse(`before its Bidirectional layers it has a ${at.className} (${at.name})`);
    const [maxLen, hidden] = this.inputShape(at, 2, `its input ${at.name}`);
    const biLstms: BiLstmSpec[] = [];
    let width = hidden;
    for (const l of chain) {
      const spec = this.biLstm(l, width);
      biLstms.push(spec);
      width = 2 * spec.units;
    }
    biLstms.forEach((b, i) => {
      const last = i === biLstms.length - 1;
      if (b.returnSequences === last) this.refuse(`Bidirectional layer ${i + 1} of ${biLstms.length} has return_sequences ${b.returnSequences}; only the last one may return its final state`);
    });
    const denseWidth = width + (pairFeatures ?? 0);
    return {
      maxLen,
      hidden,
      masked,
      biLstms,
      ...(pairFeatures === undefined ? {} : { pairFeatures }),
      dense: { kernel: this.weight(dense.name, '/kernel', denseWidth), bias: this.weight(dense.name, '/bias', 1, dense.config.use_bias === false)[0] },
    };
  }
}

/**
 * Reads a classifier's architecture from its Keras/TF.js topology (`model.json`'s
 * `modelTopology`) and its weights by name, without TF.js: the recipe, its masked variant and
 * the pooled head. `where` names the model (a file or the model) in error messages.
 *
 * @throws ExportError naming the layer or setting that ONNX export does not cover.
 * @example
 * const spec = classifierSpecFromTopology(modelJson.modelTopology, (name) => weights.get(name), 'runs/m/model.json');
 */
export function classifierSpecFromTopology(topology: unknown, weights: ReadonlyMap<string, Float32Array>, where: string): ClassifierSpec {
  return new SpecReader(where, (name) => weights.get(name), [...weights.keys()]).spec(topology);
}

/**
 * Reads the architecture and weights of a TF.js classifier (as {@link buildBiLstm} builds
 * and {@link loadClassifier} loads it) into a TF.js-free {@link ClassifierSpec}: the same
 * reader as for a saved `model.json` ({@link classifierSpecFromTopology}), on the topology
 * TF.js would save and the weights' values.
 *
 * @throws ExportError naming the layer or setting that ONNX export does not cover.
 * @example
 * const { model } = await loadClassifier(store, '');
 * const spec = classifierSpecFromModel(model);
 */
export function classifierSpecFromModel(model: tfl.LayersModel): ClassifierSpec {
  const weights = new Map(model.weights.map((w) => [w.originalName, Float32Array.from(w.read().dataSync() as Float32Array)]));
  return classifierSpecFromTopology(model.toJSON(null, false), weights, `model ${model.name}`);
}
