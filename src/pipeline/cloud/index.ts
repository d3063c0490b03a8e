/**
 * The steps of a training run, one module per step, each callable on its own (a Lambda, the
 * Batch container) or in order in-process (run-steps.ts, the local flow). Each module states
 * the IAM its step needs. State lives only in the store: `runs/{id}/status.json` is the run
 * record (a state machine with a lease, see ../run-record.ts); nothing under
 * `models/live.json` changes unless every step succeeded.
 */
export { DEFAULT_RUN_OPTIONS, resolveRunOptions, type RunOptions } from '../run-options.ts';
export { getRun, recordRunFailure, type RunOwner, type RunRecord, type RunState } from '../run-record.ts';
export { embeddingIdOf, type ShardRef } from './common.ts';
export { embeddingIdFor, runIdFor } from '../run-options.ts';
export { DEFAULT_MAX_ATTEMPTS, startRun, takeOverStaleRun, type StartRunInput, type StartRunResult } from './start.ts';
export { validateAndSplit } from './validate.ts';
export { embedShard } from './embed.ts';
export { finalizeEmbeddings } from './finalize.ts';
export { trainRun } from './train.ts';
export { publishModel } from './publish.ts';
export { failRun } from './fail.ts';
export { resumePoint, runPipeline, runSteps, type RunStepsOptions } from './run-steps.ts';
