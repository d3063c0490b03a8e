import { ExportError } from '../errors.ts';
import { addClassifierGraph, PROBABILITY_OUTPUT } from './classifier-graph.ts';
import type { ClassifierSpec } from './classifier-spec.ts';
import { GraphBuilder } from './graph-builder.ts';
import { DataType, int64, valueInfo, type GraphProto, type ModelProto, type NodeProto, type ValueInfoProto } from './onnx-proto.ts';

/** The inputs of `pipeline.onnx`, int64 `[batch, maxLen]` each, as a BERT tokenizer makes them. */
export const PIPELINE_INPUTS = ['input_ids', 'attention_mask', 'token_type_ids'] as const;

/** Prefix of every name the classifier adds, so it cannot clash with BERT's names. */
const PREFIX = 'simpair_classifier/';
/** `TensorProto.DataLocation.EXTERNAL`. */
const EXTERNAL_DATA = 1;
/** `AttributeProto.AttributeType.GRAPH` / `GRAPHS`. */
const GRAPH_ATTRIBUTES = new Set([5, 10]);

/** Options of {@link pipelineModel}. */
export interface PipelineModelOptions {
  /** Extra `metadata_props` (string key/values) to store in the model. */
  readonly metadata?: Record<string, string>;
  /** @default 'unknown' */
  readonly producerVersion?: string;
  /** Where the BERT model came from, for error messages. @default 'the BERT model' */
  readonly bertName?: string;
}

function defaultOpset(model: ModelProto): number {
  const entry = model.opset_import.find((o) => !o.domain || o.domain === 'ai.onnx');
  return int64(entry?.version);
}

/** Names every node of `graph` (and of its subgraphs) reads. */
function namesRead(nodes: readonly NodeProto[], into: Set<string>): void {
  for (const node of nodes) {
    for (const input of node.input) into.add(input);
    for (const attr of node.attribute ?? []) {
      if (!GRAPH_ATTRIBUTES.has(attr.type)) continue;
      const graphs = [attr.g, ...((attr.graphs as unknown[]) ?? [])].filter(Boolean) as GraphProto[];
      for (const g of graphs) namesRead(g.node, into);
    }
  }
}

/**
 * Drops the nodes and initializers no output needs: BERT's pooler and any other output the
 * pipeline does not return. A node with a subgraph keeps whatever its subgraph reads.
 */
function prune(graph: GraphProto): void {
  const needed = new Set(graph.output.map((o) => o.name));
  const kept: NodeProto[] = [];
  for (let i = graph.node.length - 1; i >= 0; i--) {
    const node = graph.node[i];
    if (!node.output.some((o) => needed.has(o))) continue;
    kept.push(node);
    namesRead([node], needed);
  }
  graph.node = kept.reverse();
  graph.initializer = graph.initializer.filter((t) => needed.has(t.name));
}

function tokenInput(name: string, maxLen: number): ValueInfoProto {
  return valueInfo(name, DataType.INT64, ['batch', maxLen]);
}

/**
 * `pipeline.onnx`: BERT and the classifier in one graph. Inputs `input_ids`,
 * `attention_mask`, `token_type_ids` (int64 `[batch, maxLen]`, what a WordPiece tokenizer
 * gives with padding to maxLen), output `probability` `[batch, 1]`. BERT's graph is kept as
 * it is (same opsets, so an int8 export stays int8); the classifier is built for BERT's opset
 * and reads `last_hidden_state`. For masked models, the positions where `attention_mask` is 0
 * are set to zeros first, as simpair's 'dynamic' padding does, so the classifier's length
 * count is each row's number of real tokens.
 *
 * @throws ExportError when BERT's graph cannot take the classifier (opset < 13, external
 * data, no `input_ids`/`attention_mask`, a hidden size other than the classifier's).
 */
export function pipelineModel(bert: ModelProto, spec: ClassifierSpec, { metadata = {}, producerVersion = 'unknown', bertName = 'the BERT model' }: PipelineModelOptions = {}): ModelProto {
  const opset = defaultOpset(bert);
  if (opset < 13) throw new ExportError(`${bertName} uses ONNX opset ${opset}; pipeline.onnx needs opset 13 or newer. Re-export BERT with opset_version=14 (scripts/export_minilm.py does).`);
  const graph = bert.graph;
  if (graph.initializer.some((t) => t.data_location === EXTERNAL_DATA)) {
    throw new ExportError(`${bertName} keeps its weights in external data files; export BERT as one .onnx file (under 2 GB) to merge it.`);
  }
  for (const name of ['input_ids', 'attention_mask']) {
    if (!graph.input.some((i) => i.name === name)) throw new ExportError(`${bertName} has inputs [${graph.input.map((i) => i.name).join(', ')}] but no ${name}.`);
  }
  const clash = [...graph.node.flatMap((n) => n.output), ...graph.initializer.map((t) => t.name)].find((n) => n.startsWith(PREFIX) || n === PROBABILITY_OUTPUT);
  if (clash) throw new ExportError(`${bertName} already has a value named ${clash}; rename it before merging.`);
  const hiddenOutput = graph.output.find((o) => o.name === 'last_hidden_state') ?? graph.output[0];
  const hiddenDim = hiddenOutput?.type?.tensor_type?.shape?.dim?.[2];
  if (hiddenDim && hiddenDim.dim_value != null && int64(hiddenDim.dim_value) !== 0 && int64(hiddenDim.dim_value) !== spec.hidden) {
    throw new ExportError(`${bertName}'s ${hiddenOutput.name} has hidden size ${int64(hiddenDim.dim_value)} but the classifier takes ${spec.hidden}; export with the embedding model the classifier was trained on.`);
  }

  const g = new GraphBuilder(PREFIX, opset);
  let hidden = hiddenOutput.name;
  if (spec.masked) {
    const mask = g.node('Cast', [g.node('Reshape', ['attention_mask', g.ints('shape', [0, 0, 1])])[0]], { to: DataType.FLOAT })[0];
    hidden = g.node('Mul', [hidden, mask])[0];
  }
  g.node('Identity', [addClassifierGraph(g, spec, hidden)], {}, [PROBABILITY_OUTPUT]);

  const inputs = PIPELINE_INPUTS.map((name) => tokenInput(name, spec.maxLen));
  const merged: GraphProto = {
    name: 'simpair_pipeline',
    doc_string: `simpair pipeline: BERT (${bertName}) -> Bi-LSTM -> probability that the pair is a paraphrase.`,
    node: [...graph.node, ...g.nodes],
    initializer: [...graph.initializer, ...g.initializers],
    // token_type_ids stays an input even for models without it (DistilBERT), so every export takes the same three.
    input: inputs,
    output: [valueInfo(PROBABILITY_OUTPUT, DataType.FLOAT, ['batch', 1])],
  };
  prune(merged);
  return {
    ir_version: Math.max(int64(bert.ir_version), 7),
    opset_import: bert.opset_import,
    producer_name: 'simpair',
    producer_version: producerVersion,
    doc_string: merged.doc_string,
    graph: merged,
    metadata_props: Object.entries(metadata).map(([key, value]) => ({ key, value })),
  };
}
