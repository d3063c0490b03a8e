import type { BiLstmSpec, ClassifierSpec, LstmDirection } from './classifier-spec.ts';
import { ExportError } from '../errors.ts';
import { GraphBuilder } from './graph-builder.ts';
import { DataType, valueInfo, type ModelProto } from './onnx-proto.ts';

/** Name of `classifier.onnx`'s input: `[batch, maxLen, hidden]` float32 token embeddings. */
export const CLASSIFIER_INPUT = 'embeddings';
/** Name of the pooled head's second input: `[batch, 4 * hidden]` float32 pair features. */
export const PAIR_FEATURES_INPUT = 'pair_features';
/** Name of the output of `classifier.onnx` and `pipeline.onnx`: `[batch, 1]` float32. */
export const PROBABILITY_OUTPUT = 'probability';
/** Opset of `classifier.onnx` (LSTM-14, ReduceMax-13 forms). */
export const CLASSIFIER_OPSET = 17;
/** IR version of `classifier.onnx` (IR 8 goes with opset 17). */
export const CLASSIFIER_IR_VERSION = 8;

/** ONNX gate g (order i, o, f, c) is Keras gate KERAS_GATE[g] (order i, f, c, o). */
const KERAS_GATE = [0, 3, 1, 2];

/**
 * One direction's weights in ONNX's layout: `W [4u, in]`, `R [4u, u]` with gates i, o, f, c,
 * and `Wb` = Keras' bias, `Rb` = 0 (Keras has one bias vector; ONNX adds `Wb + Rb`).
 */
function onnxDirection(d: LstmDirection, inputDim: number, units: number): { w: Float32Array; r: Float32Array; b: Float32Array } {
  const w = new Float32Array(4 * units * inputDim);
  const r = new Float32Array(4 * units * units);
  const b = new Float32Array(8 * units);
  for (let g = 0; g < 4; g++) {
    const col0 = KERAS_GATE[g] * units;
    for (let j = 0; j < units; j++) {
      const row = g * units + j;
      // Keras' kernel is [in, 4u] (x @ K); ONNX's W is [4u, in] (W @ x): transpose while reordering.
      for (let k = 0; k < inputDim; k++) w[row * inputDim + k] = d.kernel[k * 4 * units + col0 + j];
      for (let k = 0; k < units; k++) r[row * units + k] = d.recurrentKernel[k * 4 * units + col0 + j];
      b[row] = d.bias[col0 + j];
    }
  }
  return { w, r, b };
}

