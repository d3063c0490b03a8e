import { ModelSourceError } from '../errors.ts';
import { DataType, decodeModel, int64, type ModelProto, type NodeProto, type TensorProto } from '../onnx-export/onnx-proto.ts';
import { prune } from '../onnx-export/pipeline-graph.ts';
import type { BertConfig } from './bert-config.ts';

/**
 * One BERT parameter, named as Hugging Face names it without the model prefix
 * (`embeddings.word_embeddings.weight`, `encoder.layer.0.attention.self.query.weight`), in
 * TF.js layout: a dense weight is the kernel `[in, out]` (the transpose of PyTorch's
 * `[out, in]`), embeddings `[rows, hidden]`, biases and LayerNorm vectors `[n]`.
 */
export interface BertParameter {
  readonly name: string;
  readonly shape: readonly number[];
  readonly values: Float32Array;
}

/** Where a parameter sits in the ONNX graph: the node inputs that read it. */
interface ParameterSite {
  /** The initializer holding the values (after following Identity nodes). */
  readonly initializer: TensorProto;
  /** The initializer stores `[out, in]` (read through Transpose / Gemm transB), not the kernel. */
  readonly transposed: boolean;
  /** Every (node, input index) reading the parameter. */
  readonly edges: { readonly node: NodeProto; readonly input: number }[];
}

/** Operators of int8 exports (onnxruntime's quantize_dynamic): their weights are no float parameters. */
const QUANTIZED_OPS = new Set(['MatMulInteger', 'DynamicQuantizeLinear', 'DequantizeLinear', 'QLinearMatMul']);
/** A dense layer's parameter name; the rest are embeddings, biases and LayerNorm vectors. */
const DENSE_WEIGHT = /(?:attention\.self\.(?:query|key|value)|attention\.output\.dense|intermediate\.dense|output\.dense)\.weight$/;
/** A parameter name inside a (possibly prefixed) ONNX value name: `bert.encoder.layer.0.output.dense.bias`. */
const NAMED_PARAMETER = /(?:^|[./])((?:embeddings|encoder\.layer\.\d+)\.[\w.]+\.(?:weight|bias))$/;
/** A MatMul node named by PyTorch's exporter scope: `/bert/encoder/layer.0/attention/self/query/MatMul`. */
const SCOPED_MATMUL = /\/(encoder\/layer\.\d+\/[\w./]+?)\/MatMul(?:_\d+)?$/;

/**
 * The names and TF.js shapes of every parameter of a BERT with `config` (the pooler, which
 * `last_hidden_state` does not use, excluded), in a fixed order.
 */
export function bertParameterShapes(config: BertConfig): { name: string; shape: number[] }[] {
  const { vocabSize, hiddenSize: h, maxPositionEmbeddings, typeVocabSize, intermediateSize: i, numHiddenLayers } = config;
  const out = [
    { name: 'embeddings.word_embeddings.weight', shape: [vocabSize, h] },
    { name: 'embeddings.position_embeddings.weight', shape: [maxPositionEmbeddings, h] },
    { name: 'embeddings.token_type_embeddings.weight', shape: [typeVocabSize, h] },
    { name: 'embeddings.LayerNorm.weight', shape: [h] },
    { name: 'embeddings.LayerNorm.bias', shape: [h] },
  ];
  for (let l = 0; l < numHiddenLayers; l++) {
    const p = `encoder.layer.${l}`;
    for (const proj of ['query', 'key', 'value']) {
      out.push({ name: `${p}.attention.self.${proj}.weight`, shape: [h, h] }, { name: `${p}.attention.self.${proj}.bias`, shape: [h] });
    }
    out.push(
      { name: `${p}.attention.output.dense.weight`, shape: [h, h] },
      { name: `${p}.attention.output.dense.bias`, shape: [h] },
      { name: `${p}.attention.output.LayerNorm.weight`, shape: [h] },
      { name: `${p}.attention.output.LayerNorm.bias`, shape: [h] },
      { name: `${p}.intermediate.dense.weight`, shape: [h, i] },
      { name: `${p}.intermediate.dense.bias`, shape: [i] },
      { name: `${p}.output.dense.weight`, shape: [i, h] },
      { name: `${p}.output.dense.bias`, shape: [h] },
      { name: `${p}.output.LayerNorm.weight`, shape: [h] },
      { name: `${p}.output.LayerNorm.bias`, shape: [h] },
    );
  }
  return out;
}

/**
 * Finds every BERT parameter in an ONNX graph exported from PyTorch: initializers named after
 * the parameter (`bert.embeddings.LayerNorm.weight`), parameters the exporter deduplicated
 * (an Identity node renaming one shared initializer, e.g. every zero bias) and dense weights
 * it renamed (`onnx::MatMul_251`, found by the MatMul node's scope,
 * `/bert/encoder/layer.0/attention/self/query/MatMul`).
 */
