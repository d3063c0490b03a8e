export { downloadHubFiles } from './hub-download.ts';
export type { HubDownloadOptions } from './hub-download.ts';
export { assertModelDir, HUB_ALIASES, resolveModelSource } from './resolve-model-source.ts';
export type { ResolvedModel, ResolveModelOptions } from './resolve-model-source.ts';
export { embeddingModelRef, MODELS_PATH_ENV, resolveRecordedEmbeddingModel } from './embedding-model-ref.ts';
export type { EmbeddingModelRef, RecordedEmbeddingModel, ResolveRecordedOptions } from './embedding-model-ref.ts';
