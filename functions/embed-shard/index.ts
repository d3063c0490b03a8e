import type { Context } from 'aws-lambda';
import { embedShard } from '../../src/pipeline/cloud/embed.ts';
import { createLogger, embedShardInput, parseEvent, pipelineStore } from '../commons/index.ts';

const logger = createLogger({ service: 'embed-shard' });

/** One Distributed Map iteration: tokenizes and embeds one shard, writes its embedding shard. */
export async function handler(event: unknown, context?: Context): Promise<{ runId: string; index: number; count: number }> {
  const input = parseEvent(embedShardInput, event, 'embed-shard');
  const started = Date.now();
  const result = await embedShard(pipelineStore(), input);
  logger.info('Shard embedded', { awsRequestId: context?.awsRequestId, runId: input.runId, index: input.shard.index, count: result.count, ms: Date.now() - started });
  return result;
}
