import { describe, expect, it } from 'vitest';
import { decodeModel, encodeModel, int64, valueInfo, DataType } from '../../src/onnx-export/onnx-proto.ts';
import { ONNX_SCHEMA } from '../../src/onnx-export/onnx-schema.ts';
import { onnxSchemaFromProto } from '../../src/onnx-export/onnx-schema-source.ts';

describe('ONNX protobuf schema', () => {
  it('the embedded schema is the vendored onnx.proto (regenerate with scripts/generate-onnx-schema.ts)', () => {
    expect(ONNX_SCHEMA).toEqual(JSON.parse(JSON.stringify(onnxSchemaFromProto())));
  });

  it('round-trips a model: nodes, attributes, raw tensor data, int64 fields', () => {
    const weights = new Float32Array([1.5, -2, 3.25]);
    const bytes = encodeModel({
      ir_version: 8,
      opset_import: [{ domain: '', version: 17 }],
      producer_name: 'simpair',
      graph: {
        name: 'g',
        node: [{ op_type: 'Add', input: ['x', 'w'], output: ['y'], attribute: [{ name: 'note', type: 3, s: new TextEncoder().encode('hi') }] }],
        initializer: [{ name: 'w', data_type: DataType.FLOAT, dims: [3], raw_data: new Uint8Array(weights.buffer) }],
        input: [valueInfo('x', DataType.FLOAT, ['batch', 3])],
        output: [valueInfo('y', DataType.FLOAT, ['batch', 3])],
      },
    });
    const model = decodeModel(bytes);
    expect(int64(model.ir_version)).toBe(8);
    expect(int64(model.opset_import[0].version)).toBe(17);
    expect(model.graph.node[0]).toMatchObject({ op_type: 'Add', input: ['x', 'w'], output: ['y'] });
    const raw = model.graph.initializer[0].raw_data!;
    expect(Array.from(new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength)))).toEqual([1.5, -2, 3.25]);
    expect(model.graph.input[0].type?.tensor_type?.shape?.dim.map((d) => d.dim_param || int64(d.dim_value))).toEqual(['batch', 3]);
  });
});
