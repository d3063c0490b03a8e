import protobuf from 'protobufjs';
import { ONNX_SCHEMA } from './onnx-schema.ts';

/**
 * ONNX's protobuf schema for protobufjs, built on first use from the descriptor generated
 * from the vendored `onnx.proto` (onnx 1.23.2, the version scripts/requirements.txt pins and
 * whose checker the tests run). Field names keep the schema's snake_case (`raw_data`,
 * `opset_import`), so objects here read like ONNX's own documentation.
 */
let modelProtoType: protobuf.Type | undefined;
function modelProto(): protobuf.Type {
  modelProtoType ??= protobuf.Root.fromJSON(ONNX_SCHEMA as protobuf.INamespace).lookupType('onnx.ModelProto');
  return modelProtoType;
}

/** `TensorProto.DataType` values simpair writes. */
export const DataType = { FLOAT: 1, INT32: 6, INT64: 7, BOOL: 9 } as const;

/** `AttributeProto.AttributeType` values. */
export const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

/** int64 fields: numbers when written, `Long`-like objects when read back. */
export type Int64 = number | { toNumber(): number };

/** `TensorProto`, as far as simpair writes it (data always in `raw_data`, little-endian). */
export interface TensorProto {
  name: string;
  data_type: number;
  dims: Int64[];
  raw_data?: Uint8Array;
  [field: string]: unknown;
}

/** `AttributeProto`. */
export interface AttributeProto {
  name: string;
  type: number;
  f?: number;
  i?: Int64;
  s?: Uint8Array;
  floats?: number[];
  ints?: Int64[];
  strings?: Uint8Array[];
  [field: string]: unknown;
}

/** `NodeProto`. */
export interface NodeProto {
  name?: string;
  op_type: string;
  domain?: string;
  input: string[];
  output: string[];
  attribute?: AttributeProto[];
  [field: string]: unknown;
}

/** One dimension: a fixed size or a named (symbolic) one. */
export type Dim = number | string;

/** `ValueInfoProto`. */
export interface ValueInfoProto {
  name: string;
  type?: { tensor_type?: { elem_type?: number; shape?: { dim: ({ dim_value?: Int64; dim_param?: string } & Record<string, unknown>)[] } } };
  [field: string]: unknown;
}

/** `GraphProto`. */
export interface GraphProto {
  name: string;
  node: NodeProto[];
  initializer: TensorProto[];
  input: ValueInfoProto[];
  output: ValueInfoProto[];
  value_info?: ValueInfoProto[];
  doc_string?: string;
  [field: string]: unknown;
}

/** `OperatorSetIdProto`. */
export interface OpsetId {
  domain?: string;
  version: Int64;
}

/** `ModelProto`. */
export interface ModelProto {
  ir_version: Int64;
  opset_import: OpsetId[];
  producer_name?: string;
  producer_version?: string;
  doc_string?: string;
  graph: GraphProto;
  metadata_props?: { key: string; value: string }[];
  [field: string]: unknown;
}

/** Serialises a model to the bytes of a `.onnx` file. */
export function encodeModel(model: ModelProto): Uint8Array {
  const type = modelProto();
  const message = type.fromObject(model);
  const problem = type.verify(message);
  if (problem) throw new Error(`ONNX ModelProto is malformed: ${problem}`);
  return type.encode(message).finish();
}

/** Parses the bytes of a `.onnx` file. Tensor data stays a view of `bytes` where protobufjs allows. */
export function decodeModel(bytes: Uint8Array): ModelProto {
  return modelProto().decode(bytes) as unknown as ModelProto;
}

/** A tensor type with the given element type and dimensions (numbers fixed, strings symbolic). */
export function valueInfo(name: string, elemType: number, dims: readonly Dim[]): ValueInfoProto {
  return {
    name,
    type: { tensor_type: { elem_type: elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) } } },
  };
}

/** A number from an int64 field, whichever form protobufjs gave it. */
export function int64(value: Int64 | undefined | null): number {
  if (value == null) return 0;
  return typeof value === 'number' ? value : value.toNumber();
}
