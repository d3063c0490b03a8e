export { ENV_NAMES } from './env-names.ts';
export type { EnvName } from './env-names.ts';
export { intEnv, MissingEnvironmentError, optionalEnv, requireEnv } from './env.ts';
export { createLogger } from './logger.ts';
export type { Logger, LoggerOptions, LogLevel } from './logger.ts';
export { errorResponse, jsonResponse, statusFor } from './http-response.ts';
export type { ErrorBody } from './http-response.ts';
export {
  embedShardInput,
  executionStatusChangeEvent,
  failRunInput,
  parseBody,
  parseEvent,
  runId,
  runOptions,
  runStepInput,
  s3ObjectCreatedEvent,
  stepError,
  trainRequest,
  validateStepInput,
} from './events.ts';
export type { ExecutionStatusChangeEvent, S3ObjectCreatedEvent, TrainRequest } from './events.ts';
export { pipelineStore } from './store.ts';
export { callerOf, type Caller } from './caller.ts';
export { CLOUD_RUN_OWNER, cloudKeys, START_REQUEST_PATTERN } from './keys.ts';
export { causeMessage, parseCause, StepFailure } from './step-failure.ts';
export type { CauseDetails } from './step-failure.ts';
