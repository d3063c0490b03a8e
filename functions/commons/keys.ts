import { PREFIX } from '../../src/pipeline/layout.ts';

/**
 * Keys the cloud wiring relies on beyond the core's layout (src/pipeline/layout.ts): the shard list the
 * Distributed Map reads, and the marker `POST /train` writes to start the state machine.
 */
export const cloudKeys = {
  /** JSON array of ShardRef written by the core's validateAndSplit, read by the Distributed Map's ItemReader. */
  shardIndex: (runId: string) => `${PREFIX.shards}${runId}/shards.json`,
  /** Written by `POST /train`; its Object Created event starts the state machine for that run. */
  startRequest: (runId: string) => `${PREFIX.runs}${runId}/start.json`,
  /** Written by the validate step: which run an execution (by its name) works on, for the execution-failed rule. */
  executionRun: (executionName: string) => `${PREFIX.runs}executions/${executionName}.json`,
};

/** Matches a start-request key and yields its run id. */
export const START_REQUEST_PATTERN = /^runs\/([^/]+)\/start\.json$/;

/**
 * Owner of runs started in the cloud: the state machine execution works on them, not one
 * process, so the lease only backs up the failure rule on executions (FAILED, TIMED_OUT,
 * ABORTED): it outlasts the longest execution (24 h timeout by default) and a run whose
 * execution vanished without a trace is taken over by the next start after that.
 */
export const CLOUD_RUN_OWNER = { id: 'aws/step-functions', leaseMs: 25 * 60 * 60 * 1000 } as const;
