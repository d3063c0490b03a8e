import type { Context } from 'aws-lambda';
import { failRun } from '../../src/pipeline/cloud/fail.ts';
import { startRun } from '../../src/pipeline/cloud/start.ts';
import { validateAndSplit } from '../../src/pipeline/cloud/validate.ts';
import { PREFIX } from '../../src/pipeline/layout.ts';
import { CLOUD_RUN_OWNER, cloudKeys, createLogger, ENV_NAMES, optionalEnv, parseEvent, pipelineStore, requireEnv, START_REQUEST_PATTERN, validateStepInput } from '../commons/index.ts';

/** Embedding model of new runs, set by the stack; read once per container. */
const MODEL_SOURCE = optionalEnv(ENV_NAMES.modelSource);
const logger = createLogger({ service: 'validate-split' });

/** What the state machine reads next: a duplicate stops the run, otherwise the Distributed Map reads `shardsKey`. */
export type ValidateSplitResult =
  | { runId: string; duplicate: true; datasetKey?: string }
  | { runId: string; duplicate: false; shardsKey: string; shardCount: number; embeddingsReady: boolean };

/**
 * First step of a run. Started by an Object Created event for either a dataset under
 * `datasets/` (starts a run; a re-upload of the same content is a duplicate and stops here)
 * or a `runs/{id}/start.json` marker written by `POST /train` (the run already exists).
 * Validates and splits the dataset; the core writes the shard list the Distributed Map reads.
 */
export async function handler(event: unknown, context?: Context): Promise<ValidateSplitResult> {
  const log = logger.child({ awsRequestId: context?.awsRequestId });
  const { detail, executionName } = parseEvent(validateStepInput, event, 'validate-split');
  const bucket = requireEnv(ENV_NAMES.bucket);
  if (detail.bucket.name !== bucket) {
    throw new Error(`Event for bucket "${detail.bucket.name}" reached the function of bucket "${bucket}"; check the EventBridge rule.`);
  }
  const store = pipelineStore();
  const key = detail.object.key;
  let runId: string;
  const marker = START_REQUEST_PATTERN.exec(key);
  if (marker) {
    runId = marker[1];
  } else if (key.startsWith(PREFIX.datasets)) {
    const started = await startRun(store, { datasetKey: key, options: MODEL_SOURCE ? { modelSource: MODEL_SOURCE } : {}, owner: CLOUD_RUN_OWNER });
    if (started.duplicate) {
      log.info('Dataset content already has a run; not starting another', { datasetKey: key, runId: started.runId });
      return { runId: started.runId, duplicate: true, datasetKey: key };
    }
    runId = started.runId;
  } else {
    throw new Error(`Object "${key}" is neither under ${PREFIX.datasets} nor a runs/{id}/start.json marker; check the EventBridge rule.`);
  }
  // Which run this execution works on: the execution-failed rule reads it when the execution
  // dies outside the Catch path (timeout, stop), to record the run as FAILED.
  if (executionName) await store.put(cloudKeys.executionRun(executionName), JSON.stringify({ runId, executionName }) + '\n');
  let shards;
  let embeddingsReady;
  try {
    ({ shards, embeddingsReady } = await validateAndSplit(store, { runId }));
  } catch (err) {
    // The state machine's Catch only sees the object key; record the run's failure here,
    // where the id is known, then let the Catch stop the execution.
    await failRun(store, { runId, step: 'validate', error: err }).catch((recordErr: unknown) => log.error('Could not record the failure', { runId, error: recordErr }));
    throw err;
  }
  // validateAndSplit wrote the shard list there; the Distributed Map reads it from S3 rather than
  // from the state (256 KB payload limit: QQP at 256 rows per shard is ~1,600 shards).
  const shardsKey = cloudKeys.shardIndex(runId);
  log.info(embeddingsReady ? 'Dataset valid; its embeddings are already stored' : 'Dataset split', { runId, datasetKey: key, shardCount: shards.length, embeddingsReady });
  return { runId, duplicate: false, shardsKey, shardCount: shards.length, embeddingsReady };
}
