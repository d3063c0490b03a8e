import type { Context } from 'aws-lambda';
import { publishModel } from '../../src/pipeline/cloud/publish.ts';
import { getRun } from '../../src/pipeline/run-record.ts';
import { createLogger, parseEvent, pipelineStore, runStepInput } from '../commons/index.ts';

const logger = createLogger({ service: 'publish-model' });

/**
 * After the Batch job: the trainer recorded the model version in the run record (a Batch
 * job returns no payload to the state machine), so read it there and point models/live.json at it.
 */
export async function handler(event: unknown, context?: Context): Promise<{ runId: string; modelVersion: string; state: string }> {
  const { runId } = parseEvent(runStepInput, event, 'publish-model');
  const store = pipelineStore();
  const run = await getRun(store, runId);
  if (!run.modelVersion) {
    throw new Error(`Run ${runId} is in state ${run.state} without a modelVersion; the training job did not record its model, so nothing is published.`);
  }
  const record = await publishModel(store, { runId, modelVersion: run.modelVersion });
  logger.info('Model published', { awsRequestId: context?.awsRequestId, runId, modelVersion: run.modelVersion });
  return { runId, modelVersion: run.modelVersion, state: record.state };
}
