import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { fakeRunRecord } from './fakes.ts';
import { createRun, getRun, type RunRecord } from '../../src/pipeline/run-record.ts';
import { FsObjectStore } from '../../src/storage/fs-object-store.ts';

// The handler works on the real run-record code; only the bucket is a local directory.
const state = vi.hoisted(() => ({ store: undefined as unknown }));
vi.mock('../../functions/commons/store.ts', () => ({ pipelineStore: () => state.store }));

const { handler: failRun, causeMessage } = await import('../../functions/fail-run/index.ts');

const record = (runId: string, patch: Partial<RunRecord> = {}) => fakeRunRecord(runId, patch);

let store: FsObjectStore;
beforeEach(() => {
  store = new FsObjectStore(mkdtempSync(join(tmpdir(), 'simpair-fail-run-')));
  state.store = store;
});

describe('fail-run handler', () => {
  it('records the step and the Lambda error message from the Cause', async () => {
    await createRun(store, record('run-1', { state: 'STARTED' }));
    const cause = JSON.stringify({ errorType: 'DatasetError', errorMessage: 'line 3: label must be 0 or 1', trace: ['at x'] });
    expect(await failRun({ runId: 'run-1', step: 'validate', error: { Error: 'DatasetError', Cause: cause } })).toEqual({ recorded: true, runId: 'run-1', step: 'validate' });
    expect((await getRun(store, 'run-1')).error).toEqual({ step: 'validate', name: 'DatasetError', message: 'line 3: label must be 0 or 1' });
  });

  it('logs but records nothing when the run never got an id; recovers the id of a POST /train start marker', async () => {
    expect(await failRun({ objectKey: 'datasets/x.tsv', step: 'validate', error: { Error: 'NotFoundError' } })).toEqual({ recorded: false, step: 'validate' });
    await createRun(store, record('run-9', { state: 'STARTED' }));
    expect(await failRun({ objectKey: 'runs/run-9/start.json', step: 'validate', error: { Error: 'States.Timeout' } })).toMatchObject({ recorded: true, runId: 'run-9' });
    expect((await getRun(store, 'run-9')).state).toBe('FAILED');
  });

  it('keeps the error the training container recorded and adds the Batch log stream (once)', async () => {
    await createRun(store, record('run-3', { state: 'FAILED', error: { step: 'train', name: 'SimpairError', message: 'embeddings/run-3/manifest.json is absent' } }));
    const cause = JSON.stringify({ Status: 'FAILED', StatusReason: 'Essential container in task exited', Attempts: [{ Container: { ExitCode: 1, LogStreamName: 'training/default/abc' } }] });
    for (let i = 0; i < 2; i++) await failRun({ runId: 'run-3', step: 'train', error: { Error: 'States.TaskFailed', Cause: cause } });
    expect((await getRun(store, 'run-3')).error).toEqual({ step: 'train', name: 'SimpairError', message: 'embeddings/run-3/manifest.json is absent (CloudWatch log stream: training/default/abc)' });
  });

  it('uses the Batch status reason and log stream when the container recorded nothing', async () => {
    await createRun(store, record('run-4'));
    const cause = JSON.stringify({ StatusReason: 'Host EC2 (instance i-1) terminated.', Container: { LogStreamName: 'training/default/def' } });
    await failRun({ runId: 'run-4', step: 'train', error: { Error: 'States.TaskFailed', Cause: cause } });
    expect((await getRun(store, 'run-4')).error).toEqual({ step: 'train', name: 'States.TaskFailed', message: 'Host EC2 (instance i-1) terminated. (CloudWatch log stream: training/default/def)' });
  });

  it('never overwrites a terminal run (a SUCCEEDED run stays SUCCEEDED)', async () => {
    await createRun(store, record('run-5', { state: 'SUCCEEDED' }));
    await failRun({ runId: 'run-5', step: 'publish', error: { Error: 'States.Runtime' } });
    expect((await getRun(store, 'run-5')).state).toBe('SUCCEEDED');
  });

  it('keeps the human part of Batch and plain causes', () => {
    expect(causeMessage(JSON.stringify({ StatusReason: 'Essential container in task exited' }))).toBe('Essential container in task exited');
    expect(causeMessage('plain text')).toBe('plain text');
    expect(causeMessage(undefined)).toBe('No cause given.');
  });
});
