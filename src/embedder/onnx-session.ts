import * as ort from 'onnxruntime-node';
import { ModelSourceError } from '../errors.ts';

/** Options for creating an ONNX Runtime session. */
export interface OnnxSessionOptions {
  /** Threads inside one operator. @default the number of cores (ORT's own default) */
  readonly intraOpThreads?: number;
}

/**
 * The only place in simpair that creates an ONNX Runtime inference session, so every
 * session gets the same optimisation and threading settings.
 */
export async function createOnnxSession(modelPath: string, { intraOpThreads }: OnnxSessionOptions = {}): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(modelPath, {
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      interOpNumThreads: 1,
      ...(intraOpThreads ? { intraOpNumThreads: intraOpThreads } : {}),
    });
  } catch (err) {
    throw new ModelSourceError(`ONNX Runtime could not load ${modelPath}: ${(err as Error).message}. Re-export the model (scripts/export_minilm.py) or check the path.`, {
      cause: err,
    });
  }
}

export { ort };
