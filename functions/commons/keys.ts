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
};

/** Matches a start-request key and yields its run id. */
export const START_REQUEST_PATTERN = /^runs\/([^/]+)\/start\.json$/;
