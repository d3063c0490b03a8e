import { NotFoundError, RequestError, SimpairError } from '../errors.ts';

/**
 * HTTP status for an error, the one mapping every face uses (`simpair serve`, the Lambdas):
 * what the caller can fix is 4xx, anything else 500.
 */
export function statusFor(err: unknown): number {
  if (err instanceof RequestError) return 400;
  if (err instanceof NotFoundError) return 404;
  // Well-formed but unusable input: a bad dataset, a model that does not fit its embedder.
  if (err instanceof SimpairError) return 422;
  return 500;
}
