import { DEFAULT_RUN_OPTIONS } from '../../src/pipeline/cloud/index.ts';
import type { RunRecord } from '../../src/pipeline/run-record.ts';
import type { APIGatewayProxyEvent } from 'aws-lambda';

/** A minimal API Gateway REST (proxy) event. */
export function apiEvent(overrides: Partial<APIGatewayProxyEvent> & { httpMethod: string; resource: string }): APIGatewayProxyEvent {
  return {
    body: null,
    headers: {},
    multiValueHeaders: {},
    isBase64Encoded: false,
    path: overrides.resource,
    pathParameters: null,
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    stageVariables: null,
    requestContext: { requestId: 'req-123' } as APIGatewayProxyEvent['requestContext'],
    ...overrides,
  };
}

/** EventBridge "Object Created" event for a key in a bucket. */
export function objectCreated(key: string, bucket = 'test-bucket') {
  return {
    version: '0',
    id: 'e1',
    'detail-type': 'Object Created',
    source: 'aws.s3',
    account: '123456789012',
    time: '2025-01-01T00:00:00Z',
    region: 'us-east-1',
    resources: [`arn:aws:s3:::${bucket}`],
    detail: { version: '0', bucket: { name: bucket }, object: { key, size: 10, etag: 'x' }, 'request-id': 'r', requester: '1', reason: 'PutObject' },
  };
}

/** A run record in `state` (EMBEDDED unless patched), as the core writes them. */
export function fakeRunRecord(runId: string, patch: Partial<RunRecord> = {}, at = new Date().toISOString()): RunRecord {
  return { runId, datasetKey: 'datasets/x.tsv', datasetSha256: '0'.repeat(64), state: 'EMBEDDED', options: DEFAULT_RUN_OPTIONS, attempt: 1, startedAt: at, createdAt: at, updatedAt: at, ...patch } as RunRecord;
}
