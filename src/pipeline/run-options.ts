/**
 * The options of a training run: one strict schema for every face (`POST /train` on `serve`
 * and on API Gateway, a dataset upload), and the run id derived from the dataset's content and
 * the effective options, so the same bytes trained differently are different runs.
 */
import { z } from 'zod';
import { DATASET_OPTION_KEYS, datasetOptionsSchema, type DatasetOptions } from '../data/index.ts';
import { RequestError } from '../errors.ts';
export { EMBEDDING_FEATURES, embeddingIdFor, runIdFor } from './run-ids.ts';

/** Options every run carries from the trigger to the trainer. */
export interface RunOptions {
  /** Embedding model source (hub id, directory, s3:// prefix). */
  modelSource: string;
  maxLen: number;
  epochs: number;
  batchSize: number;
  shardSize: number;
  dtype: 'float32' | 'float16';
  seed: number;
  validationSplit: number;
  /** See RunJobOptions.padding. */
  padding: 'max-length' | 'masked';
  /** See RunJobOptions.head; absent: the recipe. */
  head?: 'recipe' | 'pooled';
  dataset?: DatasetOptions;
}

/**
 * Bounds a caller of `POST /train` can ask for: enough for real runs, too small to tie a
 * machine up by accident. The operator's own defaults (`serve --epochs`) may go further.
 */
export const RUN_OPTION_LIMITS = { maxEpochs: 100, maxBatchSize: 1024, maxShardSize: 10_000 } as const;

/** Every field of {@link RunOptions}, unknown keys refused (a misspelt option fails instead of being ignored). */
export const runOptionsSchema = z.strictObject({
  modelSource: z.string().min(1).max(1024),
  maxLen: z.number().int().min(3).max(512),
  epochs: z.number().int().min(1).max(100_000),
  batchSize: z.number().int().min(1).max(65_536),
  shardSize: z.number().int().min(1).max(100_000),
  dtype: z.enum(['float32', 'float16']),
  seed: z.number().int().min(0).max(2 ** 31 - 1),
  validationSplit: z.number().min(0).max(0.5),
  padding: z.enum(['max-length', 'masked']),
  head: z.enum(['recipe', 'pooled']).optional(),
  dataset: datasetOptionsSchema.optional(),
});

/** What a caller may send as `options` of `POST /train`: any subset of {@link runOptionsSchema} within {@link RUN_OPTION_LIMITS}, nothing else. */
export const runOptionsRequestSchema = runOptionsSchema
  .extend({
    epochs: z.number().int().min(1).max(RUN_OPTION_LIMITS.maxEpochs),
    batchSize: z.number().int().min(1).max(RUN_OPTION_LIMITS.maxBatchSize),
    shardSize: z.number().int().min(1).max(RUN_OPTION_LIMITS.maxShardSize),
  })
  .partial()
  .strict();

/** Defaults of a run; a deployment overrides `modelSource` (the stack with its S3 model prefix). */
export const DEFAULT_RUN_OPTIONS: RunOptions = {
  modelSource: 'bert-base-uncased',
  maxLen: 128,
  epochs: 3,
  batchSize: 32,
  shardSize: 256,
  dtype: 'float32',
  seed: 42,
  validationSplit: 0.1,
  padding: 'max-length',
};

/** Options of {@link resolveRunOptions}. */
export interface ResolveRunOptionsContext {
  /** The deployment's defaults (e.g. its embedding model source). @default none beyond {@link DEFAULT_RUN_OPTIONS} */
  readonly defaults?: Partial<RunOptions>;
  /**
   * Model sources a caller may name in `options.modelSource`, set by the operator. Anything
   * else (a local path, another hub id) is refused, so a caller cannot make the server read
   * arbitrary files or download arbitrary models.
   * @default only the deployment's own default model source
   */
  readonly allowedModelSources?: readonly string[];
  /**
   * Memory of the function that embeds one shard (MB): when given, a shard that cannot fit
   * ({@link shardBytes} over {@link shardMemoryBudgetBytes}) is refused with the largest shardSize that fits.
   */
  readonly embedMemoryMB?: number;
}

/** Hidden size the shard bound assumes: BERT-base's (the deployment's encoder); a larger encoder needs a smaller shardSize. */
export const SHARD_BOUND_HIDDEN = 768;

/** What the embedding function keeps besides the shard: the encoder (BERT-base float32 ~440 MB), ONNX Runtime's arena, Node. */
export const EMBED_FUNCTION_OVERHEAD_MB = 1536;

