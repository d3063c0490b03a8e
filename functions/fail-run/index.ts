import type { Context } from 'aws-lambda';
import { failRun } from '../../src/pipeline/cloud-steps.ts';
import { createLogger, failRunInput, parseEvent, pipelineStore, START_REQUEST_PATTERN } from '../commons/index.ts';

const logger = createLogger({ service: 'fail-run' });

/** Error carried to the run record: the failed step's error name and its message. */
export class StepFailure extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/**
 * Target of every Catch in the state machine: writes FAILED with the step and the reason to
 * the run record. A failure before the run had an id (e.g. an unreadable dataset at
 * startRun) has no record to write; it is logged with the dataset key.
 */
export async function handler(event: unknown, context?: Context): Promise<{ recorded: boolean; runId?: string; step: string }> {
  const input = parseEvent(failRunInput, event, 'fail-run');
  const error = new StepFailure(input.error.Error, causeMessage(input.error.Cause));
  // A POST /train run fails at validate with only its start marker's key in the state.
  const runId = input.runId ?? START_REQUEST_PATTERN.exec(input.objectKey ?? '')?.[1];
  const log = logger.child({ awsRequestId: context?.awsRequestId, runId, step: input.step });
  if (!runId) {
    // The validate handler records failures after startRun itself; before it there is no run.
    log.error('Run failed before it had an id; no run record to write', { objectKey: input.objectKey, errorName: error.name, errorMessage: error.message });
    return { recorded: false, step: input.step };
  }
  await failRun(pipelineStore(), { runId, step: input.step, error });
  log.error('Run failed', { errorName: error.name, errorMessage: error.message });
  return { recorded: true, runId, step: input.step };
}

/**
 * Step Functions puts a Lambda error's JSON (`{"errorType","errorMessage","trace"}`) in
 * Cause; a Batch failure puts the DescribeJobs JSON (statusReason). Keep the human part only:
 * the trace stays in the function's logs.
 */
export function causeMessage(cause: string | undefined): string {
  if (!cause) return 'No cause given.';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown; StatusReason?: unknown; statusReason?: unknown };
    for (const v of [parsed.errorMessage, parsed.StatusReason, parsed.statusReason]) {
      if (typeof v === 'string' && v) return v;
    }
  } catch {
    // Not JSON: a plain message.
  }
  return cause.length > 2000 ? `${cause.slice(0, 2000)}...` : cause;
}
