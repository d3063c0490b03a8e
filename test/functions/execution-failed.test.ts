import { beforeEach, describe, expect, it, vi } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';

const mocks = vi.hoisted(() => {
  process.env.SIMPAIR_BUCKET = 'test-bucket';
  return { getRun: vi.fn(), failRun: vi.fn() };
});
vi.mock('../../src/pipeline/cloud-steps.ts', () => mocks);

const { handler } = await import('../../functions/execution-failed/index.ts');
const { NotFoundError } = await import('../../src/errors.ts');
const s3 = mockClient(S3Client);

const body = (text: string) => Readable.from([Buffer.from(text)]);
const noSuchKey = Object.assign(new Error('NoSuchKey'), { name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } });

function statusChange(detail: Record<string, unknown>) {
  return {
    source: 'aws.states',
    'detail-type': 'Step Functions Execution Status Change',
    detail: { executionArn: 'arn:aws:states:us-east-1:1:execution:sm:e1', name: 'e1', status: 'FAILED', stopDate: Date.parse('2026-01-01T01:00:00Z'), input: null, error: null, cause: null, ...detail },
  };
}

describe('execution-failed handler', () => {
  beforeEach(() => {
    s3.reset();
    mocks.getRun.mockReset();
    mocks.failRun.mockReset().mockResolvedValue({});
  });

  it('finds the run through the execution record and fails it at the step its state names', async () => {
    s3.on(GetObjectCommand, { Key: 'runs/executions/e1.json' }).callsFake(async () => ({ Body: body('{"runId":"run-1"}') }));
    mocks.getRun.mockResolvedValue({ runId: 'run-1', state: 'EMBEDDED', createdAt: '2026-01-01T00:00:00Z' });
    const out = await handler(statusChange({ status: 'ABORTED' }));
    expect(out).toMatchObject({ recorded: true, runId: 'run-1' });
    expect(mocks.failRun.mock.calls[0][1]).toMatchObject({ runId: 'run-1', step: 'train', error: expect.objectContaining({ name: 'ExecutionAborted', message: expect.stringMatching(/e1 was stopped while the run was EMBEDDED/) }) });
  });

  it('falls back to the POST /train start marker in the execution input', async () => {
    s3.on(GetObjectCommand).rejects(noSuchKey);
    mocks.getRun.mockResolvedValue({ runId: 'run-9', state: 'STARTED', createdAt: '2026-01-01T00:00:00Z' });
    const input = JSON.stringify({ detail: { object: { key: 'runs/run-9/start.json' } } });
    expect(await handler(statusChange({ input, error: 'States.Runtime', cause: '{"errorMessage":"boom"}' }))).toMatchObject({ recorded: true, runId: 'run-9' });
    expect(mocks.failRun.mock.calls[0][1].error.message).toMatch(/failed while the run was STARTED: States.Runtime \(boom\)/);
  });

  it('leaves terminal runs, runs restarted after the execution stopped, and runs without an id alone', async () => {
    s3.on(GetObjectCommand).callsFake(async () => ({ Body: body('{"runId":"run-1"}') }));
    mocks.getRun.mockResolvedValueOnce({ runId: 'run-1', state: 'SUCCEEDED', createdAt: '2026-01-01T00:00:00Z' });
    expect(await handler(statusChange({}))).toMatchObject({ recorded: false, reason: 'already SUCCEEDED' });
    mocks.getRun.mockResolvedValueOnce({ runId: 'run-1', state: 'STARTED', createdAt: '2026-01-01T02:00:00Z' });
    expect(await handler(statusChange({}))).toMatchObject({ recorded: false, reason: expect.stringMatching(/restarted/) });
    mocks.getRun.mockRejectedValueOnce(new NotFoundError('no run'));
    expect(await handler(statusChange({}))).toMatchObject({ recorded: false, reason: 'no run record' });
    s3.reset();
    s3.on(GetObjectCommand).rejects(noSuchKey);
    expect(await handler(statusChange({ input: '{"detail":{"object":{"key":"datasets/x.tsv"}}}' }))).toMatchObject({ recorded: false, reason: 'no run id' });
    expect(mocks.failRun).not.toHaveBeenCalled();
  });

  it('refuses events of another kind', async () => {
    await expect(handler({ source: 'aws.s3', detail: {} })).rejects.toThrow(/Invalid event for execution-failed/);
  });
});