/**
 * Bytes a shard of embeddings holds in the function at once: the float32 token vectors BERT
 * returns (`shardSize x maxLen x hidden x 4`) plus the stored copy in `dtype` (x 4 or x 2).
 */
export function shardBytes(options: Pick<RunOptions, 'shardSize' | 'maxLen' | 'dtype'>, hidden = SHARD_BOUND_HIDDEN): number {
  return options.shardSize * options.maxLen * hidden * (4 + (options.dtype === 'float16' ? 2 : 4));
}

/** Bytes of a function of `memoryMB` left for one shard's embeddings. */
export function shardMemoryBudgetBytes(memoryMB: number): number {
  return Math.max(0, memoryMB - EMBED_FUNCTION_OVERHEAD_MB) * 1024 * 1024;
}

/** Throws a {@link RequestError} when a shard of these options cannot fit in an embedding function of `memoryMB`. */
export function checkShardFits(options: Pick<RunOptions, 'shardSize' | 'maxLen' | 'dtype'>, memoryMB: number, hidden = SHARD_BOUND_HIDDEN): void {
  const bytes = shardBytes(options, hidden);
  const budget = shardMemoryBudgetBytes(memoryMB);
  if (bytes <= budget) return;
  const perRow = shardBytes({ ...options, shardSize: 1 }, hidden);
  const fits = Math.floor(budget / perRow);
  const gb = (n: number) => `${(n / 1e9).toFixed(2)} GB`;
  throw new RequestError(
    `options.shardSize ${options.shardSize} with maxLen ${options.maxLen} (${options.dtype}, hidden ${hidden}) makes a shard of ${gb(bytes)} of embeddings, ` +
      `more than the ${gb(budget)} an embedding function of ${memoryMB} MB has for it. ` +
      (fits >= 1 ? `Use shardSize ${fits} or less, or a smaller maxLen.` : `Use a smaller maxLen, or deploy with a larger -c embeddingMemoryMB.`),
  );
}

/**
 * The effective options of a run asked for by a caller: the caller's `options` (checked
 * strictly: an unknown key is a {@link RequestError} naming it) over the deployment's defaults.
 *
 * @example
 * resolveRunOptions({ epochs: 5 }, { defaults: { modelSource: 's3://b/encoders/bert/' } });
 * resolveRunOptions({ epoch: 5 }); // RequestError: options: Unrecognized key: "epoch" ...
 */
export function resolveRunOptions(requested: unknown, context: ResolveRunOptionsContext = {}): RunOptions {
  const asked = runOptionsRequestSchema.safeParse(requested ?? {});
  if (!asked.success) {
    // A key nested in options.dataset gets the dataset keys, not only the top-level ones.
    const inDataset = asked.error.issues.some((i) => i.path[0] === 'dataset');
    const allowed = inDataset ? `Allowed in options.dataset: ${DATASET_OPTION_KEYS.join(', ')}` : `Allowed options: ${Object.keys(runOptionsSchema.shape).join(', ')}`;
    throw new RequestError(`Invalid run options: ${describe(asked.error)}. ${allowed}.`);
  }
  const defaults = checkOptions({ ...DEFAULT_RUN_OPTIONS, ...context.defaults }, 'deployment default run options');
  const allowed = context.allowedModelSources ?? [defaults.modelSource];
  const source = asked.data.modelSource;
  if (source !== undefined && source !== defaults.modelSource && !allowed.includes(source)) {
    throw new RequestError(`options.modelSource "${source}" is not allowed here; allowed: ${allowed.map((s) => `"${s}"`).join(', ')} (the operator sets the list). Omit modelSource to use the default.`);
  }
  const options = checkOptions({ ...defaults, ...asked.data }, 'run options');
  if (context.embedMemoryMB !== undefined) checkShardFits(options, context.embedMemoryMB);
  return options;
}

/** Checks complete options (internal callers: defaults merged already). */
export function checkOptions(options: unknown, what = 'run options'): RunOptions {
  const parsed = runOptionsSchema.safeParse(options);
  if (!parsed.success) throw new RequestError(`Invalid ${what}: ${describe(parsed.error)}.`);
  return parsed.data as RunOptions;
}

function describe(error: z.ZodError): string {
  return error.issues.map((i) => `${['options', ...i.path.map(String)].join('.')}: ${i.message}`).join('; ');
}
