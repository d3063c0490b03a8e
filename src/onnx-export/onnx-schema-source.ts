import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';

/**
 * Parses the vendored `onnx.proto` (from the `onnx` 1.23.2 Python package, the version
 * scripts/requirements.txt pins) into protobufjs' JSON descriptor. Used by
 * scripts/generate-onnx-schema.ts and its drift test only: simpair itself reads the
 * generated onnx-schema.ts, which needs no file at run time.
 */
export function onnxSchemaFromProto(): protobuf.INamespace {
  const text = readFileSync(new URL('./onnx.proto', import.meta.url), 'utf8');
  return protobuf.parse(text, { keepCase: true }).root.toJSON();
}
