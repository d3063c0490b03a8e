import * as ort from 'onnxruntime-node';
import { ModelSourceError } from '../errors.ts';

/** Options for creating an ONNX Runtime session. */
export interface OnnxSessionOptions {
  /** Threads inside one operator. @default the number of cores (ORT's own default) */
  readonly intraOpThreads?: number;
  /** Where in-memory model bytes came from, for error messages. @default a description of the bytes */
  readonly name?: string;
}

/**
 * The only place in simpair that creates an ONNX Runtime inference session, so every
 * session gets the same optimisation and threading settings. `model` is a file path, or the
 * bytes of a `.onnx` file (a model read from an object store); `name` then says where the
 * bytes came from, for the error message.
 */
export async function createOnnxSession(
  model: string | Uint8Array,
  { intraOpThreads, name, fix }: OnnxSessionOptions & { fix?: string } = {},
): Promise<ort.InferenceSession> {
  const modelPath = typeof model === 'string' ? model : (name ?? `an in-memory ONNX model of ${model.byteLength} bytes`);
  const options: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    interOpNumThreads: 1,
    ...(intraOpThreads ? { intraOpNumThreads: intraOpThreads } : {}),
  };
  try {
    return typeof model === 'string' ? await ort.InferenceSession.create(model, options) : await ort.InferenceSession.create(model, options);
  } catch (err) {
    throw new ModelSourceError(`ONNX Runtime could not load ${modelPath}: ${(err as Error).message}. ${fix ?? 'Re-export the model (scripts/export_minilm.py) or check the path.'}`, {
      cause: err,
    });
  }
}

export { ort };
