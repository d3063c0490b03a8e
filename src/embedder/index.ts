export { BertEmbedder, readHiddenSize } from './bert-embedder.ts';
export type { BertEmbedderOptions, Embeddings } from './bert-embedder.ts';
export { createOnnxSession } from './onnx-session.ts';
export type { OnnxSessionOptions } from './onnx-session.ts';
