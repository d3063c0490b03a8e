/** A failed step's error, carried to the run record: the error name and its human message. */
export class StepFailure extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/** The parts of a Step Functions error Cause that the run record keeps. */
export interface CauseDetails {
  /** The human part: a Lambda's errorMessage, a Batch job's StatusReason, or the text itself. */
  readonly message: string;
  /** CloudWatch Logs stream of a Batch job's (last) attempt, when the cause is a Batch job. */
  readonly logStreamName?: string;
}

const MAX_MESSAGE = 2000;

/**
 * Reads a Step Functions error Cause. A Lambda error's Cause is its JSON
 * (`{"errorType","errorMessage","trace"}`); a Batch `.sync` failure's is the DescribeJobs
 * JSON of the job (`StatusReason`, `Container.LogStreamName`, `Attempts[]`). Keep the human
 * part and the log stream; the trace stays in the function's logs.
 */
export function parseCause(cause: string | null | undefined): CauseDetails {
  if (!cause) return { message: 'No cause given.' };
  try {
    const parsed = JSON.parse(cause) as Record<string, unknown>;
    const message = [parsed.errorMessage, parsed.StatusReason, parsed.statusReason].find((v): v is string => typeof v === 'string' && v !== '');
    return { message: message ? truncate(message) : truncate(cause), logStreamName: batchLogStream(parsed) };
  } catch {
    return { message: truncate(cause) };
  }
}

/** The human part of a Cause (see {@link parseCause}). */
export function causeMessage(cause: string | null | undefined): string {
  return parseCause(cause).message;
}

function batchLogStream(job: Record<string, unknown>): string | undefined {
  const pick = (c: unknown) => {
    const v = (c as { LogStreamName?: unknown; logStreamName?: unknown } | undefined)?.LogStreamName ?? (c as { logStreamName?: unknown } | undefined)?.logStreamName;
    return typeof v === 'string' && v ? v : undefined;
  };
  const attempts = (job.Attempts ?? job.attempts) as { Container?: unknown; container?: unknown }[] | undefined;
  const last = Array.isArray(attempts) ? attempts.at(-1) : undefined;
  return pick(job.Container ?? job.container) ?? pick(last?.Container ?? last?.container);
}

function truncate(text: string): string {
  return text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE)}...` : text;
}
