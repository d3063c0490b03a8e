import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RUN_OPTIONS, getRun, runPipeline, startRun } from '../../src/pipeline/cloud/index.ts';
import { runIdFor } from '../../src/pipeline/run-options.ts';
import { LIVE_MODEL_KEY } from '../../src/pipeline/layout.ts';
import { loadPredictor } from '../../src/pipeline/predictor.ts';
import { EmbeddingStoreReader } from '../../src/embeddings/index.ts';
import { FsObjectStore } from '../../src/storage/fs-object-store.ts';
import { getJson } from '../../src/storage/object-store.ts';
import { DatasetError, RequestError } from '../../src/errors.ts';
import { ROOT, TINY_BERT } from '../helpers/paths.ts';
import { evaluateStore, initTfBackend, loadClassifier } from '../../src/classifier/index.ts';
import { computeMetrics } from '../../src/metrics/index.ts';
import { parseDataset } from '../../src/data/parse-dataset.ts';
import { PairTokenizer } from '../../src/tokenizer/pair-tokenizer.ts';
import { BertEmbedder } from '../../src/embedder/bert-embedder.ts';
import { meanPooledSentenceEmbeddings } from '../../src/embedder/pooled-embeddings.ts';
import { ENCODER_BASELINE_MAX_TOKENS } from '../../src/pipeline/encoder-baseline.ts';
import { cosineSimilarity, evaluateEncoderBaseline } from '../../src/metrics/encoder-baseline.ts';

