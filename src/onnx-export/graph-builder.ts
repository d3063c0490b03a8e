import { AttributeType, DataType, type AttributeProto, type NodeProto, type TensorProto } from './onnx-proto.ts';

/** An attribute value: numbers are INT unless listed in `floatAttributes`, arrays INTS/FLOATS, strings STRING(S). */
export type AttributeValue = number | string | readonly number[] | readonly string[];

/**
 * Collects the nodes and initializers of an ONNX graph under one name prefix, so two graphs
 * built apart (BERT's and the classifier's) can be merged without name clashes, and picks
 * the form of ops whose signature changed between opsets (`axes` became an input of
 * `ReduceSum` in opset 13 and of the other reductions in opset 18).
 *
 * @example
 * const g = new GraphBuilder('classifier/', 17);
 * const y = g.node('Sigmoid', [x]);
 */
export class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  private count = 0;

  constructor(
    readonly prefix: string,
    readonly opset: number,
  ) {}

  /** A fresh value name under the prefix. */
  name(hint: string): string {
    return `${this.prefix}${hint}_${this.count++}`;
  }

  /** Adds a constant (a graph initializer) and returns its name. */
  constant(hint: string, data: Float32Array | BigInt64Array | Int32Array, dims: readonly number[]): string {
    const name = this.name(hint);
    const dataType = data instanceof Float32Array ? DataType.FLOAT : data instanceof Int32Array ? DataType.INT32 : DataType.INT64;
    // raw_data is little-endian; every platform Node runs on here is too.
    this.initializers.push({ name, data_type: dataType, dims: [...dims], raw_data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
    return name;
  }

  /** An int64 vector constant (shapes, axes). */
  ints(hint: string, values: readonly number[]): string {
    return this.constant(hint, BigInt64Array.from(values, BigInt), [values.length]);
  }

  /**
   * Adds a node; returns its output names (`outputs` of them, or the given names).
   * Empty strings in `inputs` mark omitted optional inputs, as ONNX wants.
   */
  node(opType: string, inputs: readonly string[], attributes: Record<string, AttributeValue> = {}, outputs: number | readonly string[] = 1): string[] {
    const names = typeof outputs === 'number' ? Array.from({ length: outputs }, () => this.name(opType.toLowerCase())) : [...outputs];
    this.nodes.push({
      name: this.name(`node_${opType}`),
      op_type: opType,
      input: [...inputs],
      output: names,
      attribute: Object.entries(attributes).map(([name, value]) => attribute(name, value)),
    });
    return names;
  }

  /** `ReduceOp(x)` over `axes`, in the form the opset wants. */
  reduce(op: 'ReduceSum' | 'ReduceMax', x: string, axes: readonly number[], keepdims: 0 | 1): string {
    const axesAsInput = op === 'ReduceSum' ? this.opset >= 13 : this.opset >= 18;
    if (axesAsInput) return this.node(op, [x, this.ints('axes', axes)], { keepdims })[0];
    return this.node(op, [x], { axes, keepdims })[0];
  }
}

/** LSTM's `activation_alpha`/`activation_beta` and similar attributes hold floats. */
const FLOAT_ATTRIBUTES = new Set(['activation_alpha', 'activation_beta', 'alpha', 'beta', 'clip', 'value_float']);

function attribute(name: string, value: AttributeValue): AttributeProto {
  if (typeof value === 'string') return { name, type: AttributeType.STRING, s: new TextEncoder().encode(value) };
  if (typeof value === 'number') {
    return FLOAT_ATTRIBUTES.has(name) ? { name, type: AttributeType.FLOAT, f: value } : { name, type: AttributeType.INT, i: value };
  }
  if (value.length > 0 && typeof value[0] === 'string') {
    return { name, type: AttributeType.STRINGS, strings: (value as readonly string[]).map((s) => new TextEncoder().encode(s)) };
  }
  const numbers = value as readonly number[];
  return FLOAT_ATTRIBUTES.has(name) ? { name, type: AttributeType.FLOATS, floats: [...numbers] } : { name, type: AttributeType.INTS, ints: [...numbers] };
}
