import { describe, expect, it } from 'vitest';
import { DatasetError, NotFoundError, RequestError } from '../../src/errors.ts';
import { createLogger } from '../../functions/commons/logger.ts';
import { errorResponse, statusFor } from '../../functions/commons/http-response.ts';
import { intEnv, requireEnv } from '../../functions/commons/env.ts';
import { ENV_NAMES } from '../../functions/commons/env-names.ts';
import { parseBody, trainRequest } from '../../functions/commons/events.ts';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ service: 'test', level: 'debug', write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) });
  return { lines, logger };
}

describe('env helper', () => {
  it('names the missing variable', () => {
    expect(() => requireEnv(ENV_NAMES.bucket, {})).toThrow(/^Environment variable SIMPAIR_BUCKET is required/);
    expect(requireEnv(ENV_NAMES.bucket, { SIMPAIR_BUCKET: 'b' })).toBe('b');
  });
  it('parses positive integers and refuses the rest', () => {
    expect(intEnv(ENV_NAMES.predictMaxPairs, 32, {})).toBe(32);
    expect(intEnv(ENV_NAMES.predictMaxPairs, 32, { SIMPAIR_PREDICT_MAX_PAIRS: '8' })).toBe(8);
    expect(() => intEnv(ENV_NAMES.predictMaxPairs, 32, { SIMPAIR_PREDICT_MAX_PAIRS: '-1' })).toThrow(/positive integer, got "-1"/);
  });
});

describe('JSON logger', () => {
  it('writes one JSON object per line with service, level and child fields', () => {
    const { lines, logger } = capture();
    logger.child({ requestId: 'r1' }).info('hello', { n: 1 });
    expect(lines).toEqual([expect.objectContaining({ level: 'INFO', service: 'test', message: 'hello', requestId: 'r1', n: 1, timestamp: expect.any(String) })]);
  });
  it('respects the level', () => {
    const lines: string[] = [];
    createLogger({ service: 's', level: 'warn', write: (l) => lines.push(l) }).info('dropped');
    expect(lines).toEqual([]);
  });
});

describe('error to HTTP mapping', () => {
  it('maps error classes to statuses', () => {
    expect(statusFor(new RequestError('x'))).toBe(400);
    expect(statusFor(new NotFoundError('x'))).toBe(404);
    expect(statusFor(new DatasetError('x'))).toBe(422);
    expect(statusFor(new TypeError('x'))).toBe(500);
    // The store is down: the AWS SDK's network error, or a 5xx from S3.
    expect(statusFor(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4569'), { code: 'ECONNREFUSED', $metadata: { attempts: 3 } }))).toBe(503);
    expect(statusFor(Object.assign(new Error('Please reduce your request rate.'), { name: 'SlowDown', $metadata: { httpStatusCode: 503 } }))).toBe(503);
    expect(statusFor(new Error('wrapped', { cause: Object.assign(new Error('reset'), { code: 'ECONNRESET' }) }))).toBe(503);
  });
  it('answers 503 with Retry-After when the store cannot be reached', () => {
    const res = errorResponse(Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:443'), { code: 'ECONNREFUSED' }), 'req-5', capture().logger);
    expect(res.statusCode).toBe(503);
    expect(res.headers).toMatchObject({ 'retry-after': expect.stringMatching(/^\d+$/), 'x-request-id': 'req-5' });
    expect(res.body).not.toContain('10.0.0.1');
  });
  it('answers a 500 with the request id and no stack, and logs the stack', () => {
    const { lines, logger } = capture();
    const err = new Error('secret internals at /var/task/index.mjs');
    const res = errorResponse(err, 'req-9', logger);
    expect(res.statusCode).toBe(500);
    expect(res.headers).toMatchObject({ 'x-request-id': 'req-9' });
    expect(res.body).not.toContain('secret');
    expect(res.body).not.toContain('at ');
    expect(JSON.parse(res.body)).toEqual({ error: 'InternalError', message: expect.stringContaining('req-9'), requestId: 'req-9' });
    expect(lines[0]).toMatchObject({ level: 'ERROR', error: { message: 'secret internals at /var/task/index.mjs', stack: expect.any(String) } });
  });
  it('passes a 4xx message through', () => {
    const res = errorResponse(new NotFoundError('No run "x".'), 'r', capture().logger);
    expect(JSON.parse(res.body)).toEqual({ error: 'NotFoundError', message: 'No run "x".', requestId: 'r' });
  });
});

describe('request schemas', () => {
  it('accepts a train request and names every problem of a bad one', () => {
    expect(parseBody(trainRequest, '{"datasetKey":"datasets/a.tsv","options":{"epochs":2}}')).toEqual({ datasetKey: 'datasets/a.tsv', options: { epochs: 2 } });
    expect(() => parseBody(trainRequest, '{"datasetKey":"models/x","options":{"epochs":0,"bogus":1}}')).toThrow(
      /datasetKey: must be a key under datasets\/[\s\S]*options.epochs[\s\S]*bogus/,
    );
    expect(() => parseBody(trainRequest, '{nope')).toThrow(RequestError);
  });
});
