import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBiLstm } from '../../src/classifier/bilstm.ts';
import { loadClassifier, saveClassifier } from '../../src/classifier/model-io.ts';
import { seededRandom } from '../../src/classifier/seeded-random.ts';
import { initTfBackend } from '../../src/classifier/tf-backend.ts';
import { DamagedModelError, ExportError } from '../../src/errors.ts';
import { readClassifierSpec } from '../../src/onnx-export/classifier-artifacts.ts';
import { classifierSpecFromModel } from '../../src/onnx-export/classifier-spec.ts';
import { FsObjectStore } from '../../src/storage/fs-object-store.ts';
import { getJson } from '../../src/storage/object-store.ts';
import { SHA_A, SHA_B } from '../classifier/synthetic-store.ts';

const training = { epochs: 1, batchSize: 32, validationSplit: 0.1, seed: 42, earlyStopping: null };
const saveOptions = { embeddingModel: 'test/tiny', tokenizerSha256: SHA_A, datasetSha256: SHA_B, training };

let work: string;
beforeAll(async () => {
  await initTfBackend();
  work = await mkdtemp(join(tmpdir(), 'simpair-artifacts-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const KINDS = [
  { kind: 'recipe', maskPadding: false, head: 'recipe' },
  { kind: 'masked', maskPadding: true, head: 'recipe' },
  { kind: 'pooled', maskPadding: false, head: 'pooled' },
  { kind: 'pooled, masked', maskPadding: true, head: 'pooled' },
] as const;

/** A model of `kind` with seeded random weights (biases too), saved by simpair under `<work>/<name>`. */
async function savedModel(name: string, { maskPadding, head }: (typeof KINDS)[number]): Promise<FsObjectStore> {
  const model = buildBiLstm({ maxLen: 5, hidden: 6, units: 3, seed: 2, maskPadding, head });
  const random = seededRandom(7);
  model.setWeights(model.getWeights().map((w) => tf.tensor(Float32Array.from({ length: w.size }, () => random() * 2 - 1), w.shape)));
  const store = new FsObjectStore(join(work, name));
  await saveClassifier(store, '', model, { ...saveOptions, padding: maskPadding ? 'masked' : 'max-length', ...(head === 'pooled' ? { head } : {}) });
  model.dispose();
  return store;
}

describe('readClassifierSpec (model.json + weights, no TF.js)', () => {
  it.each(KINDS)('gives exactly the spec classifierSpecFromModel reads from the loaded TF.js model, every weight included ($kind)', async (k) => {
    const store = await savedModel(k.kind.replace(/\W+/g, '-'), k);
    const fromFiles = await readClassifierSpec(store, '');
    const { model } = await loadClassifier(store, '');
    const fromModel = classifierSpecFromModel(model);
    model.dispose();
    expect(fromFiles).toEqual(fromModel);
    expect(fromFiles.masked).toBe(k.maskPadding);
    expect(fromFiles.pairFeatures).toBe(k.head === 'pooled' ? 24 : undefined);
    expect(fromFiles.dense.kernel).toHaveLength(6 + (k.head === 'pooled' ? 24 : 0));
    // Not all zeros: the random weights arrived.
    expect(fromFiles.biLstms[1].backward.bias.some((v) => v !== 0)).toBe(true);
  });

  it('names the weight file when it is missing or truncated', async () => {
    const store = await savedModel('damaged', KINDS[0]);
    const bin = join(store.root, 'group1-shard1of1.bin');
    await truncate(bin, 100);
    await expect(readClassifierSpec(store, '')).rejects.toThrow(DamagedModelError);
    await expect(readClassifierSpec(store, '')).rejects.toThrow(/group1-shard1of1\.bin holds 100 bytes of weights where model\.json lists \d+/);
    await rm(bin);
    await expect(readClassifierSpec(store, '')).rejects.toThrow(/group1-shard1of1\.bin is missing/);
  });

  it('names model.json when it is not a layers-model, and the weight whose dtype it does not read', async () => {
    const store = await savedModel('other-dtype', KINDS[0]);
    const modelJson = await getJson<{ weightsManifest: { weights: { name: string; dtype: string }[] }[] }>(store, 'model.json');
    modelJson.weightsManifest[0].weights[2].dtype = 'float16';
    await writeFile(join(store.root, 'model.json'), JSON.stringify(modelJson));
    await expect(readClassifierSpec(store, '')).rejects.toThrow(ExportError);
    await expect(readClassifierSpec(store, '')).rejects.toThrow(new RegExp(`model\\.json: weight ${modelJson.weightsManifest[0].weights[2].name} is of dtype float16`));
    await writeFile(join(store.root, 'model.json'), '{"format": "graph-model"}');
    await expect(readClassifierSpec(store, '')).rejects.toThrow(/other-dtype\/model\.json is not a TF\.js layers-model/);
  });

  it('names the layer it cannot export, and the layer whose weight is absent', async () => {
    const store = await savedModel('relu', KINDS[2]);
    const modelJson = await getJson<{ modelTopology: { config: { layers: { class_name: string; config: Record<string, unknown> }[] } }; weightsManifest: { weights: { name: string }[] }[] }>(store, 'model.json');
    const dense = modelJson.modelTopology.config.layers.find((l) => l.class_name === 'Dense')!;
    dense.config.activation = 'relu';
    await writeFile(join(store.root, 'model.json'), JSON.stringify(modelJson));
    await expect(readClassifierSpec(store, '')).rejects.toThrow(/relu\/model\.json to ONNX: its Dense layer has 1 units and activation relu/);
    dense.config.activation = 'sigmoid';
    // The manifest loses the Dense kernel (and the file its bytes): the layer is named.
    const weights = modelJson.weightsManifest[0].weights;
    const kernel = weights.findIndex((w) => w.name.endsWith(`${String(dense.config.name)}/kernel`));
    weights.splice(kernel, 1);
    await writeFile(join(store.root, 'model.json'), JSON.stringify(modelJson));
    const bin = join(store.root, 'group1-shard1of1.bin');
    const bytes = new Uint8Array(await import('node:fs/promises').then((fs) => fs.readFile(bin)));
    // Dense kernel [30, 1] is followed by its bias (4 bytes) at the end.
    await writeFile(bin, Buffer.concat([bytes.subarray(0, bytes.length - 4 - 30 * 4), bytes.subarray(bytes.length - 4)]));
    await expect(readClassifierSpec(store, '')).rejects.toThrow(new RegExp(`layer ${String(dense.config.name)} has no weight ending in /kernel`));
  });
});
