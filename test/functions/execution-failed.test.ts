import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { cloudKeys } from '../../functions/commons/keys.ts';
import { fakeRunRecord } from './fakes.ts';
import { createRun, getRun, type RunRecord } from '../../src/pipeline/run-record.ts';
import { FsObjectStore } from '../../src/storage/fs-object-store.ts';

// The handler works on the real run-record code; only the bucket is a local directory.
const state = vi.hoisted(() => ({ store: undefined as unknown }));
vi.mock('../../functions/commons/store.ts', () => ({ pipelineStore: () => state.store }));

const { handler } = await import('../../functions/execution-failed/index.ts');

const STOP = Date.parse('2026-01-01T01:00:00Z');
const record = (runId: string, patch: Partial<RunRecord> = {}) => fakeRunRecord(runId, patch, '2026-01-01T00:00:00Z');
function statusChange(detail: Record<string, unknown>) {
  return {
    source: 'aws.states',
    'detail-type': 'Step Functions Execution Status Change',
    detail: { executionArn: 'arn:aws:states:us-east-1:1:execution:sm:e1', name: 'e1', status: 'FAILED', stopDate: STOP, input: null, error: null, cause: null, ...detail },
  };
}

let store: FsObjectStore;
beforeEach(() => {
  store = new FsObjectStore(mkdtempSync(join(tmpdir(), 'simpair-exec-failed-')));
  state.store = store;
});

describe('execution-failed handler', () => {
  it('finds the run through the execution record and fails it at the step its state names', async () => {
    await createRun(store, record('run-1'));
    await store.put(cloudKeys.executionRun('e1'), '{"runId":"run-1"}');
    expect(await handler(statusChange({ status: 'ABORTED' }))).toMatchObject({ recorded: true, runId: 'run-1' });
    expect((await getRun(store, 'run-1')).error).toEqual({ step: 'train', name: 'ExecutionAborted', message: expect.stringMatching(/e1 was stopped while the run was EMBEDDED/) });
  });

  it('falls back to the POST /train start marker in the execution input', async () => {
    await createRun(store, record('run-9', { state: 'STARTED' }));
    const input = JSON.stringify({ detail: { object: { key: 'runs/run-9/start.json' } } });
    expect(await handler(statusChange({ input, error: 'States.Runtime', cause: '{"errorMessage":"boom"}' }))).toMatchObject({ recorded: true, runId: 'run-9' });
    expect((await getRun(store, 'run-9')).error?.message).toMatch(/failed while the run was STARTED: States.Runtime \(boom\)/);
  });

  it('leaves terminal runs, runs restarted after the execution stopped, and runs without an id alone', async () => {
    await store.put(cloudKeys.executionRun('e1'), '{"runId":"run-1"}');
    await createRun(store, record('run-1', { state: 'SUCCEEDED' }));
    expect(await handler(statusChange({}))).toMatchObject({ recorded: false, reason: 'already SUCCEEDED' });
    await store.put(cloudKeys.executionRun('e2'), '{"runId":"run-2"}');
    await createRun(store, record('run-2', { state: 'STARTED', startedAt: '2026-01-01T02:00:00Z' }));
    expect(await handler(statusChange({ name: 'e2' }))).toMatchObject({ recorded: false, reason: expect.stringMatching(/restarted/) });
    expect((await getRun(store, 'run-2')).state).toBe('STARTED');
    await store.put(cloudKeys.executionRun('e3'), '{"runId":"run-3"}');
    expect(await handler(statusChange({ name: 'e3' }))).toMatchObject({ recorded: false, reason: 'no run record' });
    expect(await handler(statusChange({ name: 'e4', input: '{"detail":{"object":{"key":"datasets/x.tsv"}}}' }))).toMatchObject({ recorded: false, reason: 'no run id' });
  });

  it('refuses events of another kind', async () => {
    await expect(handler({ source: 'aws.s3', detail: {} })).rejects.toThrow(/Invalid event for execution-failed/);
  });
});