const options = { modelSource: TINY_BERT, maxLen: 16, epochs: 1, shardSize: 16 };
let root: string;
let store: FsObjectStore;
let train: Buffer;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'simpair-flow-'));
  store = new FsObjectStore(root);
  train = await readFile(join(ROOT, 'examples', 'train.tsv'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('the run steps in-process (local face of the state machine)', () => {
  it('validates, shards, embeds, trains and publishes a model that predicts', async () => {
    await store.put('datasets/train.tsv', train);
    const run = await runPipeline(store, { datasetKey: 'datasets/train.tsv', options });
    expect(run).toMatchObject({ state: 'SUCCEEDED', counts: { rows: 48, positives: 24, negatives: 24 }, shards: 3 });
    expect(run.runId).toBe(runIdFor(createHash('sha256').update(train).digest('hex'), { ...DEFAULT_RUN_OPTIONS, ...options }));
    const reader = await EmbeddingStoreReader.open(store, `embeddings/${run.embeddingId}/`);
    expect(reader.manifest).toMatchObject({ count: 48, maxLen: 16, hidden: 32, positives: 24 });
    expect(reader.manifest.shards.map((s) => s.count)).toEqual([16, 16, 16]);
    const live = await getJson<{ version: string; runId: string }>(store, LIVE_MODEL_KEY);
    expect(live).toMatchObject({ version: run.modelVersion, runId: run.runId });
    const predictor = await loadPredictor(store);
    const [p] = await predictor.predict([{ sentence1: 'The cat sleeps.', sentence2: 'A cat naps.' }]);
    expect(p.probability).toBeGreaterThan(0);
    expect(p.probability).toBeLessThan(1);
    await predictor.dispose();
  });

  it('evaluates the model and the encoder baseline on the validation rows (threshold tuned on the training rows), with the report', async () => {
    const run = await runPipeline(store, { datasetKey: 'datasets/train.tsv', options });
    expect(run.state).toBe('SUCCEEDED');
    const prefix = `models/${run.modelVersion}/`;
    const metrics = await getJson<{ evaluation: { n: number; accuracy: number; rocAuc: number; evaluatedOn: string }; encoderBaseline: { n: number; accuracy: number; rocAuc: number; threshold: number; trainAccuracy: number } }>(store, `${prefix}metrics.json`);
    // The same baseline computed here from the dataset itself: 48 rows, the last ceil(0.1 * 48) = 5 validate.
    const { pairs } = parseDataset(train, 'train.tsv');
    const tokenizer = await PairTokenizer.fromDir(TINY_BERT);
    const embedder = await BertEmbedder.load(TINY_BERT);
    const pooled = await meanPooledSentenceEmbeddings(tokenizer, embedder, pairs.flatMap((p) => [p.sentence1, p.sentence2]), { maxTokens: ENCODER_BASELINE_MAX_TOKENS });
    await embedder.dispose();
    const scored = (from: number, to: number) => ({
      labels: Uint8Array.from(pairs.slice(from, to), (p) => p.label),
      scores: Float64Array.from(pairs.slice(from, to), (_, i) => cosineSimilarity(pooled.vector(2 * (from + i)), pooled.vector(2 * (from + i) + 1))),
    });
    const expected = evaluateEncoderBaseline(scored(0, 43), scored(43, 48));
    expect(metrics.encoderBaseline).toMatchObject({ n: 5, threshold: expected.threshold, trainAccuracy: expected.trainAccuracy });
    expect(metrics.encoderBaseline.accuracy).toBeCloseTo(expected.metrics.accuracy, 6);
    expect(metrics.encoderBaseline.rocAuc).toBeCloseTo(expected.metrics.rocAuc!, 4);
    expect(metrics.evaluation).toMatchObject({ n: 5, evaluatedOn: expect.stringMatching(/validation rows \(the last 5 of 48\)/) });
    // The same model evaluated the plain way (every row of the store, then the last 5) gives the same figures.
    await initTfBackend();
    const { model } = await loadClassifier(store, prefix);
    const all = await evaluateStore(model, await EmbeddingStoreReader.open(store, `embeddings/${run.embeddingId}/`));
    model.dispose();
    const plain = computeMetrics(all.labels.subarray(43), all.probabilities.subarray(43), 0.5);
    expect(metrics.evaluation.accuracy).toBe(plain.accuracy);
    expect(metrics.evaluation.rocAuc).toBeCloseTo(plain.rocAuc!, 6);
    const meta = await getJson<{ encoderBaseline: { threshold: number; maxTokens: number } }>(store, `${prefix}metadata.json`);
    expect(meta.encoderBaseline).toMatchObject({ threshold: expected.threshold, maxTokens: ENCODER_BASELINE_MAX_TOKENS });
    const report = Buffer.from(await store.get(`${prefix}report.html`)).toString('utf8');
    expect(report).toMatch(/encoder baseline/i);
    expect(await store.exists(`${prefix}roc.svg`)).toBe(true);
    expect((await getRun(store, run.runId)).metrics).toMatchObject({ encoderBaseline: { rocAuc: metrics.encoderBaseline.rocAuc } });
  });

  it("runs the pooled head (options.head 'pooled'): pooled vectors in the shards, the two-input model published and predicting", async () => {
    await store.put('datasets/pooled.tsv', await readFile(join(ROOT, 'examples', 'test.tsv')));
    const run = await runPipeline(store, { datasetKey: 'datasets/pooled.tsv', options: { ...options, head: 'pooled' } });
    expect(run).toMatchObject({ state: 'SUCCEEDED', options: { head: 'pooled' } });
    const reader = await EmbeddingStoreReader.open(store, `embeddings/${run.embeddingId}/`);
    const shard = await reader.readShard(0);
    expect(shard.pooled).toHaveLength(shard.count * 2 * 32);
    const meta = await getJson<{ head?: string }>(store, `models/${run.modelVersion}/metadata.json`);
    expect(meta.head).toBe('pooled');
    const predictor = await loadPredictor(store);
    const [p] = await predictor.predict([{ sentence1: 'The cat sleeps.', sentence2: 'A cat naps.' }]);
    expect(p.probability).toBeGreaterThan(0);
    expect(p.probability).toBeLessThan(1);
    await predictor.dispose();
  });

  it('does not start a duplicate run for the same content under another key', async () => {
    await store.put('datasets/again.tsv', train);
    const again = await startRun(store, { datasetKey: 'datasets/again.tsv', options });
    expect(again.duplicate).toBe(true);
  });

  it('records a failed run with the step and reason, and leaves the live model alone', async () => {
    const before = await store.get(LIVE_MODEL_KEY);
    const modelsBefore = await store.list('models/');
    await store.put('datasets/bad.tsv', 'sentence1\tsentence2\tlabel\nA.\tB.\t1\nC.\tD.\t7\n');
    await expect(runPipeline(store, { datasetKey: 'datasets/bad.tsv', options })).rejects.toBeInstanceOf(DatasetError);
    const runs = await store.list('runs/');
    const statuses = await Promise.all(runs.filter((k) => k.endsWith('status.json')).map((k) => getJson<{ state: string; datasetKey: string; runId: string }>(store, k)));
    const failed = statuses.find((s) => s.datasetKey === 'datasets/bad.tsv')!;
    const record = await getRun(store, failed.runId);
    expect(record.state).toBe('FAILED');
    expect(record.error).toMatchObject({ step: 'validate', name: 'DatasetError' });
    expect(record.error?.message).toMatch(/line 3/);
    expect(Buffer.from(await store.get(LIVE_MODEL_KEY)).equals(Buffer.from(before))).toBe(true);
    expect(await store.list('models/')).toEqual(modelsBefore);
  });

  it('refuses keys outside datasets/ and unknown runs', async () => {
    await expect(startRun(store, { datasetKey: '../etc/passwd' })).rejects.toBeInstanceOf(RequestError);
    await expect(startRun(store, { datasetKey: 'datasets/missing.tsv' })).rejects.toThrow(/not in .*upload it first/);
    await expect(getRun(store, 'run-nope')).rejects.toThrow(/No run "run-nope"/);
    await expect(startRun(store, { datasetKey: 'datasets/train.tsv', options: { maxLen: 1 } })).rejects.toThrow(/maxLen/);
  });
});
