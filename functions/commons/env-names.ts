/**
 * Names of the environment variables the CDK stack injects and the handlers (and the
 * training container) read. One file shared by both sides, so the two cannot drift.
 */
import { EXPECT_GPU_ENV } from '../../src/classifier/training-device.ts';

export const ENV_NAMES = {
  /** Bucket holding datasets/, shards/, embeddings/, models/, runs/. */
  bucket: 'SIMPAIR_BUCKET',
  /** Run the Batch training container works on (set per job by the state machine). */
  runId: 'SIMPAIR_RUN_ID',
  /** Default embedding model source of runs (`s3://bucket/encoders/...` or a hub id); a `POST /train` option overrides it. */
  modelSource: 'SIMPAIR_MODEL_SOURCE',
  /** Cache directory for model files; read by the core's model-source (only /tmp is writable on Lambda). */
  cacheDir: 'SIMPAIR_CACHE',
  /** `1` in the GPU job definition: the training job asked for a GPU and fails when TensorFlow sees none. */
  expectGpu: EXPECT_GPU_ENV,
  /** Memory of the embedding function (MB): `POST /train` refuses a shard that cannot fit in it. */
  embedMemoryMB: 'SIMPAIR_EMBED_MEMORY_MB',
  /** `json` makes the core's logger write one JSON object per line. */
  logFormat: 'SIMPAIR_LOG_FORMAT',
  /** silent | error | warn | info | debug. */
  logLevel: 'SIMPAIR_LOG_LEVEL',
  /** Largest number of pairs per `POST /predict` (the API's JSON schema uses the same number). */
  predictMaxPairs: 'SIMPAIR_PREDICT_MAX_PAIRS',
  /** Largest sentence length in characters per `POST /predict`. */
  predictMaxTextLength: 'SIMPAIR_PREDICT_MAX_TEXT_LENGTH',
} as const;

export type EnvName = (typeof ENV_NAMES)[keyof typeof ENV_NAMES];