function locateParameters(model: ModelProto, where: string): Map<string, ParameterSite> {
  const { graph } = model;
  if (!graph) throw new ModelSourceError(`${where} has no ONNX graph; give the BERT export (onnx/model.onnx).`);
  const initializers = new Map(graph.initializer.map((t) => [t.name, t]));
  const source = new Map<string, TensorProto>(initializers);
  for (const node of graph.node) {
    if (node.op_type === 'Identity' && source.has(node.input[0])) source.set(node.output[0], source.get(node.input[0])!);
  }
  const sites = new Map<string, ParameterSite>();
  for (const node of graph.node) {
    if (node.op_type === 'Identity') continue;
    node.input.forEach((valueName, input) => {
      const initializer = source.get(valueName);
      if (!initializer) return;
      let name = NAMED_PARAMETER.exec(valueName)?.[1];
      if (!name && node.op_type === 'MatMul' && input === 1) {
        const scope = SCOPED_MATMUL.exec(node.name ?? '')?.[1];
        if (scope) name = `${scope.replaceAll('/', '.')}.weight`;
      }
      if (!name) return;
      const transposed =
        DENSE_WEIGHT.test(name) &&
        (node.op_type === 'Transpose' || (node.op_type === 'Gemm' && (node.attribute ?? []).some((a) => a.name === 'transB' && int64(a.i) === 1)));
      const site = sites.get(name);
      if (!site) {
        sites.set(name, { initializer, transposed, edges: [{ node, input }] });
      } else if (site.initializer !== initializer || site.transposed !== transposed) {
        throw new ModelSourceError(`${where}: the BERT parameter ${name} is read from two different initializers (${site.initializer.name}, ${initializer.name}); re-export the model with scripts/export_minilm.py's exporter.`);
      } else {
        site.edges.push({ node, input });
      }
    });
  }
  return sites;
}

function floatValues(t: TensorProto, where: string): Float32Array {
  if (t.data_type !== DataType.FLOAT) {
    throw new ModelSourceError(`${where}: initializer ${t.name} has ONNX data type ${t.data_type}, not float32; fine-tuning needs the float32 export (onnx/model.onnx, not the int8 file).`);
  }
  const raw = t.raw_data;
  if (raw && raw.byteLength > 0) return new Float32Array(new Uint8Array(raw).buffer); // a copy: raw_data may be an unaligned view (Node Buffer)
  const data = t.float_data as number[] | undefined;
  return Float32Array.from(data ?? []);
}

function transpose2d(values: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c];
  return out;
}

/**
 * Reads a BERT's parameters from its ONNX export (the file the embedder runs), checked
 * against `config`: every parameter present, with its shape.
 *
 * @throws ModelSourceError naming the file and every missing or misshapen parameter
 * @example
 * const params = readBertWeights(await readFile('models/all-MiniLM-L6-v2/onnx/model.onnx'), config, 'model.onnx');
 */
export function readBertWeights(onnx: Uint8Array | ModelProto, config: BertConfig, where = 'the BERT ONNX file'): BertParameter[] {
  const model = onnx instanceof Uint8Array ? decodeModel(onnx) : onnx;
  const sites = locateParameters(model, where);
  const quantized = model.graph.node.find((n) => QUANTIZED_OPS.has(n.op_type));
  if (quantized) {
    throw new ModelSourceError(`${where} is a quantized export (it has ${quantized.op_type} nodes); fine-tuning needs the float32 export, onnx/model.onnx (drop --quantized).`);
  }
  const problems: string[] = [];
  const params: BertParameter[] = [];
  for (const { name, shape } of bertParameterShapes(config)) {
    const site = sites.get(name);
    if (!site) {
      problems.push(`${name} not found`);
      continue;
    }
    const dims = site.initializer.dims.map(int64);
    const stored = site.transposed ? [...shape].reverse() : shape;
    if (dims.join('x') !== stored.join('x')) {
      problems.push(`${name} (${site.initializer.name}) has shape [${dims.join(', ')}], config.json implies [${stored.join(', ')}]`);
      continue;
    }
    let values = floatValues(site.initializer, where);
    if (site.transposed) values = transpose2d(values, stored[0], stored[1]);
    params.push({ name, shape, values });
  }
  if (problems.length) {
    throw new ModelSourceError(`${where} does not hold the BERT that config.json describes: ${problems.slice(0, 8).join('; ')}${problems.length > 8 ? `; and ${problems.length - 8} more` : ''}. Export the model with scripts/export_minilm.py (PyTorch's ONNX exporter, opset 17).`);
  }
  return params;
}

/**
 * A copy of a BERT ONNX graph with its parameters replaced by `params` (as {@link readBertWeights}
 * returns them, e.g. after fine-tuning): each parameter gets its own initializer
 * (`finetuned/<name>`), so parameters the exporter had deduplicated (identical zero biases)
 * can differ, and the old initializers and Identity nodes no output needs are dropped. Nodes,
 * inputs, outputs and opsets are unchanged.
 *
 * @throws ModelSourceError when a parameter is missing from `params` or has the wrong size
 */
export function withBertWeights(onnx: Uint8Array, params: readonly BertParameter[], config: BertConfig, where = 'the BERT ONNX file'): ModelProto {
  const model = decodeModel(onnx);
  const sites = locateParameters(model, where);
  const byName = new Map(params.map((p) => [p.name, p]));
  const added: TensorProto[] = [];
  for (const { name, shape } of bertParameterShapes(config)) {
    const site = sites.get(name);
    const param = byName.get(name);
    const size = shape.reduce((a, b) => a * b, 1);
    if (!site) throw new ModelSourceError(`${where} has no BERT parameter ${name}; export it with scripts/export_minilm.py.`);
    if (!param || param.values.length !== size) {
      throw new ModelSourceError(`withBertWeights: parameter ${name} needs ${size} values (shape [${shape.join(', ')}]), got ${param ? param.values.length : 'none'}.`);
    }
    const stored = site.transposed ? [...shape].reverse() : shape;
    const values = site.transposed ? transpose2d(param.values, shape[0], shape[1]) : param.values;
    const tensorName = `finetuned/${name}`;
    added.push({ name: tensorName, data_type: DataType.FLOAT, dims: stored, raw_data: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) });
    for (const { node, input } of site.edges) node.input[input] = tensorName;
  }
  model.graph.initializer = [...model.graph.initializer, ...added];
  prune(model.graph);
  return model;
}
