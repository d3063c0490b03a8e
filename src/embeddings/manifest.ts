import { z } from 'zod';
import { SimpairError } from '../errors.ts';

/** Format tag of `manifest.json`; bump when the layout changes incompatibly. */
export const EMBEDDINGS_FORMAT = 'simpair-embeddings/1';

/** Name of the manifest object under an embeddings prefix. */
export const MANIFEST_FILE = 'manifest.json';

/** Storage dtype of the embeddings in the shards (labels are always U8). */
export type EmbeddingDtype = 'float32' | 'float16';

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'a lowercase hex SHA-256');
const count = z.number().int().nonnegative();

/** One shard as listed in the manifest; `key` is relative to the embeddings prefix. */
export const shardEntrySchema = z.object({
  key: z.string().min(1),
  index: count,
  count: z.number().int().positive(),
  positives: count,
  sha256: sha256Hex,
  bytes: z.number().int().positive(),
});

/** Schema of `manifest.json`, checked on every read. */
export const embeddingManifestSchema = z
  .object({
    format: z.literal(EMBEDDINGS_FORMAT),
    modelId: z.string().min(1),
    tokenizerSha256: sha256Hex,
    maxLen: z.number().int().positive(),
    hidden: z.number().int().positive(),
    dtype: z.enum(['float32', 'float16']),
    /** How BERT treated padding: 'max-length' (its [PAD] outputs kept) or 'dynamic' (zeros). Absent: 'max-length'. */
    padding: z.enum(['max-length', 'dynamic']).default('max-length'),
    count,
    positives: count,
    negatives: count,
    datasetSha256: sha256Hex,
    createdAt: z.iso.datetime(),
    shards: z.array(shardEntrySchema),
  })
  .superRefine((m, ctx) => {
    if (m.positives + m.negatives !== m.count) {
      ctx.addIssue({ code: 'custom', message: `positives (${m.positives}) + negatives (${m.negatives}) != count (${m.count})` });
    }
    const sum = m.shards.reduce((a, s) => a + s.count, 0);
    if (sum !== m.count) ctx.addIssue({ code: 'custom', message: `shard counts sum to ${sum}, count is ${m.count}` });
    m.shards.forEach((s, i) => {
      if (s.index !== i) ctx.addIssue({ code: 'custom', path: ['shards', i, 'index'], message: `shard at position ${i} has index ${s.index}` });
    });
  });

/** `manifest.json` of an embeddings prefix. */
export type EmbeddingManifest = z.infer<typeof embeddingManifestSchema>;
/** One shard entry of an {@link EmbeddingManifest}. */
export type EmbeddingShardEntry = z.infer<typeof shardEntrySchema>;

/** Parses and validates a manifest, naming every problem and where it was read from. */
export function parseEmbeddingManifest(value: unknown, where: string): EmbeddingManifest {
  const result = embeddingManifestSchema.safeParse(value);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new SimpairError(`${where} is not a valid ${EMBEDDINGS_FORMAT} manifest: ${issues}. Re-create the embeddings.`);
  }
  return result.data;
}

/** Joins a store prefix (`''` or ending in `/`, added when missing) and a relative key. */
export function joinKey(prefix: string, key: string): string {
  if (prefix === '' || prefix.endsWith('/')) return prefix + key;
  return `${prefix}/${key}`;
}

/** Relative key of shard `index`: `shard-00000.safetensors`. */
export function shardFileName(index: number): string {
  return `shard-${String(index).padStart(5, '0')}.safetensors`;
}
