import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { startRun } from '../../src/pipeline/cloud/start.ts';
import { getRun } from '../../src/pipeline/run-record.ts';
import { resolveRunOptions } from '../../src/pipeline/run-options.ts';
import { RequestError } from '../../src/errors.ts';
import { callerOf, CLOUD_RUN_OWNER, cloudKeys, createLogger, ENV_NAMES, optionalEnv, errorResponse, jsonResponse, parseBody, pipelineStore, runId as runIdSchema, trainRequest } from '../commons/index.ts';

/** Embedding model of new runs, set by the stack; read once per container. */
const MODEL_SOURCE = optionalEnv(ENV_NAMES.modelSource);
/** Memory of the embedding function, set by the stack: a shard must fit in it. */
const EMBED_MEMORY_MB = optionalEnv(ENV_NAMES.embedMemoryMB);
const logger = createLogger({ service: 'train-api' });

/**
 * `POST /train {"datasetKey": "datasets/...", "options": {...}}` starts a run (202), or names
 * the existing run for the same content (200, duplicate). The state machine is started by
 * the Object Created event of the run's start marker, the same path as a dataset upload, so
 * this function needs no Step Functions permission.
 *
 * `GET /runs/{id}` answers the run record.
 */
export async function handler(event: APIGatewayProxyEvent, context?: Context): Promise<APIGatewayProxyResult> {
  const requestId = event.requestContext?.requestId ?? context?.awsRequestId ?? 'unknown';
  const caller = callerOf(event);
  const log = logger.child({ requestId, awsRequestId: context?.awsRequestId, caller });
  try {
    const route = `${event.httpMethod} ${event.resource}`;
    if (route === 'POST /train') {
      const request = parseBody(trainRequest, event.body, event.isBase64Encoded);
      const store = pipelineStore();
      // Only the deployment's own model source may be named (the default allowlist).
      const options = resolveRunOptions(request.options, {
        defaults: MODEL_SOURCE ? { modelSource: MODEL_SOURCE } : {},
        embedMemoryMB: EMBED_MEMORY_MB ? Number(EMBED_MEMORY_MB) : undefined,
      });
      const { runId, duplicate } = await startRun(store, { datasetKey: request.datasetKey, options, owner: CLOUD_RUN_OWNER, requestedBy: { ...caller, requestId } });
      if (!duplicate) {
        await store.put(cloudKeys.startRequest(runId), JSON.stringify({ runId, requestId, requestedAt: new Date().toISOString() }) + '\n');
      }
      log.info('Train requested', { runId, duplicate, datasetKey: request.datasetKey });
      return jsonResponse(duplicate ? 200 : 202, { runId, duplicate, status: `/runs/${runId}` }, requestId);
    }
    if (route === 'GET /runs/{id}') {
      const parsed = runIdSchema.safeParse(event.pathParameters?.id);
      if (!parsed.success) throw new RequestError(`Run id "${event.pathParameters?.id ?? ''}" is invalid: ${parsed.error.issues[0]?.message}.`);
      return jsonResponse(200, await getRun(pipelineStore(), parsed.data), requestId);
    }
    throw new RequestError(`No route ${route}; use POST /train or GET /runs/{id}.`);
  } catch (err) {
    return errorResponse(err, requestId, log);
  }
}
