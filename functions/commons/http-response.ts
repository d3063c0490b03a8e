import type { APIGatewayProxyResult } from 'aws-lambda';
import type { SimpairError } from '../../src/errors.ts';
import { STORE_RETRY_AFTER_SECONDS, statusFor } from '../../src/server/error-status.ts';
import type { Logger } from './logger.ts';

/** Body of every error answer. */
export interface ErrorBody {
  error: string;
  message: string;
  requestId: string;
}

/** A JSON answer with the request id in a header, so callers can quote it. */
export function jsonResponse(statusCode: number, body: unknown, requestId: string, headers: Record<string, string> = {}): APIGatewayProxyResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', 'x-request-id': requestId, ...headers },
    body: JSON.stringify(body),
  };
}

export { statusFor };

/**
 * Maps an error to an answer. 4xx answers carry the error's own message (it says what to
 * fix); an unreachable store is a 503 with `Retry-After`; a 500 is logged with its stack and
 * answered with the request id only.
 */
export function errorResponse(err: unknown, requestId: string, logger: Logger): APIGatewayProxyResult {
  const status = statusFor(err);
  if (status === 503) {
    logger.warn('Store unavailable', { error: err });
    const body: ErrorBody = { error: 'StoreUnavailable', message: `The store cannot be reached right now; retry in ${STORE_RETRY_AFTER_SECONDS} s.`, requestId };
    return jsonResponse(503, body, requestId, { 'retry-after': String(STORE_RETRY_AFTER_SECONDS) });
  }
  if (status === 500) {
    logger.error('Unhandled error', { error: err });
    const body: ErrorBody = { error: 'InternalError', message: `Internal error. Quote request id ${requestId} when reporting it.`, requestId };
    return jsonResponse(500, body, requestId);
  }
  const e = err as SimpairError;
  logger.warn('Request failed', { status, errorName: e.name, errorMessage: e.message });
  const body: ErrorBody = { error: e.name, message: e.message, requestId };
  return jsonResponse(status, body, requestId);
}
