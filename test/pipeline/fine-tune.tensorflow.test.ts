// `simpair run --fine-tune-encoder` on the tiny BERT fixture, on the tensorflow backend (the
// one fine-tuning runs on; skipped with the reason without it, failing in CI where
// SIMPAIR_TEST_REQUIRE_TENSORFLOW=1): the end-to-end run, and the export's equality with the
// TF.js model it was trained as.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { saveClassifier } from '../../src/classifier/model-io.ts';
import { readDataset } from '../../src/data/index.ts';
import type { LabeledPair } from '../../src/data/pair.ts';
import { createOnnxSession, ort } from '../../src/embedder/onnx-session.ts';
import { readBertConfig, readBertWeights } from '../../src/encoder/index.ts';
import { embeddingModelRef } from '../../src/model-source/embedding-model-ref.ts';
import { resolveModelSource } from '../../src/model-source/index.ts';
import { exportModel } from '../../src/onnx-export/export-model.ts';
import { saveClassifierOnnx } from '../../src/onnx-export/save-classifier-onnx.ts';
import { fineTuneStep } from '../../src/pipeline/fine-tune-step.ts';
import { Predictor } from '../../src/pipeline/predictor.ts';
import { FsObjectStore } from '../../src/storage/fs-object-store.ts';
import { PairTokenizer } from '../../src/tokenizer/pair-tokenizer.ts';
import { simpair } from '../helpers/cli.ts';
import { ROOT, TINY_BERT } from '../helpers/paths.ts';
import { describeOnBackend } from '../helpers/tf-backends.ts';

const TRAIN = join(ROOT, 'examples', 'train.tsv');
const TEST = join(ROOT, 'examples', 'test.tsv');

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

/** `pairs` followed by the first half of them with the opposite label (the last third: the validation rows). */
function withFlippedValidation(pairs: readonly LabeledPair[]): LabeledPair[] {
  const half = pairs.slice(0, Math.floor(pairs.length / 2));
  return [...pairs, ...half.map((p) => ({ ...p, label: (1 - p.label) as 0 | 1 }))];
}

