import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServe } from '../helpers/cli.ts';
import { ROOT, TINY_BERT } from '../helpers/paths.ts';
import { writeTinyModel } from '../helpers/tiny-model.ts';

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'simpair-paths-'));
});
afterAll(() => rm(work, { recursive: true, force: true }));

/** No path of this machine: the work directory, the repository, the encoder. */
const expectNoPaths = (body: string) => {
  expect(body).not.toContain(work);
  expect(body).not.toContain(ROOT);
  expect(body).not.toContain(TINY_BERT);
};

describe('answers never show absolute paths of the machine', () => {
  it('serve --model-dir: GET /model and a 404', async () => {
    const dir = await writeTinyModel(join(work, 'model'));
    const serve = await startServe(['--model-dir', dir]);
    try {
      const model = await (await fetch(`${serve.url}/model`)).text();
      expect(model).toMatch(/"embeddingModel":"tiny-bert"/);
      expectNoPaths(model);
      const missing = await fetch(`${serve.url}/model/roc.svg`);
      expect(missing.status).toBe(404);
      expectNoPaths(await missing.text());
    } finally {
      await serve.stop();
    }
  });

  it('serve --store: 404 of a run, and the error of a dataset that is absent', async () => {
    const store = join(work, 'store');
    await mkdir(join(store, 'datasets'), { recursive: true });
    const serve = await startServe(['--store', store, '--no-watch', '--model', TINY_BERT]);
    try {
      const missing = await fetch(`${serve.url}/runs/run-0000`);
      expect(missing.status).toBe(404);
      const text = await missing.text();
      expect(text).toMatch(/<store>/);
      expectNoPaths(text);
      const train = await fetch(`${serve.url}/train`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ datasetKey: 'datasets/absent.tsv' }) });
      expect(train.status).toBeGreaterThanOrEqual(400);
      expectNoPaths(await train.text());
    } finally {
      await serve.stop();
    }
  });
});
