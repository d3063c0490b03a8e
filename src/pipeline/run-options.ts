/**
 * The options of a training run: one strict schema for every face (`POST /train` on `serve`
 * and on API Gateway, a dataset upload), and the run id derived from the dataset's content and
 * the effective options, so the same bytes trained differently are different runs.
 */
import { z } from 'zod';
import { datasetOptionsSchema, type DatasetOptions } from '../data/index.ts';
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
  if (!asked.success) throw new RequestError(`Invalid run options: ${describe(asked.error)}. Allowed options: ${Object.keys(runOptionsSchema.shape).join(', ')}.`);
  const defaults = checkOptions({ ...DEFAULT_RUN_OPTIONS, ...context.defaults }, 'deployment default run options');
  const allowed = context.allowedModelSources ?? [defaults.modelSource];
  const source = asked.data.modelSource;
  if (source !== undefined && source !== defaults.modelSource && !allowed.includes(source)) {
    throw new RequestError(`options.modelSource "${source}" is not allowed here; allowed: ${allowed.map((s) => `"${s}"`).join(', ')} (the operator sets the list). Omit modelSource to use the default.`);
  }
  return checkOptions({ ...defaults, ...asked.data }, 'run options');
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
