import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkTrainingDevice } from '../../training/entry.ts';
import { EXPECT_GPU_ENV, trainingDevice } from '../../src/classifier/training-device.ts';
import { getRun, startRun } from '../../src/pipeline/cloud/index.ts';
import { FsObjectStore } from '../../src/storage/fs-object-store.ts';
import { TINY_BERT } from '../helpers/paths.ts';

const gpu = { backend: 'tensorflow', binding: { isUsingGpuDevice: () => true } };
const tensorflowOnCpu = { backend: 'tensorflow', binding: { isUsingGpuDevice: () => false } };

describe('the GPU check at training job start', () => {
  it('fails with what to check when the job asked for a GPU and TensorFlow sees none', () => {
    for (const probe of [tensorflowOnCpu, { backend: 'wasm' }, { backend: 'cpu' }, { backend: 'tensorflow' }]) {
      expect(() => trainingDevice(probe, { [EXPECT_GPU_ENV]: '1' }), probe.backend).toThrow(/asked for a GPU .* TensorFlow sees none .*trainingCompute=cpu/);
    }
  });

  it('names the device otherwise', () => {
    expect(trainingDevice(gpu, { [EXPECT_GPU_ENV]: '1' })).toBe('gpu');
    expect(trainingDevice(tensorflowOnCpu, {})).toBe('cpu');
    expect(trainingDevice({ backend: 'wasm' }, {})).toBe('cpu');
  });
});

describe('the training entry', () => {
  let root: string | undefined;
  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('records the device in the run record, and fails the job before training when the GPU is missing', async () => {
    root = await mkdtemp(join(tmpdir(), 'simpair-gpu-'));
    const store = new FsObjectStore(root);
    await store.put('datasets/d.tsv', 'sentence1\tsentence2\tlabel\nA cat.\tA dog.\t0\n');
    const { runId } = await startRun(store, { datasetKey: 'datasets/d.tsv', options: { modelSource: TINY_BERT } });
    // This machine has no GPU: the TF.js backend here is wasm or cpu (or tensorflow on the CPU).
    expect(await checkTrainingDevice(store, runId, {})).toBe('cpu');
    expect((await getRun(store, runId)).training).toEqual({ device: 'cpu', backend: expect.stringMatching(/^@tensorflow\/tfjs-/) });
    await expect(checkTrainingDevice(store, runId, { [EXPECT_GPU_ENV]: '1' })).rejects.toThrow(/TensorFlow sees none/);
  });
});
