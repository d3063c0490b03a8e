import type { Context } from 'aws-lambda';
import { getRun, recordRunFailure, type RunRecord } from '../../src/pipeline/run-record.ts';
import { NotFoundError } from '../../src/errors.ts';
import { getJson } from '../../src/storage/object-store.ts';
import { causeMessage, cloudKeys, createLogger, executionStatusChangeEvent, parseEvent, pipelineStore, START_REQUEST_PATTERN, StepFailure } from '../commons/index.ts';

const logger = createLogger({ service: 'execution-failed' });

/** The step a run in a given state was working on. */
const STEP_OF_STATE: Partial<Record<RunRecord['state'], string>> = { STARTED: 'validate', VALIDATED: 'embed', EMBEDDED: 'train', TRAINED: 'publish' };

/** What the handler did, for its log and its tests. */
export interface ExecutionFailedResult {
  readonly recorded: boolean;
  readonly runId?: string;
  readonly reason: string;
}

/**
 * Target of the EventBridge rule on the state machine's executions that end FAILED,
 * TIMED_OUT or ABORTED. Failures caught inside the state machine are already recorded (the
 * Catch path); this records the others (an execution timeout, a stop, a "Record failure" step
 * that failed itself, a validate function killed by its own timeout) so that no run stays
 * STARTED/VALIDATED/EMBEDDED/TRAINED for good. A run already FAILED or SUCCEEDED, or restarted
 * after this execution stopped, is left alone.
 */
export async function handler(event: unknown, context?: Context): Promise<ExecutionFailedResult> {
  const { detail } = parseEvent(executionStatusChangeEvent, event, 'execution-failed');
  const log = logger.child({ awsRequestId: context?.awsRequestId, execution: detail.name, status: detail.status });
  const store = pipelineStore();
  const runId = (await runOfExecution(detail.name)) ?? runOfInput(detail.input);
  if (!runId) {
    log.warn('Execution ended before its run had an id; nothing to record', { input: detail.input?.slice(0, 500) });
    return { recorded: false, reason: 'no run id' };
  }
  let run: RunRecord;
  try {
    run = await getRun(store, runId);
  } catch (err) {
    if (err instanceof NotFoundError) return { recorded: false, runId, reason: 'no run record' };
    throw err;
  }
  if (run.state === 'FAILED' || run.state === 'SUCCEEDED') return { recorded: false, runId, reason: `already ${run.state}` };
  if (detail.stopDate != null && Date.parse(run.startedAt ?? run.createdAt) > detail.stopDate) {
    return { recorded: false, runId, reason: 'the run was restarted after this execution stopped' };
  }
  const what = detail.status === 'TIMED_OUT' ? 'timed out (the state machine limit)' : detail.status === 'ABORTED' ? 'was stopped' : 'failed';
  const why = detail.error ? `: ${detail.error}${detail.cause ? ` (${causeMessage(detail.cause)})` : ''}` : '';
  const error = new StepFailure(detail.error ?? `Execution${detail.status === 'TIMED_OUT' ? 'TimedOut' : detail.status === 'ABORTED' ? 'Aborted' : 'Failed'}`, `Step Functions execution ${detail.name} ${what} while the run was ${run.state}${why}.`);
  await recordRunFailure(store, runId, { step: STEP_OF_STATE[run.state] ?? 'execution', name: error.name, message: error.message });
  log.error('Run recorded as FAILED after its execution ended', { runId, errorName: error.name, errorMessage: error.message });
  return { recorded: true, runId, reason: error.message };

  async function runOfExecution(name: string): Promise<string | undefined> {
    try {
      return (await getJson<{ runId: string }>(store, cloudKeys.executionRun(name))).runId;
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  }
}

/** A POST /train execution names its run in its input (the start marker's key). */
function runOfInput(input: string | null | undefined): string | undefined {
  try {
    const key = (JSON.parse(input ?? '') as { detail?: { object?: { key?: unknown } } }).detail?.object?.key;
    return typeof key === 'string' ? START_REQUEST_PATTERN.exec(key)?.[1] : undefined;
  } catch {
    return undefined;
  }
}
