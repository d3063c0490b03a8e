export { downloadHubFiles } from './hub-download.ts';
export type { HubDownloadOptions } from './hub-download.ts';
export { assertModelDir, HUB_ALIASES, resolveModelSource } from './resolve-model-source.ts';
export type { ResolvedModel, ResolveModelOptions } from './resolve-model-source.ts';