describeOnBackend('tensorflow', 'fine-tuning BERT with the Bi-LSTM', () => {
  let work: string;
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'simpair-fine-tune-'));
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('simpair run --fine-tune-encoder: the loss decreases, the encoder changes, the model carries it and predict uses it', async () => {
    const out = join(work, 'run');
    const res = await simpair(['run', '--data', TRAIN, '--test-data', TEST, '--model', TINY_BERT, '--out', out, '--max-len', '24', '--epochs', '4', '--fine-tune-encoder', '--json'], { SIMPAIR_TF_BACKEND: 'node' });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toMatch(/fine-tuning estimate: [\d.]+ s per step of 32 pairs \(tensorflow backend\)/);
    const metadata = JSON.parse(await readFile(join(out, 'metadata.json'), 'utf8'));
    const losses = metadata.history.map((e: { loss: number }) => e.loss);
    expect(losses).toHaveLength(4);
    expect(losses.at(-1)).toBeLessThan(losses[0]);
    expect(metadata.embedder).toMatchObject({ source: 'local', id: 'encoder', path: 'encoder', onnxFile: 'onnx/model.onnx' });
    expect(metadata.backend).toBe('tensorflow');

    // The model directory's encoder holds trained weights: every matrix moved from the fixture's.
    const config = await readBertConfig(TINY_BERT);
    const before = readBertWeights(await readFile(join(TINY_BERT, 'onnx', 'model.onnx')), config, 'fixture');
    const after = readBertWeights(await readFile(join(out, 'encoder', 'onnx', 'model.onnx')), config, 'fine-tuned');
    for (let i = 0; i < before.length; i++) {
      if (before[i].shape.length === 2 && !before[i].name.includes('position') && !before[i].name.includes('word_embeddings')) {
        expect(maxAbsDiff(before[i].values, after[i].values), before[i].name).toBeGreaterThan(0);
      }
    }
    const fineTunedConfig = JSON.parse(await readFile(join(out, 'encoder', 'config.json'), 'utf8'));
    expect(fineTunedConfig.simpair_fine_tuned).toMatchObject({ from: 'tiny-bert', maxLen: 24, epochs: 4 });

    const predicted = await simpair(['predict', '--model-dir', out, '--pairs', TEST, '--runtime', 'onnx', '--json']);
    expect(predicted.code, predicted.stderr).toBe(0);
    const { predictions } = JSON.parse(predicted.stdout) as { predictions: { probability: number }[] };
    expect(predictions).toHaveLength(12);
    // It predicts with the fine-tuned encoder: the original one gives other probabilities.
    const frozen = await simpair(['predict', '--model-dir', out, '--model', TINY_BERT, '--pairs', TEST, '--runtime', 'onnx', '--json']);
    expect(frozen.code, frozen.stderr).toBe(0);
    const other = (JSON.parse(frozen.stdout) as { predictions: { probability: number }[] }).predictions;
    expect(maxAbsDiff(predictions.map((p) => p.probability), other.map((p) => p.probability))).toBeGreaterThan(1e-4);
  });

  it('refuses a run whose measured estimate exceeds --fine-tune-max-hours, printing the estimate, and writes nothing', async () => {
    const out = join(work, 'too-long');
    const res = await simpair(['run', '--data', TRAIN, '--model', TINY_BERT, '--out', out, '--max-len', '24', '--fine-tune-encoder', '--fine-tune-max-hours', '0.0000001'], { SIMPAIR_TF_BACKEND: 'node' });
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/--fine-tune-encoder would take about .* \([\d.]+ s per step of 32 pairs on the tensorflow backend, \d+ steps\), over the limit of 1e-7 h\./);
    await expect(readFile(join(out, 'metadata.json'))).rejects.toThrow();
  });

  // masked: also with early stopping, whose best epoch's weights (encoder and head) must be the ones exported.
  for (const [padding, patience] of [['max-length', undefined], ['masked', 1]] as const) {
    it(`ONNX prediction (the model directory's encoder + classifier.onnx, and pipeline.onnx) equals the fine-tuned TF.js model within 1e-4 (${padding} padding${patience ? ', early stopping' : ''})`, async () => {
      const dir = join(work, `export-${padding}`);
      const store = new FsObjectStore(dir);
      const train = await readDataset(TRAIN);
      const test = await readDataset(TEST);
      const tokenizer = await PairTokenizer.fromDir(TINY_BERT);
      const from = await embeddingModelRef(await resolveModelSource(TINY_BERT));
      const maxLen = 24;
      const tuned = await fineTuneStep({
        modelDir: TINY_BERT, from, tokenizer, train: patience ? withFlippedValidation(train.pairs) : train.pairs, evaluate: test.pairs, maxLen, epochs: patience ? 4 : 2,
        batchSize: 16, validationSplit: patience ? 1 / 3 : 0.1, seed: 3, padding, dropout: 0, recurrentDropout: 0, maxHours: 1, store, prefix: '', ...(patience ? { patience } : {}),
      });
      if (patience) {
        // The validation rows are training rows with the opposite label: every epoch that fits
        // the training rows better raises the validation loss, so training stops after epoch 2
        // and epoch 1's weights are put back before the export.
        expect(tuned.history.bestEpoch).toBeDefined();
        expect(tuned.history.bestEpoch).toBeLessThan(tuned.history.epochs.length - 1);
      }
      await saveClassifierOnnx(store, '', tuned.classifier, { padding });
      await saveClassifier(store, '', tuned.classifier, {
        maxLen, hidden: tuned.hidden, embeddingModel: tuned.encoderRef.id, embedder: tuned.encoderRef, tokenizerSha256: tokenizer.sha256,
        datasetSha256: train.sha256, padding, training: { epochs: 2, batchSize: 16, validationSplit: 0.1, seed: 3, earlyStopping: null },
      });
      tuned.classifier.dispose();

      const predictor = await Predictor.load(store, '', { runtime: 'onnx' });
      expect(maxAbsDiff(await predictor.probabilities(test.pairs), tuned.probabilities)).toBeLessThan(1e-4);

      const { pipeline } = await exportModel({ modelDir: dir });
      const session = await createOnnxSession(pipeline);
      const batch = tokenizer.encodePairs(test.pairs.map((p) => [p.sentence1, p.sentence2] as const), { maxLen });
      const shape = [batch.batchSize, maxLen];
      const result = await session.run({
        input_ids: new ort.Tensor('int64', batch.inputIds, shape),
        attention_mask: new ort.Tensor('int64', batch.attentionMask, shape),
        token_type_ids: new ort.Tensor('int64', batch.tokenTypeIds, shape),
      });
      expect(maxAbsDiff(result.probability.data as Float32Array, tuned.probabilities)).toBeLessThan(1e-4);
      await session.release();
    });
  }
});
