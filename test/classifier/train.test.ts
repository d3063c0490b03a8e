import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildBiLstm } from '../../src/classifier/bilstm.ts';
import { initTfBackend } from '../../src/classifier/tf-backend.ts';
import { DEFAULT_SHUFFLE_BUFFER_BYTES, shuffleBlock, trainClassifier, type EpochRecord } from '../../src/classifier/train.ts';
import { ShapeMismatchError } from '../../src/errors.ts';
import type { EmbeddingStoreReader } from '../../src/embeddings/index.ts';
import { writeSyntheticStore } from './synthetic-store.ts';

let reader: EmbeddingStoreReader;

beforeAll(async () => {
  await initTfBackend();
  // maxLen 8, hidden 16, 200 rows in 3 shards (70, 70, 60), linearly separable.
  ({ reader } = await writeSyntheticStore());
});

describe('trainClassifier', () => {
  it('learns a separable dataset clearly better than chance, reproducibly for the same seeds', async () => {
    const runs = [];
    for (let k = 0; k < 2; k++) {
      const model = buildBiLstm({ maxLen: 8, hidden: 16, seed: 1 });
      const seen: EpochRecord[] = [];
      const history = await trainClassifier(model, reader, { epochs: 3, seed: 42, onEpochEnd: (_, logs) => void seen.push(logs) });
      runs.push(history);
      expect(seen).toEqual(history.epochs);
      model.dispose();
    }
    const [a, b] = runs;
    expect(a).toMatchObject({ stoppedEarly: false, trainRows: 180, validationRows: 20 });
    expect(a.epochs.map((e) => e.epoch)).toEqual([0, 1, 2]);
    const [first, , last] = a.epochs;
    expect(last.val_acc).toBeGreaterThanOrEqual(0.9);
    expect(last.acc).toBeGreaterThanOrEqual(0.9);
    expect(last.loss).toBeLessThan(first.loss);
    expect(a.epochs.every((e) => e.seconds > 0)).toBe(true);
    const lossesOf = (h: typeof a) => h.epochs.map((e) => [e.loss, e.val_loss]);
    expect(lossesOf(b)).toEqual(lossesOf(a));
  });

  it('does not grow the number of live tensors across trainings', async () => {
    const model = buildBiLstm({ maxLen: 8, hidden: 16, seed: 2 });
    await trainClassifier(model, reader, { epochs: 1 }); // creates Adam's moment variables once
    const before = tf.memory().numTensors;
    await trainClassifier(model, reader, { epochs: 1 });
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('reports batches and stops early on val_loss', async () => {
    // Labels independent of the features: val_loss stops improving within a few epochs.
    const { reader: noise } = await writeSyntheticStore({ randomLabels: true, seed: 11 });
    const model = buildBiLstm({ maxLen: 8, hidden: 16, units: 8, seed: 3 });
    const sizes: number[] = [];
    const history = await trainClassifier(model, noise, {
      epochs: 20,
      batchSize: 64,
      validationSplit: 0.5,
      earlyStopping: { patience: 1 },
      onBatchEnd: (_, logs) => void sizes.push(logs.size),
    });
    expect(history.stoppedEarly).toBe(true);
    expect(history.epochs.length).toBeLessThan(20);
    expect(history.epochs.every((e) => e.val_loss !== undefined)).toBe(true);
    expect(sizes.slice(0, 2)).toEqual([64, 36]);
    model.dispose();
  });

  it('with early stopping, ends holding the best epoch\'s weights (restoreBestWeights, default on)', async () => {
    const { reader: noise } = await writeSyntheticStore({ randomLabels: true, seed: 11 });
    const opts = { batchSize: 64, validationSplit: 0.5, seed: 7 } as const;
    const restored = buildBiLstm({ maxLen: 8, hidden: 16, units: 8, seed: 3 });
    const history = await trainClassifier(restored, noise, { ...opts, epochs: 20, earlyStopping: { patience: 2 } });
    const losses = history.epochs.map((e) => e.val_loss as number);
    expect(history.bestEpoch).toBe(losses.indexOf(Math.min(...losses)));
    expect(history.bestEpoch).toBeLessThan(history.epochs.length - 1);
    // The same training stopped after the best epoch, without early stopping, has the same weights.
    const reference = buildBiLstm({ maxLen: 8, hidden: 16, units: 8, seed: 3 });
    await trainClassifier(reference, noise, { ...opts, epochs: history.bestEpoch! + 1 });
    const a = restored.getWeights().map((w) => Array.from(w.dataSync()));
    const b = reference.getWeights().map((w) => Array.from(w.dataSync()));
    expect(a).toEqual(b);
    restored.dispose();
    reference.dispose();
  });

  it('reads the running loss and accuracy every progressEvery batches only, ending at the epoch figures', async () => {
    const model = buildBiLstm({ maxLen: 8, hidden: 16, units: 4, seed: 5 });
    const logs: { batch: number; size: number; loss?: number; acc?: number }[] = [];
    // 180 training rows in batches of 20: 9 batches; running means on batches 3, 6, 9 (0-based 2, 5, 8).
    const history = await trainClassifier(model, reader, { epochs: 1, batchSize: 20, progressEvery: 3, onBatchEnd: (batch, l) => void logs.push({ batch, ...l }) });
    expect(logs.map((l) => l.size)).toEqual(new Array(9).fill(20));
    expect(logs.filter((l) => l.loss !== undefined).map((l) => l.batch)).toEqual([2, 5, 8]);
    const last = logs[8];
    expect(last.loss).toBeCloseTo(history.epochs[0].loss, 6); // the running mean over the whole epoch
    expect(last.acc).toBeCloseTo(history.epochs[0].acc, 6);
    model.dispose();
  });

  it('refuses embeddings whose maxLen or hidden differ from the model input, with both shapes', async () => {
    const model = buildBiLstm({ maxLen: 10, hidden: 16, units: 4 });
    const err = await trainClassifier(model, reader).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ShapeMismatchError);
    expect((err as Error).message).toMatch(/are \[batch, 8, 16\] but the model expects \[batch, 10, 16\]; tokenize with maxLen 10/);
    model.dispose();
  });

  it('refuses a validation split that leaves nothing to train on', async () => {
    const model = buildBiLstm({ maxLen: 8, hidden: 16, units: 4 });
    await expect(trainClassifier(model, reader, { validationSplit: 1 })).rejects.toThrow(/validationSplit must be in \[0, 1\)/);
    await expect(trainClassifier(model, reader, { validationSplit: 0, earlyStopping: { patience: 1 } })).rejects.toThrow(/needs validationSplit > 0/);
    model.dispose();
  });
});

describe('trainClassifier({ classWeight })', () => {
  /** Binary cross-entropy per row of the epoch-0 first batch, at a fresh model's initial weights. */
  async function firstBatchLosses(): Promise<{ losses: number[]; labels: number[] }> {
    const { ShardDataset, splitRanges } = await import('../../src/classifier/shard-dataset.ts');
    const tfl = await import('@tensorflow/tfjs-layers');
    const { train } = splitRanges(reader.manifest.shards.map((s) => s.count), 0);
    // The batches trainClassifier draws: its shuffle block for this store (the whole store: global).
    const dataset = new ShardDataset(reader, train, 32, 42, { mixShards: shuffleBlock(reader.manifest, train.length, DEFAULT_SHUFFLE_BUFFER_BYTES) });
    const it = await dataset.iterator();
    const { xs, ys } = (await it.next()).value!;
    const model = buildBiLstm({ maxLen: 8, hidden: 16, seed: 1 });
    const perRow = tf.tidy(() => tfl.metrics.binaryCrossentropy(ys, model.predict(xs) as tf.Tensor));
    const losses = Array.from(perRow.dataSync() as Float32Array);
    perRow.dispose();
    const labels = Array.from(ys.dataSync() as Float32Array);
    tf.dispose([xs, ys]);
    model.dispose();
    return { losses, labels };
  }

  async function trainedFirstBatchLoss(classWeight?: { 0: number; 1: number }): Promise<number> {
    const model = buildBiLstm({ maxLen: 8, hidden: 16, seed: 1 });
    let loss: number | undefined;
    await trainClassifier(model, reader, {
      epochs: 1,
      seed: 42,
      validationSplit: 0,
      progressEvery: 1,
      ...(classWeight ? { classWeight } : {}),
      onBatchEnd: (batch, logs) => void (batch === 0 ? (loss = logs.loss) : undefined),
    });
    model.dispose();
    return loss!;
  }

  it("weights each row's loss by its class, as Keras' class_weight (sum of weighted losses / rows)", async () => {
    const { losses, labels } = await firstBatchLosses();
    expect(labels.some((y) => y === 0) && labels.some((y) => y === 1)).toBe(true);
    const weighted = (w0: number, w1: number) => losses.reduce((s, l, i) => s + l * (labels[i] === 1 ? w1 : w0), 0) / losses.length;
    expect(await trainedFirstBatchLoss()).toBeCloseTo(weighted(1, 1), 4);
    expect(await trainedFirstBatchLoss({ 0: 1, 1: 1 })).toBeCloseTo(weighted(1, 1), 4);
    expect(await trainedFirstBatchLoss({ 0: 0.25, 1: 3 })).toBeCloseTo(weighted(0.25, 3), 4);
  });

  it('refuses a negative or non-finite weight', async () => {
    const model = buildBiLstm({ maxLen: 8, hidden: 16, seed: 1 });
    await expect(trainClassifier(model, reader, { epochs: 1, classWeight: { 0: -1, 1: 1 } })).rejects.toThrow(/classWeight\[0\] must be a finite number >= 0, received -1/);
    model.dispose();
  });
});

describe("trainClassifier on the pooled head (buildBiLstm({ head: 'pooled' }))", () => {
  it('learns from the pooled sentence vectors what the token embeddings do not carry, on the fused Bi-LSTM path', async () => {
    const { reader: pooledReader } = await writeSyntheticStore({ pooled: 'signal', shardSizes: [100, 100, 100] });
    const head = buildBiLstm({ maxLen: 8, hidden: 16, seed: 1, head: 'pooled' });
    const h = await trainClassifier(head, pooledReader, { epochs: 6, seed: 42 });
    expect(h.lstmPath).toMatch(/^fused/);
    expect(h.epochs.at(-1)!.val_acc).toBeGreaterThanOrEqual(0.8);
    // The recipe sees only the (noise) token embeddings: no better than chance.
    const recipe = buildBiLstm({ maxLen: 8, hidden: 16, seed: 1 });
    const r = await trainClassifier(recipe, pooledReader, { epochs: 6, seed: 42 });
    expect(r.epochs.at(-1)!.val_acc!).toBeLessThan(h.epochs.at(-1)!.val_acc! - 0.15);
    const { evaluateStore } = await import('../../src/classifier/predict.ts');
    const { labels, probabilities } = await evaluateStore(head, pooledReader);
    const correct = labels.reduce((n, y, i) => n + Number((probabilities[i] > 0.5) === (y === 1)), 0);
    expect(correct / labels.length).toBeGreaterThanOrEqual(0.8);
    head.dispose();
    recipe.dispose();
  });

  it('trains the same through the fused and the layers path (losses within 1e-4)', async () => {
    const { reader: pooledReader } = await writeSyntheticStore({ pooled: 'noise' });
    const losses: number[][] = [];
    for (const lstm of ['fused', 'layers'] as const) {
      const model = buildBiLstm({ maxLen: 8, hidden: 16, seed: 3, head: 'pooled' });
      const h = await trainClassifier(model, pooledReader, { epochs: 2, seed: 42, lstm });
      losses.push(h.epochs.flatMap((e) => [e.loss, e.val_loss!]));
      model.dispose();
    }
    losses[1].forEach((l, i) => expect(l).toBeCloseTo(losses[0][i], 4));
  });

  it('refuses embeddings without pooled vectors, saying how to get them', async () => {
    const model = buildBiLstm({ maxLen: 8, hidden: 16, seed: 1, head: 'pooled' });
    await expect(trainClassifier(model, reader, { epochs: 1 })).rejects.toThrow(/have no pooled sentence vectors, but the model is the pooled head .*simpair run --head pooled/);
    model.dispose();
  });
});

describe('trainClassifier shuffle (shuffleBufferBytes)', () => {
  it('shuffles globally when the training shards fit the budget twice over, in blocks otherwise, per shard at the least', () => {
    const manifest = { maxLen: 64, hidden: 384, shards: [{ count: 256 }, { count: 256 }, { count: 100 }] };
    const shardBytes = 256 * 4 * (64 * 384 + 2 * 384 + 1);
    expect(shuffleBlock(manifest, 3, DEFAULT_SHUFFLE_BUFFER_BYTES)).toBe(3);
    expect(shuffleBlock(manifest, 3, 4 * shardBytes)).toBe(2);
    expect(shuffleBlock(manifest, 3, 2 * shardBytes)).toBe(1);
    expect(shuffleBlock(manifest, 3, 0)).toBe(1);
    expect(() => shuffleBlock(manifest, 3, -1)).toThrow(/shuffleBufferBytes must be a number >= 0, received -1/);
  });

  it('says how it shuffled, and a budget of one shard trains the per-shard way', async () => {
    const { reader } = await writeSyntheticStore({ maxLen: 4, hidden: 6, shardSizes: [10, 10, 10] });
    const run = async (shuffleBufferBytes?: number) => {
      const model = buildBiLstm({ maxLen: 4, hidden: 6, units: 3, seed: 1 });
      const h = await trainClassifier(model, reader, { epochs: 1, batchSize: 8, validationSplit: 0, seed: 2, ...(shuffleBufferBytes !== undefined ? { shuffleBufferBytes } : {}) });
      model.dispose();
      return h;
    };
    const global = await run();
    expect(global.shuffle).toBe('global (3 shards)');
    const perShard = await run(0);
    expect(perShard.shuffle).toBe('blocks of 1 of 3 shards');
    // Different batches, so (almost surely) a different loss.
    expect(perShard.epochs[0].loss).not.toBe(global.epochs[0].loss);
  });
});

describe('trainClassifier: Adam over all weights at once (FlatAdam) and reader workers', () => {
  it('gives the same weights, losses and optimizer state as the optimizer\'s own step and the main-thread reader, also when training continues', async () => {
    const { reader } = await writeSyntheticStore({ maxLen: 5, hidden: 8, shardSizes: [40, 33], seed: 12 });
    const run = async (flatOptimizer: boolean, readerWorkers: number) => {
      const model = buildBiLstm({ maxLen: 5, hidden: 8, units: 4, seed: 21 });
      const options = { epochs: 2, batchSize: 16, seed: 3, flatOptimizer, readerWorkers };
      const first = await trainClassifier(model, reader, options);
      const second = await trainClassifier(model, reader, { ...options, epochs: 1 }); // continues from the synced state
      const weights = model.getWeights().map((w) => [...w.dataSync()]);
      const state = (await model.optimizer!.getWeights()).map((w) => ({ name: w.name, values: [...w.tensor.dataSync()] }));
      const losses = [...first.epochs, ...second.epochs].map((e) => [e.loss, e.val_loss]);
      model.dispose();
      return { weights, state, losses };
    };
    const plain = await run(false, 0);
    const flat = await run(true, 1);
    const unnumbered = (s: { name: string }) => s.name.replace(/\d+/g, ''); // layer numbers differ between the two models
    expect(flat.state.map(unnumbered)).toEqual(plain.state.map(unnumbered));
    const maxDiff = (a: number[][], b: number[][]) => Math.max(...a.map((x, i) => Math.max(...x.map((v, j) => Math.abs(v - b[i][j])))));
    expect(maxDiff(flat.weights, plain.weights)).toBeLessThanOrEqual(1e-6);
    expect(maxDiff(flat.state.map((s) => s.values), plain.state.map((s) => s.values))).toBeLessThanOrEqual(1e-6);
    expect(maxDiff(flat.losses as number[][], plain.losses as number[][])).toBeLessThanOrEqual(1e-6);
  });
});
