/**
 * Entry point of the AWS Batch training container: trains the run named by SIMPAIR_RUN_ID
 * from its embedding shards in SIMPAIR_BUCKET and writes the model and metrics back, through
 * the core's trainRun. Exit code 1 on failure, so Batch marks the job failed and the state
 * machine's Catch records the run as FAILED.
 */
import { ENV_NAMES } from '../functions/commons/env-names.ts';
import { requireEnv } from '../functions/commons/env.ts';
import { createLogger } from '../functions/commons/logger.ts';
import { trainRun } from '../src/pipeline/cloud-steps.ts';
import { S3ObjectStore } from '../src/storage/s3-object-store.ts';

const logger = createLogger({ service: 'training' });

/** Trains one run; exported for tests. */
export async function main(env: NodeJS.ProcessEnv = process.env): Promise<{ runId: string; modelVersion: string }> {
  const runId = requireEnv(ENV_NAMES.runId, env);
  const bucket = requireEnv(ENV_NAMES.bucket, env);
  const store = new S3ObjectStore({ bucket });
  logger.info('Training started', { runId, bucket, backend: env.SIMPAIR_TF_BACKEND ?? 'auto' });
  const started = Date.now();
  const result = await trainRun(store, { runId });
  logger.info('Training finished', { runId, modelVersion: result.modelVersion, seconds: Math.round((Date.now() - started) / 1000) });
  return result;
}

const isEntry = process.argv[1]?.endsWith('training/entry.ts');
if (isEntry) {
  main().catch((err: unknown) => {
    logger.error('Training failed', { error: err });
    process.exitCode = 1;
  });
}
