export { BertEmbedder, readHiddenSize } from './bert-embedder.ts';
export type { BertEmbedderOptions, Embeddings } from './bert-embedder.ts';
export { createOnnxSession } from './onnx-session.ts';
export type { OnnxSessionOptions } from './onnx-session.ts';
export { checkQuantizedModel, compareEmbeddings, INT8_MIN_COSINE } from './check-quantized.ts';
export type { CheckQuantizedOptions, EmbeddingAgreement } from './check-quantized.ts';
export { meanPooledSentenceEmbeddings } from './pooled-embeddings.ts';
export type { PooledEmbeddingOptions, PooledEmbeddings } from './pooled-embeddings.ts';
