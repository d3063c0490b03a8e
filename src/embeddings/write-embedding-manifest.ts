import { ShapeMismatchError, SimpairError } from '../errors.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { putJson } from '../storage/object-store.ts';
import {
  EMBEDDINGS_FORMAT,
  MANIFEST_FILE,
  joinKey,
  parseEmbeddingManifest,
  shardFileName,
  type EmbeddingDtype,
  type EmbeddingManifest,
} from './manifest.ts';
import type { ShardInfo } from './write-embedding-shard.ts';

/** What the manifest says about the whole set, besides its shards. */
export interface EmbeddingManifestMeta {
  /** Embedding model (hub id, directory or S3 prefix) the shards came from. */
  readonly modelId: string;
  readonly tokenizerSha256: string;
  readonly maxLen: number;
  readonly hidden: number;
  readonly dtype: EmbeddingDtype;
  readonly datasetSha256: string;
  /** How the embedder treated padding. @default 'max-length' */
  readonly padding?: 'max-length' | 'dynamic';
  /** @default now */
  readonly createdAt?: string;
}

/**
 * Writes `manifest.json` under `prefix` once every shard is written. Checks that the shards
 * are continuous (indices 0..n-1, each once), agree with `meta` on maxLen, hidden and
 * dtype, and totals count / positives / negatives over them.
 *
 * @throws SimpairError naming missing or duplicate shard indices.
 * @throws ShapeMismatchError naming the first shard whose shape or dtype differs.
 */
export async function writeEmbeddingManifest(
  store: ObjectStore,
  prefix: string,
  meta: EmbeddingManifestMeta,
  shards: readonly ShardInfo[],
): Promise<EmbeddingManifest> {
  if (shards.length === 0) throw new SimpairError(`No shards for the embeddings manifest at ${prefix}; embed at least one shard first.`);
  const sorted = [...shards].sort((a, b) => a.index - b.index);
  const seen = new Set<number>();
  const duplicates = new Set<number>();
  for (const s of sorted) (seen.has(s.index) ? duplicates : seen).add(s.index);
  const missing: number[] = [];
  const last = sorted[sorted.length - 1].index;
  for (let i = 0; i <= last; i++) if (!seen.has(i)) missing.push(i);
  if (missing.length > 0 || duplicates.size > 0) {
    throw new SimpairError(
      `Embedding shards under ${prefix} are not continuous: ` +
        [missing.length ? `missing index ${missing.join(', ')}` : '', duplicates.size ? `duplicate index ${[...duplicates].join(', ')}` : '']
          .filter(Boolean)
          .join('; ') +
        `. Re-run the missing shards, then write the manifest.`,
    );
  }
  for (const s of sorted) {
    if (s.maxLen !== meta.maxLen || s.hidden !== meta.hidden || s.dtype !== meta.dtype) {
      throw new ShapeMismatchError(
        `Embedding shard ${s.index} is [maxLen ${s.maxLen}, hidden ${s.hidden}, ${s.dtype}], the manifest says ` +
          `[maxLen ${meta.maxLen}, hidden ${meta.hidden}, ${meta.dtype}]; embed every shard with the same model, maxLen and dtype.`,
      );
    }
    if (s.key !== shardFileName(s.index)) {
      throw new SimpairError(`Embedding shard ${s.index} has key "${s.key}", expected "${shardFileName(s.index)}".`);
    }
  }
  const count = sorted.reduce((a, s) => a + s.count, 0);
  const positives = sorted.reduce((a, s) => a + s.positives, 0);
  const manifest = parseEmbeddingManifest(
    {
      format: EMBEDDINGS_FORMAT,
      modelId: meta.modelId,
      tokenizerSha256: meta.tokenizerSha256,
      maxLen: meta.maxLen,
      hidden: meta.hidden,
      dtype: meta.dtype,
      count,
      positives,
      negatives: count - positives,
      datasetSha256: meta.datasetSha256,
      padding: meta.padding ?? 'max-length',
      createdAt: meta.createdAt ?? new Date().toISOString(),
      shards: sorted.map(({ key, index, count: c, positives: p, sha256, bytes }) => ({ key, index, count: c, positives: p, sha256, bytes })),
    },
    `The manifest for ${prefix}`,
  );
  await putJson(store, joinKey(prefix, MANIFEST_FILE), manifest);
  return manifest;
}
