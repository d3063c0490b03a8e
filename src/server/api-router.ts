import { randomUUID } from 'node:crypto';
import { ModelOutputError, RequestError } from '../errors.ts';
import { STORE_RETRY_AFTER_SECONDS, statusFor } from './error-status.ts';
import { checkDatasetKey } from './dataset-key.ts';
import { log } from '../util/log.ts';
import type { PageBackend } from './page-backend.ts';
import { routePage } from './page-routes.ts';
import { DEFAULT_PREDICT_LIMITS, parseJsonText, parsePredictRequest, type PredictLimits, type PredictResponse } from './predict-request.ts';

/** One HTTP answer, independent of the server (node:http, API Gateway). */
export interface ApiResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/** What the routes call; each face (local server, Lambda) supplies its own. */
export interface ApiBackend {
  predict(pairs: { sentence1: string; sentence2: string }[]): Promise<PredictResponse['predictions']>;
  /** POST /train; absent when the face serves one fixed model. */
  startTraining?(body: unknown): Promise<{ runId: string; duplicate: boolean }>;
  /** GET /runs/{id}. */
  getRun?(runId: string): Promise<unknown>;
  readonly limits?: PredictLimits;
  /** The page to try the model (GET /, see page-routes.ts); absent in the Lambdas. */
  readonly page?: PageBackend;
}

const JSON_HEADERS = { 'content-type': 'application/json' };

function answer(statusCode: number, value: unknown, headers: Record<string, string> = {}): ApiResponse {
  return { statusCode, headers: { ...JSON_HEADERS, ...headers }, body: JSON.stringify(value) };
}

/**
 * Maps an error to an answer, always with the request id: the user's mistakes are 4xx with
 * the message; an unreachable store is a 503 with `Retry-After`; anything else is a 500,
 * logged with its stack, never sent to the caller.
 */
export function errorResponse(err: unknown, requestId: string = randomUUID()): ApiResponse {
  const status = statusFor(err);
  if (status === 503) {
    log('warn', 'store unavailable', { requestId, error: (err as Error)?.message ?? String(err) });
    return answer(
      503,
      { error: 'StoreUnavailable', message: `The store cannot be reached right now; retry in ${STORE_RETRY_AFTER_SECONDS} s (request id ${requestId}).`, requestId },
      { 'retry-after': String(STORE_RETRY_AFTER_SECONDS) },
    );
  }
  if (status !== 500 || err instanceof ModelOutputError) return answer(status, { error: (err as Error).name, message: (err as Error).message, requestId });
  log('error', 'internal error', { requestId, error: (err as Error)?.stack ?? String(err) });
  return answer(500, { error: 'InternalError', message: `Internal error; quote request id ${requestId} when reporting it.`, requestId });
}

/**
 * Routes `POST /predict`, `POST /train`, `GET /runs/{id}` to a backend. `simpair serve` and
 * the Lambda handlers both call this, so the two faces answer the same. Never throws: every
 * error becomes an answer carrying `requestId`.
 *
 * @example
 * const res = await routeApiRequest(backend, 'POST', '/predict', '{"pairs":[...]}');
 */
export async function routeApiRequest(backend: ApiBackend, method: string, path: string, body: string | undefined, requestId: string = randomUUID()): Promise<ApiResponse> {
  try {
    const route = path.replace(/\/+$/, '') || '/';
    const page = backend.page && (await routePage(backend.page, method, route, body));
    if (page) return page;
    if (route === '/health') {
      // Liveness for load balancers and container checks: the process answers; no model is loaded.
      if (method !== 'GET' && method !== 'HEAD') return answer(405, { error: 'MethodNotAllowed', message: 'Use GET /health.', requestId }, { allow: 'GET, HEAD' });
      return answer(200, { status: 'ok' });
    }
    if (route === '/predict') {
      if (method !== 'POST') return answer(405, { error: 'MethodNotAllowed', message: 'Use POST /predict.', requestId }, { allow: 'POST' });
      const request = parsePredictRequest(body ?? '', backend.limits ?? DEFAULT_PREDICT_LIMITS);
      return answer(200, { predictions: await backend.predict(request.pairs) } satisfies PredictResponse);
    }
    if (route === '/train' && backend.startTraining) {
      if (method !== 'POST') return answer(405, { error: 'MethodNotAllowed', message: 'Use POST /train.', requestId }, { allow: 'POST' });
      let parsed: unknown;
      try {
        parsed = parseJsonText(body ?? '');
      } catch {
        throw new RequestError('Request body is not valid JSON; send {"datasetKey": "datasets/<file>"}.');
      }
      // Keys are checked here, before any store sees them: "datasets/", NUL or 900 KB are the caller's mistakes.
      const datasetKey = (parsed as { datasetKey?: unknown } | null)?.datasetKey;
      if (typeof datasetKey === 'string') checkDatasetKey(datasetKey);
      return answer(202, await backend.startTraining(parsed));
    }
    const run = /^\/runs\/([\w-]+)$/.exec(route);
    if (run && backend.getRun) {
      if (method !== 'GET') return answer(405, { error: 'MethodNotAllowed', message: 'Use GET /runs/{id}.', requestId }, { allow: 'GET' });
      return answer(200, await backend.getRun(run[1]));
    }
    const shownRoute = route.length > 100 ? `${route.slice(0, 99)}…` : route;
    return answer(404, { error: 'NotFound', message: `No route ${method} ${shownRoute}. Routes: ${backend.page ? 'GET / (the page), ' : ''}POST /predict${backend.startTraining ? ', POST /train, GET /runs/{id}' : ''}, GET /health.`, requestId });
  } catch (err) {
    return errorResponse(err, requestId);
  }
}
