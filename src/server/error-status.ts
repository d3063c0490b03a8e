import { ModelOutputError, NotFoundError, RequestError, SimpairError } from '../errors.ts';

/** Seconds a caller is asked to wait (`Retry-After`) when the store is unreachable. */
export const STORE_RETRY_AFTER_SECONDS = 5;

/** Socket-level errors of a store that is down or unreachable (S3 endpoint, network). */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'ECONNABORTED']);
/** AWS SDK error names of a store that is there but cannot serve now. */
const UNAVAILABLE_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'ServiceUnavailable', 'SlowDown', 'InternalError', 'ThrottlingException', 'RequestTimeTooSkewed']);

/**
 * True when `err` (or an error in its `cause` chain) says the store cannot be reached right
 * now: a refused or reset connection, a DNS failure, an SDK timeout, or a 5xx from S3. The
 * caller's request was fine; retrying later may succeed.
 *
 * @example
 * isStoreUnavailable(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })); // true
 */
export function isStoreUnavailable(err: unknown): boolean {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof SimpairError) return false;
    const x = e as { code?: unknown; name?: unknown; $metadata?: { httpStatusCode?: number } };
    if (typeof x.code === 'string' && UNREACHABLE_CODES.has(x.code)) return true;
    if (x.$metadata !== undefined && typeof x.name === 'string' && UNAVAILABLE_NAMES.has(x.name)) return true;
    const status = x.$metadata?.httpStatusCode;
    if (typeof status === 'number' && status >= 500) return true;
  }
  return false;
}

/**
 * HTTP status for an error, the one mapping every face uses (`simpair serve`, the Lambdas):
 * what the caller can fix is 4xx, a store that cannot be reached 503 (answer with
 * `Retry-After`), anything else 500.
 */
export function statusFor(err: unknown): number {
  if (err instanceof RequestError) return 400;
  if (err instanceof NotFoundError) return 404;
  // The live model's fault, not the caller's: a 500 (that names the problem, see api-router).
  if (err instanceof ModelOutputError) return 500;
  // Well-formed but unusable input: a bad dataset, a model that does not fit its embedder.
  if (err instanceof SimpairError) return 422;
  if (isStoreUnavailable(err)) return 503;
  return 500;
}
