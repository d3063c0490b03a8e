import { ExportError } from '../errors.ts';
import { addClassifierGraph, PROBABILITY_OUTPUT } from './classifier-graph.ts';
import type { ClassifierSpec } from './classifier-spec.ts';
import { GraphBuilder } from './graph-builder.ts';
import { DataType, int64, valueInfo, type GraphProto, type ModelProto, type NodeProto, type ValueInfoProto } from './onnx-proto.ts';

/** The inputs of `pipeline.onnx`, int64 `[batch, maxLen]` each, as a BERT tokenizer makes them. */
export const PIPELINE_INPUTS = ['input_ids', 'attention_mask', 'token_type_ids'] as const;
/**
 * The pooled head's extra inputs: each sentence tokenized alone (`[CLS] s [SEP]`, token type
 * 0), int64 `[batch, tokens]` padded to the batch's longest sentence, as `simpair predict`
 * pools them (truncated to `simpair.sentenceMaxTokens` of the file's metadata).
 */
export const SENTENCE_INPUTS = ['sentence1_input_ids', 'sentence1_attention_mask', 'sentence2_input_ids', 'sentence2_attention_mask'] as const;

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
export function prune(graph: GraphProto): void {
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

function tokenInput(name: string, maxLen: number | string): ValueInfoProto {
  return valueInfo(name, DataType.INT64, ['batch', maxLen]);
}

/**
 * BERT's nodes once more, for one sentence alone: every value BERT computes gets `prefix`,
 * its inputs are `inputs` (BERT's input name -> the value fed), its weights (initializers)
 * are shared with the first pass. Returns the nodes and the name of the pass's hidden state.
 */
function bertPass(graph: GraphProto, hiddenName: string, prefix: string, inputs: ReadonlyMap<string, string>): { nodes: NodeProto[]; hidden: string } {
  const renamed = new Map(inputs);
  const nodes = graph.node.map((node) => ({
    name: `${prefix}${node.name ?? ''}`,
    op_type: node.op_type,
    domain: node.domain,
    attribute: node.attribute,
    // Nodes are in topological order: every input is BERT's input, a weight, or renamed already.
    input: node.input.map((n) => renamed.get(n) ?? n),
    output: node.output.map((o) => {
      if (!o) return o;
      renamed.set(o, `${prefix}${o}`);
      return `${prefix}${o}`;
    }),
  }));
  return { nodes, hidden: renamed.get(hiddenName) ?? hiddenName };
}

/**
 * The pooled head's pair features from two more BERT passes: each sentence's hidden states
 * averaged over its attention mask (sentence-transformers' mean pooling, as
 * meanPooledSentenceEmbeddings computes it), then `[u, v, |u - v|, u * v]` (pairFeatures).
 */
function pairFeaturesGraph(g: GraphBuilder, graph: GraphProto, hiddenName: string): { nodes: NodeProto[]; features: string } {
  const hasTokenTypes = graph.input.some((i) => i.name === 'token_type_ids');
  const nodes: NodeProto[] = [];
  const pooled = ['sentence1', 'sentence2'].map((sentence) => {
    const ids = `${sentence}_input_ids`;
    const mask = `${sentence}_attention_mask`;
    const inputs = new Map([
      ['input_ids', ids],
      ['attention_mask', mask],
    ]);
    if (hasTokenTypes) {
      // A sentence alone has token type 0 everywhere; this node must precede the pass's nodes.
      const zeros = `simpair_${sentence}/token_type_ids`;
      nodes.push({ name: `${zeros}_node`, op_type: 'Sub', input: [ids, ids], output: [zeros], attribute: [] });
      inputs.set('token_type_ids', zeros);
    }
    const pass = bertPass(graph, hiddenName, `simpair_${sentence}/`, inputs);
    nodes.push(...pass.nodes);
    const weights = g.node('Cast', [g.node('Reshape', [mask, g.ints('shape', [0, 0, 1])])[0]], { to: DataType.FLOAT })[0]; // [batch, tokens, 1]
    const sum = g.reduce('ReduceSum', g.node('Mul', [pass.hidden, weights])[0], [1], 0); // [batch, hidden]
    const count = g.reduce('ReduceSum', weights, [1], 0); // [batch, 1]
    return g.node('Div', [sum, count])[0];
  });
  const [u, v] = pooled;
  const features = g.node('Concat', [u, v, g.node('Abs', [g.node('Sub', [u, v])[0]])[0], g.node('Mul', [u, v])[0]], { axis: 1 })[0];
  return { nodes, features };
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
  const clash = [...graph.node.flatMap((n) => n.output), ...graph.initializer.map((t) => t.name)].find((n) => n.startsWith('simpair_') || n === PROBABILITY_OUTPUT);
  if (clash) throw new ExportError(`${bertName} already has a value named ${clash}; rename it before merging.`);
  const hiddenOutput = graph.output.find((o) => o.name === 'last_hidden_state') ?? graph.output[0];
  const hiddenDim = hiddenOutput?.type?.tensor_type?.shape?.dim?.[2];
  if (hiddenDim && hiddenDim.dim_value != null && int64(hiddenDim.dim_value) !== 0 && int64(hiddenDim.dim_value) !== spec.hidden) {
    throw new ExportError(`${bertName}'s ${hiddenOutput.name} has hidden size ${int64(hiddenDim.dim_value)} but the classifier takes ${spec.hidden}; export with the embedding model the classifier was trained on.`);
  }

  const pooled = spec.pairFeatures !== undefined;
  if (pooled && graph.node.some((n) => (n.attribute ?? []).some((a) => GRAPH_ATTRIBUTES.has(a.type)))) {
    throw new ExportError(`${bertName} has nodes with subgraphs (If, Loop, Scan); the pooled head's pipeline.onnx runs BERT three times and does not copy subgraphs. Export BERT without control flow, or predict with simpair predict.`);
  }
  const g = new GraphBuilder(PREFIX, opset);
  let hidden = hiddenOutput.name;
  if (spec.masked) {
    const mask = g.node('Cast', [g.node('Reshape', ['attention_mask', g.ints('shape', [0, 0, 1])])[0]], { to: DataType.FLOAT })[0];
    hidden = g.node('Mul', [hidden, mask])[0];
  }
  const sentencePasses = pooled ? pairFeaturesGraph(g, graph, hiddenOutput.name) : undefined;
  g.node('Identity', [addClassifierGraph(g, spec, hidden, sentencePasses?.features)], {}, [PROBABILITY_OUTPUT]);

  const inputs = [
    ...PIPELINE_INPUTS.map((name) => tokenInput(name, spec.maxLen)),
    ...(pooled ? SENTENCE_INPUTS.map((name) => tokenInput(name, name.startsWith('sentence1') ? 'sentence1_tokens' : 'sentence2_tokens')) : []),
  ];
  const merged: GraphProto = {
    name: 'simpair_pipeline',
    doc_string: `simpair pipeline: BERT (${bertName}) -> Bi-LSTM${pooled ? ' + the two sentences\' mean-pooled BERT embeddings' : ''} -> probability that the pair is a paraphrase.`,
    // The sentence passes' nodes come before the classifier's, which reads their pooled vectors.
    node: [...graph.node, ...(sentencePasses?.nodes ?? []), ...g.nodes],
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
