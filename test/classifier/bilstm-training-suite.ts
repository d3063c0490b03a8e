// Test helper (not a test file): training the Bi-LSTM end to end on whichever backend the
// calling test file chose (tf-backend.tensorflow.test.ts, tf-backend.tensorflow-gpu.test.ts).
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { buildBiLstm } from '../../src/classifier/bilstm.ts';
import { loadClassifier, saveClassifier } from '../../src/classifier/model-io.ts';
import { predictProbabilities } from '../../src/classifier/predict.ts';
import { trainClassifier } from '../../src/classifier/train.ts';
import { FsObjectStore } from '../../src/storage/fs-object-store.ts';
import { SHA_A, SHA_B, writeSyntheticStore } from './synthetic-store.ts';

/** Registers the Bi-LSTM training test (train, save, reload, same predictions) on the file's backend. */
export function bilstmTrainingSuite(): void {
  it('trains the Bi-LSTM on a separable store, saves it with backend "tensorflow", reloads it with the same predictions', async () => {
    // maxLen 8, hidden 16, 200 rows in 3 shards, label = sign of the first 4 features.
    const { reader } = await writeSyntheticStore();
    const model = buildBiLstm({ maxLen: 8, hidden: 16, units: 8, seed: 1 });
    const history = await trainClassifier(model, reader, { epochs: 3, seed: 42 });
    expect(history).toMatchObject({ stoppedEarly: false, trainRows: 180, validationRows: 20 });
    const [first, , last] = history.epochs;
    expect(last.loss).toBeLessThan(first.loss);
    expect(last.acc).toBeGreaterThanOrEqual(0.9);
    expect(last.val_acc).toBeGreaterThanOrEqual(0.9);

    const store = new FsObjectStore(await mkdtemp(join(tmpdir(), 'simpair-tf-model-')));
    const training = { epochs: 3, batchSize: 32, validationSplit: 0.1, seed: 42, earlyStopping: null };
    const saved = await saveClassifier(store, 'models/tf/', model, { embeddingModel: 'test/tiny', tokenizerSha256: SHA_A, datasetSha256: SHA_B, training, history: history.epochs });
    expect(saved.backend).toBe('tensorflow');

    const { model: loaded, metadata } = await loadClassifier(store, 'models/tf/');
    expect(metadata).toEqual(saved);
    const { embeddings } = await reader.readShard(2);
    const emb = { data: embeddings, batchSize: 60, maxLen: 8, hidden: 16 };
    const expected = predictProbabilities(model, emb);
    const actual = predictProbabilities(loaded, emb);
    expect(Math.max(...expected.map((p, i) => Math.abs(p - actual[i])))).toBeLessThan(1e-6);
    // The predictions follow the labels, not only each other.
    const labels = (await reader.readShard(2)).labels;
    const correct = Array.from(actual).filter((p, i) => (p >= 0.5 ? 1 : 0) === labels[i]).length;
    expect(correct / labels.length).toBeGreaterThanOrEqual(0.9);
    model.dispose();
    loaded.dispose();
  });
}
