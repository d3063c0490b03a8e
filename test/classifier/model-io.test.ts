import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildBiLstm } from '../../src/classifier/bilstm.ts';
import { assertCompatible, loadClassifier, saveClassifier, type ClassifierMetadata } from '../../src/classifier/model-io.ts';
import { predictProbabilities } from '../../src/classifier/predict.ts';
import { initTfBackend } from '../../src/classifier/tf-backend.ts';
import { trainClassifier } from '../../src/classifier/train.ts';
import { DamagedModelError, ModelMismatchError } from '../../src/errors.ts';
import { FsObjectStore } from '../../src/storage/fs-object-store.ts';
import { getJson, putJson } from '../../src/storage/object-store.ts';
import { SHA_A, SHA_B, writeSyntheticStore } from './synthetic-store.ts';

const training = { epochs: 1, batchSize: 32, validationSplit: 0.1, seed: 42, earlyStopping: null };
const saveOptions = { embeddingModel: 'test/tiny', tokenizerSha256: SHA_A, datasetSha256: SHA_B, training };

beforeAll(async () => {
  await initTfBackend();
});

async function tempStore(): Promise<FsObjectStore> {
  return new FsObjectStore(await mkdtemp(join(tmpdir(), 'simpair-model-')));
}

describe('saveClassifier / loadClassifier', () => {
  it('round-trips a trained model: same predictions, compiled, trainable again', async () => {
    const { reader } = await writeSyntheticStore({ shardSizes: [40, 24] });
    const model = buildBiLstm({ maxLen: 8, hidden: 16, units: 8, seed: 1 });
    const history = await trainClassifier(model, reader, { epochs: 1 });
    const store = await tempStore();
    const metrics = { accuracy: 1 };
    const saved = await saveClassifier(store, 'models/v1/', model, { ...saveOptions, history: history.epochs }, metrics);
    expect(saved).toMatchObject({ format: 'simpair-model/1', maxLen: 8, hidden: 16, threshold: 0.5, backend: 'wasm' });
    expect(await store.list('models/v1/')).toEqual([
      'models/v1/group1-shard1of1.bin',
      'models/v1/metadata.json',
      'models/v1/metrics.json',
      'models/v1/model.json',
    ]);
    expect(await getJson(store, 'models/v1/metrics.json')).toEqual(metrics);

    const modelJson = await getJson<Record<string, any>>(store, 'models/v1/model.json');
    expect(modelJson).toMatchObject({ format: 'layers-model', convertedBy: null, weightsManifest: [{ paths: ['group1-shard1of1.bin'] }] });
    expect(modelJson.generatedBy).toMatch(/^TensorFlow\.js tfjs-layers v4\./);
    expect(modelJson.modelTopology.class_name).toBe('Sequential');
    expect(modelJson.trainingConfig).toMatchObject({ loss: 'binary_crossentropy', metrics: ['accuracy'], optimizer_config: { class_name: 'Adam' } });
    // Model weights only, no optimizer group.
    expect(modelJson.weightsManifest[0].weights).toHaveLength(model.weights.length);

    const before = tf.memory().numTensors;
    const { model: loaded, metadata } = await loadClassifier(store, 'models/v1/');
    expect(metadata).toEqual(saved);
    expect(loaded.optimizer.getClassName()).toBe('Adam');
    expect(loaded.optimizer.getConfig()).toMatchObject({ learningRate: 0.001 });
    expect(loaded.loss).toBe('binaryCrossentropy');
    expect(loaded.metricsNames).toEqual(['loss', 'acc']);

    const { embeddings } = await reader.readShard(1);
    const emb = { data: embeddings, batchSize: 24, maxLen: 8, hidden: 16 };
    const expected = predictProbabilities(model, emb);
    const actual = predictProbabilities(loaded, emb);
    const maxDiff = Math.max(...expected.map((p, i) => Math.abs(p - actual[i])));
    expect(maxDiff).toBeLessThan(1e-6);

    await trainClassifier(loaded, reader, { epochs: 1 });
    model.dispose();
    loaded.dispose();
    // Loading leaves nothing behind but what dispose frees (Adam's two beta accumulators
    // are created by compile and freed with the model).
    expect(tf.memory().numTensors).toBeLessThanOrEqual(before);
  });

  it('refuses metadata.json that fails its schema, naming the fields', async () => {
    const store = await tempStore();
    const model = buildBiLstm({ maxLen: 4, hidden: 8, units: 4 });
    await saveClassifier(store, 'm/', model, saveOptions);
    const meta = await getJson<Record<string, unknown>>(store, 'm/metadata.json');
    await putJson(store, 'm/metadata.json', { ...meta, threshold: 2, tokenizerSha256: 'nope' });
    await expect(loadClassifier(store, 'm/')).rejects.toThrow(/tokenizerSha256: .*; threshold/);
    model.dispose();
  });

  it('counts epochs from 1 in metadata.json, as the CLI and the report do, and records the kept epoch', async () => {
    const store = await tempStore();
    const model = buildBiLstm({ maxLen: 4, hidden: 8, units: 4 });
    // Two epochs as trainClassifier returns them (0-based); early stopping kept the first.
    const history = [0, 1].map((epoch) => ({ epoch, loss: 0.6, acc: 0.5, val_loss: 0.7 + epoch, val_acc: 0.5, seconds: 1 }));
    const earlyStopping = { patience: 1, restoreBestWeights: true, keptEpoch: 1 };
    const saved = await saveClassifier(store, 'm/', model, { ...saveOptions, training: { ...training, epochs: 5, earlyStopping }, history });
    expect(saved.history?.map((h) => h.epoch)).toEqual([1, 2]);
    expect(saved.training.earlyStopping).toEqual(earlyStopping);
    expect((await loadClassifier(store, 'm/')).metadata.history?.map((h) => h.epoch)).toEqual([1, 2]);
    model.dispose();
  });

  it('still loads metadata.json of older models (0-based history, bestEpoch)', async () => {
    const store = await tempStore();
    const model = buildBiLstm({ maxLen: 4, hidden: 8, units: 4 });
    await saveClassifier(store, 'm/', model, saveOptions);
    const meta = await getJson<Record<string, unknown>>(store, 'm/metadata.json');
    const old = { patience: 1, restoreBestWeights: true, bestEpoch: 0 };
    await putJson(store, 'm/metadata.json', { ...meta, training: { ...training, earlyStopping: old }, history: [{ epoch: 0, loss: 0.5, acc: 0.5, seconds: 1 }] });
    const { metadata, model: loaded } = await loadClassifier(store, 'm/');
    expect(metadata.training.earlyStopping).toEqual(old);
    loaded.dispose();
    model.dispose();
  });

  it('refuses a maxLen/hidden that is not the model input', async () => {
    const model = buildBiLstm({ maxLen: 4, hidden: 8, units: 4 });
    await expect(saveClassifier(await tempStore(), 'm/', model, { ...saveOptions, maxLen: 5, hidden: 8 })).rejects.toThrow(/says \[5, 8\] but the model takes \[4, 8\]/);
    model.dispose();
  });

  it('refuses a model.json whose input disagrees with metadata.json', async () => {
    const store = await tempStore();
    const model = buildBiLstm({ maxLen: 4, hidden: 8, units: 4 });
    await saveClassifier(store, 'm/', model, saveOptions);
    const meta = await getJson<Record<string, unknown>>(store, 'm/metadata.json');
    await putJson(store, 'm/metadata.json', { ...meta, maxLen: 5 });
    await expect(loadClassifier(store, 'm/')).rejects.toBeInstanceOf(ModelMismatchError);
    model.dispose();
  });
});

