/**
 * Entry point of the AWS Batch training container: trains the run named by SIMPAIR_RUN_ID
 * from its embedding shards in SIMPAIR_BUCKET and writes the model and metrics back, through
 * the core's trainRun. Shards are read from S3 in the first epoch and from a local-disk copy
 * after that (removed when the job ends). On failure it records the error in the run, then
 * exits 1, so Batch marks the job failed and the state machine's Catch records the run as
 * FAILED (keeping that reason).
 */
import { ENV_NAMES } from '../functions/commons/env-names.ts';
import { requireEnv } from '../functions/commons/env.ts';
import { createLogger } from '../functions/commons/logger.ts';
import { ShardCache, type ShardCacheOptions } from '../src/embeddings/shard-cache.ts';
import { failRun } from '../src/pipeline/cloud/fail.ts';
import { advanceRun } from '../src/pipeline/run-record.ts';
import { trainingDevice, type TrainingDevice } from '../src/classifier/training-device.ts';
import { trainRun } from '../src/pipeline/cloud/train.ts';
import type { ObjectStore } from '../src/storage/object-store.ts';
import { S3ObjectStore } from '../src/storage/s3-object-store.ts';

const logger = createLogger({ service: 'training' });

/**
 * Trains one run; exported for tests. A failure is written to the run record (step `train`,
 * the real error) before it is rethrown: Batch itself only reports "Essential container in
 * task exited", and the state machine's fail step keeps the reason found here.
 */
export async function main(env: NodeJS.ProcessEnv = process.env): Promise<{ runId: string; modelVersion: string }> {
  const runId = requireEnv(ENV_NAMES.runId, env);
  const bucket = requireEnv(ENV_NAMES.bucket, env);
  const store = new S3ObjectStore({ bucket });
  logger.info('Training started', { runId, bucket, backend: env.SIMPAIR_TF_BACKEND ?? 'auto' });
  const started = Date.now();
  try {
    await checkTrainingDevice(store, runId, env);
    const result = await trainCachingShards(store, runId);
    logger.info('Training finished', { runId, modelVersion: result.modelVersion, seconds: Math.round((Date.now() - started) / 1000) });
    return result;
  } catch (err) {
    await failRun(store, { runId, step: 'train', error: err }).catch((recordErr: unknown) => logger.error('Could not record the failure in the run', { runId, error: recordErr }));
    throw err;
  }
}

/**
 * Initialises TF.js and checks the device before anything is read: a job that asked for a GPU
 * (the GPU job definition sets SIMPAIR_EXPECT_GPU=1) fails at once when TensorFlow sees none,
 * instead of training for hours on the CPU. Records the device and backend in the run.
 */
export async function checkTrainingDevice(store: ObjectStore, runId: string, env: NodeJS.ProcessEnv = process.env): Promise<TrainingDevice> {
  const { initTfBackend } = await import('../src/classifier/index.ts');
  const tf = await import('@tensorflow/tfjs-core');
  const info = await initTfBackend();
  const device = trainingDevice({ backend: info.backend, binding: (tf.backend() as { binding?: { isUsingGpuDevice?: () => boolean } }).binding }, env);
  logger.info('Training device', { runId, device, backend: info.backend, package: info.package, version: info.version });
  await advanceRun(store, runId, { training: { device, backend: `${info.package}@${info.version}` } });
  return device;
}

/**
 * Trains a run with a local-disk cache of its embedding shards (in the OS temporary folder
 * unless `parentDir` says otherwise): the first epoch reads each shard from the store,
 * later epochs from disk. The cache is removed when training ends, failed or not.
 */
export async function trainCachingShards(store: ObjectStore, runId: string, cacheOptions: ShardCacheOptions = {}): Promise<{ runId: string; modelVersion: string }> {
  const shardCache = await ShardCache.create(cacheOptions);
  try {
    return await trainRun(store, { runId }, { shardCache });
  } finally {
    logger.info('Shard cache', { dir: shardCache.dir, bytes: shardCache.bytes, ...shardCache.stats });
    await shardCache.clear();
  }
}

const isEntry = process.argv[1]?.endsWith('training/entry.ts');
if (isEntry) {
  main().catch((err: unknown) => {
    logger.error('Training failed', { error: err });
    process.exitCode = 1;
  });
}
