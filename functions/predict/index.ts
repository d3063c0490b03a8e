import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { createLivePredictor, type LivePredictor } from '../../src/server/live-predictor.ts';
import { DEFAULT_PREDICT_LIMITS, parsePredictRequest, type PredictLimits, type PredictResponse } from '../../src/server/predict-request.ts';
import { createLogger, ENV_NAMES, errorResponse, intEnv, jsonResponse, pipelineStore, callerOf } from '../commons/index.ts';

const logger = createLogger({ service: 'predict' });

/** Limits read once per container; the stack sets the same numbers in the API's JSON schema. */
const LIMITS: PredictLimits = {
  maxPairs: intEnv(ENV_NAMES.predictMaxPairs, DEFAULT_PREDICT_LIMITS.maxPairs),
  maxTextLength: intEnv(ENV_NAMES.predictMaxTextLength, DEFAULT_PREDICT_LIMITS.maxTextLength),
};

// The live model (tokenizer, BERT session, Bi-LSTM) is loaded once per container and shared
// by every invocation. models/live.json is re-read at most every 30 s, so a newly published
// model replaces the old one without a redeploy; a failed load is retried on the next call.
let backend: LivePredictor | undefined;
function liveBackend(): LivePredictor {
  backend ??= createLivePredictor(pipelineStore(), { pointerTtlMs: 30_000 });
  return backend;
}

// A provisioned environment is initialised before any request: start loading the live model
// (download, ONNX session, first inference) now. The CommonJS bundle cannot await at the top
// level, so the load runs on during initialisation and, if Lambda froze it, finishes on the
// first request at the latest. No live model yet, or a failed load, is left for a request to report.
const warmUp =
  process.env.AWS_LAMBDA_INITIALIZATION_TYPE === 'provisioned-concurrency'
    ? liveBackend()
        .predict([{ sentence1: 'warm up', sentence2: 'warm up' }])
        .then(() => logger.info('Live model loaded at initialisation'))
        .catch((err: unknown) => logger.warn('Live model not loaded at initialisation', { error: err }))
    : undefined;

/** `POST /predict`: the same request and answer as `simpair serve`. */
export async function handler(event: APIGatewayProxyEvent, context?: Context): Promise<APIGatewayProxyResult> {
  const requestId = event.requestContext?.requestId ?? context?.awsRequestId ?? 'unknown';
  const log = logger.child({ requestId, awsRequestId: context?.awsRequestId, caller: callerOf(event) });
  try {
    const body = event.isBase64Encoded && event.body ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
    const request = parsePredictRequest(body ?? '', LIMITS);
    await warmUp;
    const live = liveBackend();
    const predictions = await live.predict(request.pairs);
    const answer: PredictResponse = { predictions };
    const modelVersion = (await live.modelVersion()) ?? 'none';
    log.info('Predicted', { pairs: request.pairs.length, modelVersion });
    return jsonResponse(200, answer, requestId, { 'x-model-version': modelVersion });
  } catch (err) {
    return errorResponse(err, requestId, log);
  }
}
