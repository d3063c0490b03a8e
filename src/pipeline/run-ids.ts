/**
 * The ids derived from a dataset's content and a run's options: the run id and the id of the
 * stored embeddings. Apart from run-options.ts (which loads zod and the dataset parser) so the
 * training image's entry can compute them without those.
 */
import { createHash } from 'node:crypto';
import type { RunOptions } from './run-options.ts';

/**
 * Run id of a dataset trained with given options: `run-` + 16 hex of the content's sha256 +
 * `-` + 8 hex of the options' hash (keys sorted, so key order does not matter).
 *
 * @example
 * runIdFor(sha256Hex, DEFAULT_RUN_OPTIONS); // 'run-3f2a...c1d0-9b8e7f6a'
 */
export function runIdFor(datasetSha256: string, options: RunOptions): string {
  const optionsHash = createHash('sha256').update(canonicalJson(options)).digest('hex');
  return `run-${datasetSha256.slice(0, 16)}-${optionsHash.slice(0, 8)}`;
}

/**
 * What the stored embeddings hold besides each row's token vectors: the two mean-pooled
 * sentence vectors (the encoder baseline and the pooled head read them). Part of the
 * embeddings' id, so a change of what is stored cannot reuse older embeddings.
 */
export const EMBEDDING_FEATURES = 'tokens+pooled-sentences/v1';

/**
 * Id of a dataset's stored embeddings: `emb-` + 16 hex of the dataset's SHA-256 + `-` + 8 hex
 * of a hash of what the embeddings depend on: the encoder (modelSource), maxLen, padding,
 * dtype, shardSize (the shards' partition), the dataset options (which rows are parsed) and
 * {@link EMBEDDING_FEATURES}. Not epochs, batch size, seed, validation split or head: runs
 * differing only in those ({@link runIdFor} tells them apart) train on the same embeddings,
 * embedded once.
 */
export function embeddingIdFor(datasetSha256: string, options: RunOptions): string {
  const { modelSource, maxLen, padding, dtype, shardSize, dataset } = options;
  const hash = createHash('sha256').update(canonicalJson({ modelSource, maxLen, padding, dtype, shardSize, dataset, features: EMBEDDING_FEATURES })).digest('hex');
  return `emb-${datasetSha256.slice(0, 16)}-${hash.slice(0, 8)}`;
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
