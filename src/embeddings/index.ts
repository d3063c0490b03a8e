export { EmbeddingStoreReader } from './embedding-store-reader.ts';
export type { EmbeddingShard, EmbeddingStoreReaderOptions, StoredShard } from './embedding-store-reader.ts';
export { ShardCache } from './shard-cache.ts';
export type { CachedShard, ShardCacheOptions, ShardCacheStats } from './shard-cache.ts';
export { float16ArrayToFloat32, float16BitsToFloat32, float32ArrayToFloat16, float32ToFloat16Bits } from './float16.ts';
export {
  EMBEDDINGS_FORMAT,
  MANIFEST_FILE,
  embeddingManifestSchema,
  parseEmbeddingManifest,
  shardEntrySchema,
  shardFileName,
} from './manifest.ts';
export type { EmbeddingDtype, EmbeddingManifest, EmbeddingShardEntry } from './manifest.ts';
export { asFloat16Bits, asFloat32, decodeSafetensors, encodeSafetensors } from './safetensors.ts';
export type { SafetensorsDtype, SafetensorsEntry, SafetensorsFile, SafetensorsTensor } from './safetensors.ts';
export { writeEmbeddingManifest } from './write-embedding-manifest.ts';
export type { EmbeddingManifestMeta } from './write-embedding-manifest.ts';
export { checkLabels, writeEmbeddingShard } from './write-embedding-shard.ts';
export type { ShardInfo, WriteEmbeddingShardOptions } from './write-embedding-shard.ts';