describe('loadClassifier: damaged model files', () => {
  async function saved() {
    const store = await tempStore();
    const model = buildBiLstm({ maxLen: 4, hidden: 8, units: 4 });
    await saveClassifier(store, 'm/', model, saveOptions);
    model.dispose();
    return store;
  }

  it('names a truncated weights file and says to re-run or restore', async () => {
    const store = await saved();
    const weights = await store.get('m/group1-shard1of1.bin');
    await store.put('m/group1-shard1of1.bin', weights.subarray(0, 100));
    const err = (await loadClassifier(store, 'm/').catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(DamagedModelError);
    expect(err.message).toMatch(/m\/group1-shard1of1\.bin holds 100 bytes of weights where model\.json lists \d+/);
    expect(err.message).toMatch(/Re-run the training \(simpair run\) or restore/);
  });

  it('names a truncated model.json or metadata.json, and a missing weights file', async () => {
    const store = await saved();
    const json = Buffer.from(await store.get('m/model.json')).toString('utf8');
    await store.put('m/model.json', json.slice(0, 50));
    await expect(loadClassifier(store, 'm/')).rejects.toThrow(/m\/model\.json is not valid JSON \(50 bytes; truncated\?\).*re-run|Re-run/s);
    const other = await saved();
    await store.put('m/metadata.json', '{"format": "simpair-mo');
    await expect(loadClassifier(store, 'm/')).rejects.toThrow(/m\/metadata\.json is not valid JSON/);
    await other.delete('m/group1-shard1of1.bin');
    await expect(loadClassifier(other, 'm/')).rejects.toThrow(/m\/group1-shard1of1\.bin is missing: the model is damaged or incomplete/);
  });
});

describe('assertCompatible', () => {
  const metadata = { maxLen: 64, hidden: 768, tokenizerSha256: SHA_A, embeddingModel: 'bert-base-uncased' } as ClassifierMetadata;

  it('accepts the embedder the model was trained with', () => {
    expect(() => assertCompatible(metadata, { maxLen: 64, hidden: 768, tokenizerSha256: SHA_A })).not.toThrow();
  });

  it('names every differing field with both values and the fix', () => {
    const call = () => assertCompatible(metadata, { maxLen: 128, hidden: 384, tokenizerSha256: SHA_B });
    expect(call).toThrow(ModelMismatchError);
    expect(call).toThrow(/maxLen: model 64, embedder 128 \(tokenize with maxLen 64\)/);
    expect(call).toThrow(/hidden: model 768, embedder 384 \(use the embedding model the classifier was trained on, bert-base-uncased\)/);
    expect(call).toThrow(new RegExp(`tokenizerSha256: model ${SHA_A}, embedder ${SHA_B}`));
  });
});
