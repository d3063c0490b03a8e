import type { Context } from 'aws-lambda';
import { recordRunFailure, updateRun } from '../../src/pipeline/run-record.ts';
import { causeMessage, createLogger, failRunInput, parseCause, parseEvent, pipelineStore, START_REQUEST_PATTERN, StepFailure } from '../commons/index.ts';

export { causeMessage, StepFailure };

const logger = createLogger({ service: 'fail-run' });

/**
 * Target of every Catch in the state machine: writes FAILED with the step and the reason to
 * the run record. A failure before the run had an id (e.g. an unreadable dataset at
 * startRun) has no record to write; it is logged with the dataset key.
 *
 * Idempotent (the core's recordRunFailure): a run already FAILED keeps its first reason, so a
 * step that recorded its own failure (the training container writes its real error before it
 * exits non-zero; Batch then only says "Essential container in task exited") keeps it, with
 * the Batch job's CloudWatch log stream added.
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
  const stream = cause.logStreamName ? ` (CloudWatch log stream: ${cause.logStreamName})` : '';
  let error = { step: input.step, name: input.error.Error, message: `${cause.message}${stream}` };
  // A run FAILED at this very step recorded its own reason first (the training container):
  // keep it (recordRunFailure never overwrites one) and add where its logs are.
  const record = await updateRun(store, runId, (r) =>
    r.state === 'FAILED' && r.error?.step === input.step && stream && !r.error.message.includes(stream) ? { ...r, error: { ...r.error, message: `${r.error.message}${stream}` } } : undefined,
  ).catch(() => undefined);
  if (record?.state === 'FAILED' && record.error?.step === input.step) error = { ...error, ...record.error };
  else error = (await recordRunFailure(store, runId, error)).error ?? error;
  log.error('Run failed', { errorName: error.name, errorMessage: error.message });
  return { recorded: true, runId, step: input.step };
}