function concat(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** A bidirectional ONNX LSTM node over time-major `x [T, batch, in]`; returns Y and Y_h. */
function lstmNode(g: GraphBuilder, spec: BiLstmSpec, x: string, sequenceLens: string): { y: string; yH: string } {
  const { units, inputDim } = spec;
  const fw = onnxDirection(spec.forward, inputDim, units);
  const bw = onnxDirection(spec.backward, inputDim, units);
  const w = g.constant('W', concat(fw.w, bw.w), [2, 4 * units, inputDim]);
  const r = g.constant('R', concat(fw.r, bw.r), [2, 4 * units, units]);
  const b = g.constant('B', concat(fw.b, bw.b), [2, 8 * units]);
  const [f, gAct] = [spec.recurrentActivation, spec.activation];
  const [y, yH] = g.node(
    'LSTM',
    [x, w, r, b, sequenceLens],
    { direction: 'bidirectional', hidden_size: units, activations: [f, gAct, gAct, f, gAct, gAct] },
    2,
  );
  return { y, yH };
}

/**
 * Adds the classifier to `g`: `input [batch, maxLen, hidden]` (and, for the pooled head,
 * `pairFeatures [batch, spec.pairFeatures]`) -> probability `[batch, 1]`. Returns the output's name.
 *
 * Porting Note: Keras' Masking(0) skips every all-zero time step, wherever it is; ONNX's LSTM
 * takes a length per row (`sequence_lens`) instead. For masked models the graph counts each
 * row's non-zero steps and uses that as its length, which is exactly Keras' result whenever
 * the zero steps are the row's tail, as simpair's embedder always produces them ('dynamic'
 * padding zeroes the positions after the real tokens). A masked LSTM keeps its state over
 * skipped steps, so the forward direction's last state is the one after the last real token
 * and the backward direction starts at it: what ONNX computes with `sequence_lens`. The first
 * layer's outputs at padding positions differ (ONNX writes zeros, TF.js repeats the last
 * output), but the next layer skips those positions, so the probability is the same.
 */
export function addClassifierGraph(g: GraphBuilder, spec: ClassifierSpec, input: string, pairFeatures?: string): string {
  if ((spec.pairFeatures !== undefined) !== (pairFeatures !== undefined)) {
    throw new ExportError(`The classifier ${spec.pairFeatures === undefined ? 'has no' : 'has a'} pair features input but the graph ${pairFeatures === undefined ? 'gives none' : 'gives one'}.`);
  }
  let sequenceLens = '';
  if (spec.masked) {
    const absMax = g.reduce('ReduceMax', g.node('Abs', [input])[0], [2], 0); // [batch, T]
    const real = g.node('Cast', [g.node('Greater', [absMax, g.constant('zero', new Float32Array([0]), [])])[0]], { to: DataType.INT32 })[0];
    sequenceLens = g.reduce('ReduceSum', real, [1], 0); // [batch] int32
  }
  // ORT's LSTM kernel only takes the time-major layout (layout = 0).
  let x = g.node('Transpose', [input], { perm: [1, 0, 2] })[0]; // [T, batch, hidden]
  let last = '';
  for (const spec1 of spec.biLstms) {
    const { y, yH } = lstmNode(g, spec1, x, sequenceLens);
    if (spec1.returnSequences) {
      // Y [T, 2, batch, u] -> [T, batch, 2, u] -> [T, batch, 2u]: Keras' concat of forward and
      // backward outputs, the backward ones already in time order in both frameworks.
      const t = g.node('Transpose', [y], { perm: [0, 2, 1, 3] })[0];
      x = g.node('Reshape', [t, g.ints('shape', [0, 0, -1])])[0];
    } else {
      // Y_h [2, batch, u] -> [batch, 2, u] -> [batch, 2u]: forward's last state, backward's last state.
      const t = g.node('Transpose', [yH], { perm: [1, 0, 2] })[0];
      last = g.node('Reshape', [t, g.ints('shape', [0, -1])])[0];
    }
  }
  // The pooled head: Concatenate([Bi-LSTM output, pair features]) as Keras' Concatenate(axis=-1).
  if (pairFeatures !== undefined) last = g.node('Concat', [last, pairFeatures], { axis: 1 })[0];
  const width = spec.dense.kernel.length;
  const logits = g.node('Add', [
    g.node('MatMul', [last, g.constant('dense_kernel', spec.dense.kernel, [width, 1])])[0],
    g.constant('dense_bias', new Float32Array([spec.dense.bias]), [1]),
  ])[0];
  return g.node('Sigmoid', [logits])[0];
}

/** Options of {@link classifierModel}. */
export interface ClassifierModelOptions {
  /** Extra `metadata_props` (string key/values) to store in the model. */
  readonly metadata?: Record<string, string>;
  /** @default 'unknown' */
  readonly producerVersion?: string;
}

/**
 * `classifier.onnx`: input `embeddings [batch, maxLen, hidden]` float32 (the pooled head also
 * `pair_features [batch, 4 * hidden]`), output `probability [batch, 1]`, using ONNX's standard
 * `LSTM` operator.
 *
 * @example
 * const bytes = encodeModel(classifierModel(classifierSpecFromModel(model)));
 */
export function classifierModel(spec: ClassifierSpec, { metadata = {}, producerVersion = 'unknown' }: ClassifierModelOptions = {}): ModelProto {
  const g = new GraphBuilder('', CLASSIFIER_OPSET);
  const pooled = spec.pairFeatures !== undefined;
  const out = addClassifierGraph(g, spec, CLASSIFIER_INPUT, pooled ? PAIR_FEATURES_INPUT : undefined);
  g.node('Identity', [out], {}, [PROBABILITY_OUTPUT]);
  return {
    ir_version: CLASSIFIER_IR_VERSION,
    opset_import: [{ domain: '', version: CLASSIFIER_OPSET }],
    producer_name: 'simpair',
    producer_version: producerVersion,
    doc_string: `simpair Bi-LSTM classifier: token embeddings${pooled ? ' and pair features' : ''} -> probability that the pair is a paraphrase.`,
    graph: {
      name: 'simpair_classifier',
      node: g.nodes,
      initializer: g.initializers,
      input: [
        valueInfo(CLASSIFIER_INPUT, DataType.FLOAT, ['batch', spec.maxLen, spec.hidden]),
        ...(pooled ? [valueInfo(PAIR_FEATURES_INPUT, DataType.FLOAT, ['batch', spec.pairFeatures!])] : []),
      ],
      output: [valueInfo(PROBABILITY_OUTPUT, DataType.FLOAT, ['batch', 1])],
    },
    metadata_props: Object.entries(metadata).map(([key, value]) => ({ key, value })),
  };
}
