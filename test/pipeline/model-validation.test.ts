import { execFileSync } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelOutputError } from '../../src/errors.ts';
import { embeddingModelRef } from '../../src/model-source/embedding-model-ref.ts';
import { resolveModelSource } from '../../src/model-source/index.ts';
import { readClassifierSpec } from '../../src/onnx-export/classifier-artifacts.ts';
import { classifierModel } from '../../src/onnx-export/classifier-graph.ts';
import { decodeModel, encodeModel, type ModelProto } from '../../src/onnx-export/onnx-proto.ts';
import { Predictor } from '../../src/pipeline/predictor.ts';
import { routeApiRequest } from '../../src/server/api-router.ts';
import { FsObjectStore } from '../../src/storage/fs-object-store.ts';
import { TINY_BERT } from '../helpers/paths.ts';
import { writeTinyModel } from '../helpers/tiny-model.ts';

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'simpair-validate-'));
});
afterAll(() => rm(work, { recursive: true, force: true }));

const pairs = [{ sentence1: 'A cat sits on the mat.', sentence2: 'The cat is sitting on a mat.' }];
let n = 0;

/** A tiny model folder with classifier.onnx, as simpair run writes it. */
async function modelDir(maxLen = 16): Promise<string> {
  const dir = await writeTinyModel(join(work, `m${n++}`), { maxLen });
  const store = new FsObjectStore(dir);
  await store.put('classifier.onnx', encodeModel(classifierModel(await readClassifierSpec(store, ''))));
  return dir;
}

async function editJson(path: string, edit: (j: Record<string, unknown>) => void): Promise<void> {
  const j = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  edit(j);
  await writeFile(path, JSON.stringify(j));
}

/** Rewrites classifier.onnx so its probability is multiplied by `factor` (NaN, 5, ...). */
async function scaleOutput(dir: string, factor: number): Promise<void> {
  const model = decodeModel(await readFile(join(dir, 'classifier.onnx'))) as ModelProto;
  const last = model.graph.node.find((node) => node.output.includes('probability'))!;
  last.output = last.output.map((o) => (o === 'probability' ? 'probability_raw' : o));
  const f = new Float32Array([factor]);
  model.graph.initializer.push({ name: 'factor', data_type: 1, dims: [], raw_data: new Uint8Array(f.buffer) });
  model.graph.node.push({ name: 'scale', op_type: 'Mul', input: ['probability_raw', 'factor'], output: ['probability'], attribute: [] });
  await writeFile(join(dir, 'classifier.onnx'), encodeModel(model));
}

const load = (dir: string) => Predictor.load(new FsObjectStore(dir), '', { modelSource: undefined });

describe('models are validated when loaded', () => {
  it('refuses a maxLen beyond the encoder\'s max_position_embeddings (metadata maxLen 100,000,000)', async () => {
    const dir = await modelDir();
    await editJson(join(dir, 'metadata.json'), (j) => (j.maxLen = 100_000_000));
    await expect(load(dir)).rejects.toThrow(/maxLen 100000000.*max_position_embeddings/);
  });

  it('refuses a classifier.onnx of another maxLen before any request', async () => {
    const dir = await modelDir(16);
    const other = await modelDir(32);
    await cp(join(other, 'classifier.onnx'), join(dir, 'classifier.onnx'));
    await expect(load(dir)).rejects.toThrow(/does not fit its metadata\.json: input "embeddings" is \[\?, 32, 32\], the metadata says \[batch, 16, 32\]/);
  });

  it('refuses a recipe-head classifier.onnx in a pooled-head folder', async () => {
    const dir = await modelDir();
    await editJson(join(dir, 'metadata.json'), (j) => (j.head = 'pooled'));
    await expect(load(dir)).rejects.toThrow(/pooled head, but the graph has no "pair_features" input/);
  });

  it('refuses a graph whose output is [N, 1000000]', async () => {
    const dir = await modelDir();
    const model = decodeModel(await readFile(join(dir, 'classifier.onnx')));
    model.graph.output[0].type!.tensor_type!.shape!.dim[1] = { dim_value: 1_000_000 };
    await writeFile(join(dir, 'classifier.onnx'), encodeModel(model));
    await expect(load(dir)).rejects.toThrow(/output "probability" is \[\?, 1000000\]/);
  });

  it.each([
    ['NaN', Number.NaN],
    ['5', 5],
  ])('a graph answering %s is an error (500 with a message), never an answer', async (_, factor) => {
    const dir = await modelDir();
    await scaleOutput(dir, factor);
    const predictor = await load(dir);
    try {
      await expect(predictor.predict(pairs)).rejects.toBeInstanceOf(ModelOutputError);
      const res = await routeApiRequest({ predict: (p) => predictor.predict(p) }, 'POST', '/predict', JSON.stringify({ pairs }));
      expect(res.statusCode).toBe(500);
      expect(JSON.parse(res.body).message).toMatch(/not a probability in \[0, 1\]/);
    } finally {
      await predictor.dispose();
    }
  });

  it('refuses a classifier.onnx over the size limit with a message, not ERR_FS_FILE_TOO_LARGE', async () => {
    const dir = await modelDir();
    execFileSync('truncate', ['-s', '300M', join(dir, 'classifier.onnx')]); // sparse: no disk used
    await expect(load(dir)).rejects.toThrow(/classifier\.onnx is 300 MiB; a simpair classifier\.onnx is a few MiB/);
  });

  it('checks the config hash of a hub reference too: {source: "hub", id: "/a/local/dir"} with another config is refused', async () => {
    const dir = await modelDir();
    const impostor = join(work, 'impostor');
    await cp(TINY_BERT, impostor, { recursive: true });
    await editJson(join(impostor, 'config.json'), (j) => (j.note = 'not the trained one'));
    const ref = await embeddingModelRef(await resolveModelSource(TINY_BERT));
    await editJson(join(dir, 'metadata.json'), (j) => (j.embedder = { ...ref, source: 'hub', id: impostor }));
    await expect(load(dir)).rejects.toThrow(/resolves to a model with another config\.json/);
    // The genuine model under a hub reference loads.
    await editJson(join(dir, 'metadata.json'), (j) => (j.embedder = { ...ref, source: 'hub', id: TINY_BERT }));
    await (await load(dir)).dispose();
  });
});
