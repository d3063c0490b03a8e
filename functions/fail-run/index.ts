import type { Context } from 'aws-lambda';
import { failRun, getRun } from '../../src/pipeline/cloud-steps.ts';
import { causeMessage, createLogger, failRunInput, parseCause, parseEvent, pipelineStore, START_REQUEST_PATTERN, StepFailure } from '../commons/index.ts';

export { causeMessage, StepFailure };

const logger = createLogger({ service: 'fail-run' });

/**
 * Target of every Catch in the state machine: writes FAILED with the step and the reason to
 * the run record. A failure before the run had an id (e.g. an unreadable dataset at
 * startRun) has no record to write; it is logged with the dataset key.
 *
 * A step that recorded its own failure first (the training container writes its real error
 * before it exits non-zero; Batch then only says "Essential container in task exited") keeps
 * that reason; the Batch job's CloudWatch log stream is added to it.
 */
export async function handler(event: unknown, context?: Context): Promise<{ recorded: boolean; runId?: string; step: string }> {
  const input = parseEvent(failRunInput, event, 'fail-run');
  const cause = parseCause(input.error.Cause);
  // A POST /train run fails at validate with only its start marker's key in the state.
  const runId = input.runId ?? START_REQUEST_PATTERN.exec(input.objectKey ?? '')?.[1];
  const log = logger.child({ awsRequestId: context?.awsRequestId, runId, step: input.step });
  if (!runId) {
    // The validate handler records failures after startRun itself; before it there is no run.
    log.error('Run failed before it had an id; no run record to write', { objectKey: input.objectKey, errorName: input.error.Error, errorMessage: cause.message });
    return { recorded: false, step: input.step };
  }
  const store = pipelineStore();
  let existing: Awaited<ReturnType<typeof getRun>> | undefined;
  try {
    existing = await getRun(store, runId);
  } catch {
    // No readable record: write the failure from the cause alone.
  }
  const own = existing?.state === 'FAILED' && existing.error?.step === input.step ? existing.error : undefined;
  const name = own?.name ?? input.error.Error;
  const base = own?.message ?? cause.message;
  const message = cause.logStreamName && !base.includes(cause.logStreamName) ? `${base} (CloudWatch log stream: ${cause.logStreamName})` : base;
  const error = new StepFailure(name, message);
  await failRun(store, { runId, step: input.step, error });
  log.error('Run failed', { errorName: error.name, errorMessage: error.message });
  return { recorded: true, runId, step: input.step };
}
