import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/paths.ts';

/** Every Lambda handler: none trains, so none may load TensorFlow.js when its module loads. */
const FUNCTIONS = ['embed-shard', 'fail-run', 'finalize-embeddings', 'predict', 'publish-model', 'train-api', 'validate-split'];

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'simpair-imports-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** The `@tensorflow/` modules a fresh Node process imports while loading `module`. */
async function tensorflowImportsOf(module: string, log: string): Promise<string[]> {
  await new Promise<void>((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', join(ROOT, 'test', 'helpers', 'record-imports.mjs'), join(ROOT, 'test', 'helpers', 'import-module.mjs'), module],
      { cwd: ROOT, env: { ...process.env, SIMPAIR_BUCKET: 'bucket', SIMPAIR_TEST_IMPORT_LOG: log, SIMPAIR_TEST_IMPORT_PREFIX: '@tensorflow/' } },
      (err, _stdout, stderr) => (err ? reject(new Error(`${module}: ${err.message}\n${stderr}`)) : resolve()),
    );
  });
  return readFile(log, 'utf8').then((t) => [...new Set(t.split('\n').filter(Boolean))], () => []);
}

describe('Lambda cold start', () => {
  it.each(FUNCTIONS)('functions/%s imports no TensorFlow.js module', async (fn) => {
    expect(await tensorflowImportsOf(join(ROOT, 'functions', fn, 'index.ts'), join(work, `${fn}.log`))).toEqual([]);
  });

  it('the recorder sees TensorFlow.js where it is imported (the training step)', async () => {
    expect(await tensorflowImportsOf(join(ROOT, 'src', 'classifier', 'index.ts'), join(work, 'classifier.log'))).toContain('@tensorflow/tfjs-core');
  });
});
