import type { Context } from 'aws-lambda';
import { finalizeEmbeddings } from '../../src/pipeline/cloud/finalize.ts';
import { createLogger, parseEvent, pipelineStore, runStepInput } from '../commons/index.ts';

const logger = createLogger({ service: 'finalize-embeddings' });

/** After the Distributed Map: checks every embedding shard is present and writes the manifest. */
export async function handler(event: unknown, context?: Context): Promise<{ runId: string; count: number }> {
  const input = parseEvent(runStepInput, event, 'finalize-embeddings');
  const result = await finalizeEmbeddings(pipelineStore(), input);
  logger.info('Embeddings finalized', { awsRequestId: context?.awsRequestId, runId: result.runId, count: result.count });
  return result;
}
