import { cp, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simpair, startServe } from '../helpers/cli.ts';
import { readDataset } from '../../src/data/index.ts';
import { BertEmbedder } from '../../src/embedder/bert-embedder.ts';
import { meanPooledSentenceEmbeddings } from '../../src/embedder/pooled-embeddings.ts';
import { bestThreshold, cosineSimilarity } from '../../src/metrics/encoder-baseline.ts';
import { computeMetrics, rocAuc } from '../../src/metrics/index.ts';
import { PairTokenizer } from '../../src/tokenizer/pair-tokenizer.ts';
import { HAVE_MRPC, MRPC_DIR, ROOT, TINY_BERT } from '../helpers/paths.ts';

const TRAIN = join(ROOT, 'examples', 'train.tsv');
const TEST = join(ROOT, 'examples', 'test.tsv');
let work: string;
let modelDir: string;
/** `simpair run --json`'s result of the model all tests share. */
let runResult: { metrics: Record<string, unknown> & { encoderBaseline?: Record<string, unknown> } };

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'simpair-e2e-'));
  modelDir = join(work, 'model');
  const res = await simpair(['run', '--data', TRAIN, '--test-data', TEST, '--model', TINY_BERT, '--out', modelDir, '--max-len', '32', '--epochs', '2', '--json']);
  if (res.code !== 0) throw new Error(`run failed: ${res.stderr}`);
  runResult = JSON.parse(res.stdout);
});
afterAll(() => rm(work, { recursive: true, force: true }));

describe('simpair run', () => {
  it('writes the model, metadata, metrics and pictures, and only those', async () => {
    expect((await readdir(modelDir)).sort()).toEqual(
      ['classifier.onnx', 'group1-shard1of1.bin', 'metadata.json', 'metrics.json', 'model.json', 'report.html', 'roc.svg', 'training-curves.svg'].sort(),
    );
    expect((await readdir(work)).filter((f) => f.includes('tmp'))).toEqual([]);
  });

  it("model.json holds the seed's layers and compile settings", async () => {
    const m = JSON.parse(await readFile(join(modelDir, 'model.json'), 'utf8'));
    const layers = m.modelTopology.config.layers;
    expect(layers.map((l: { class_name: string }) => l.class_name)).toEqual(['Bidirectional', 'Bidirectional', 'Dense']);
    expect(layers[0].config.layer.config).toMatchObject({ units: 64, return_sequences: true });
    expect(layers[0].config.batch_input_shape).toEqual([null, 32, 32]);
    expect(layers[1].config.layer.config).toMatchObject({ units: 64, return_sequences: false });
    expect(layers[2].config).toMatchObject({ units: 1, activation: 'sigmoid' });
    expect(m.trainingConfig).toMatchObject({ loss: 'binary_crossentropy', metrics: ['accuracy'], optimizer_config: { class_name: 'Adam' } });
  });

  it('records what the model needs in metadata.json and the evaluation in metrics.json', async () => {
    const meta = JSON.parse(await readFile(join(modelDir, 'metadata.json'), 'utf8'));
    expect(meta).toMatchObject({ maxLen: 32, hidden: 32, embeddingModel: 'tiny-bert', threshold: 0.5, backend: expect.any(String) });
    expect(meta.embedder).toMatchObject({ source: 'local', id: 'tiny-bert', onnxFile: 'onnx/model.onnx' });
    expect(meta.tokenizerSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(meta.datasetSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(meta.training).toMatchObject({ epochs: 2, batchSize: 32, seed: 42 });
    const metrics = JSON.parse(await readFile(join(modelDir, 'metrics.json'), 'utf8'));
    expect(metrics).toMatchObject({ n: 12, confusion: expect.any(Object), accuracy: expect.any(Number), f1: expect.any(Number) });
    const html = await readFile(join(modelDir, 'report.html'), 'utf8');
    expect(html).toContain('<svg');
    expect(html).toContain('ROC');
  });

  it('refuses an existing --out without --force', async () => {
    const res = await simpair(['run', '--data', TRAIN, '--model', TINY_BERT, '--out', modelDir, '--max-len', '32', '--epochs', '1']);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/already exists; choose another --out or pass --force/);
  });

  it('fails on a bad dataset before any work, naming file and line, and writes nothing', async () => {
    const bad = join(work, 'bad.tsv');
    await writeFile(bad, 'sentence1\tsentence2\tlabel\nA cat.\tA dog.\t1\nA cat.\t\t0\nA cat.\tA cow.\tmaybe\n');
    const out = join(work, 'never');
    const res = await simpair(['run', '--data', bad, '--model', TINY_BERT, '--out', out, '--max-len', '32', '--epochs', '1']);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/bad\.tsv: 2 of 3 data rows are invalid/);
    expect(res.stderr).toMatch(/line 3 \(sentence2\): sentence2 is empty/);
    expect(res.stderr).toMatch(/line 4 \(label\)/);
    expect(res.stderr).toMatch(/maybe/);
    expect((await readdir(work)).filter((f) => f.startsWith('never') || f.includes('never'))).toEqual([]);
  });
});

describe('simpair predict and evaluate', () => {
  it('predicts one pair as {probability, similar}', async () => {
    const res = await simpair(['predict', '--model-dir', modelDir, '--s1', 'A man is eating.', '--s2', 'Someone eats.', '--json']);
    expect(res.code).toBe(0);
    const p = JSON.parse(res.stdout);
    expect(Object.keys(p).sort()).toEqual(['probability', 'similar']);
    expect(p.probability).toBeGreaterThanOrEqual(0);
    expect(p.probability).toBeLessThanOrEqual(1);
    expect(p.similar).toBe(p.probability > 0.5);
  });

  it('predicts a file of pairs with their line numbers', async () => {
    const res = await simpair(['predict', '--model-dir', modelDir, '--pairs', TEST, '--json']);
    expect(res.code).toBe(0);
    const { predictions } = JSON.parse(res.stdout);
    expect(predictions).toHaveLength(12);
    expect(predictions[0].line).toBe(2);
  });

  it('evaluates: accuracy, precision, recall, f1, rocAuc, confusion, n', async () => {
    const res = await simpair(['evaluate', '--model-dir', modelDir, '--data', TEST, '--json']);
    expect(res.code).toBe(0);
    const m = JSON.parse(res.stdout);
    expect(m).toMatchObject({ n: 12, accuracy: expect.any(Number), precision: expect.any(Number), recall: expect.any(Number), f1: expect.any(Number) });
    const { tp, fp, tn, fn } = m.confusion;
    expect(tp + fp + tn + fn).toBe(12);
    expect(m.accuracy).toBeCloseTo((tp + tn) / 12, 10);
    // Same model, same data: evaluate agrees with the metrics run wrote.
    const saved = JSON.parse(await readFile(join(modelDir, 'metrics.json'), 'utf8'));
    expect(m.accuracy).toBeCloseTo(saved.accuracy, 6);
    expect(m.rocAuc).toBeCloseTo(saved.rocAuc, 6);
  });

  it('refuses a model whose embedder has another hidden size', async () => {
    const other = join(work, 'other-bert');
    await cp(TINY_BERT, other, { recursive: true });
    await writeFile(join(other, 'config.json'), JSON.stringify({ model_type: 'bert', hidden_size: 768 }));
    const res = await simpair(['predict', '--model-dir', modelDir, '--model', other, '--s1', 'a', '--s2', 'b']);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^simpair: The classifier does not fit the embedder: .*hidden/m);
    expect(res.stderr).not.toMatch(/ModelMismatchError/); // no class name in front (issue 19)
    expect(res.stderr).toMatch(/768/);
  });

  it('refuses a model whose tokenizer differs from its embedder', async () => {
    const other = join(work, 'other-tok');
    await cp(TINY_BERT, other, { recursive: true });
    const tok = JSON.parse(await readFile(join(other, 'tokenizer.json'), 'utf8'));
    tok.normalizer.lowercase = false;
    await writeFile(join(other, 'tokenizer.json'), JSON.stringify(tok));
    const res = await simpair(['predict', '--model-dir', modelDir, '--model', other, '--s1', 'a', '--s2', 'b']);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^simpair: The classifier does not fit the embedder: .*tokenizer/m);
  });

  it('exits 2 with usage help on a usage error', async () => {
    const res = await simpair(['predict', '--s1', 'x']);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/--model-dir/);
  });
});

describe('the encoder baseline (cosine of mean-pooled sentence embeddings)', () => {
  /** Reference: the cosine of each pair's pooled vectors, computed here from the module's definition. */
  async function baselineScores(file: string): Promise<{ labels: number[]; scores: number[] }> {
    const tokenizer = await PairTokenizer.fromDir(TINY_BERT);
    const embedder = await BertEmbedder.load(TINY_BERT, { threads: 1 });
    try {
      const { pairs } = await readDataset(file);
      const pooled = await meanPooledSentenceEmbeddings(tokenizer, embedder, pairs.flatMap((p) => [p.sentence1, p.sentence2]));
      return { labels: pairs.map((p) => p.label), scores: pairs.map((_, i) => cosineSimilarity(pooled.vector(2 * i), pooled.vector(2 * i + 1))) };
    } finally {
      await embedder.dispose();
    }
  }

  it('run stores it in metrics.json and metadata.json: threshold tuned on the training rows, metrics on the test rows, and its cost', async () => {
    const metrics = JSON.parse(await readFile(join(modelDir, 'metrics.json'), 'utf8'));
    const meta = JSON.parse(await readFile(join(modelDir, 'metadata.json'), 'utf8'));
    const train = await baselineScores(TRAIN);
    const test = await baselineScores(TEST);
    const { threshold, accuracy: trainAccuracy } = bestThreshold(train.labels, train.scores);
    expect(meta.encoderBaseline).toMatchObject({ method: 'cosine-mean-pooled', maxTokens: 256 });
    expect(meta.encoderBaseline.threshold).toBeCloseTo(threshold, 5);
    expect(meta.encoderBaseline.trainAccuracy).toBeCloseTo(trainAccuracy, 10);
    const b = metrics.encoderBaseline;
    expect(b).toMatchObject({ method: 'cosine-mean-pooled', n: 12, confusion: expect.any(Object) });
    expect(b.threshold).toBe(meta.encoderBaseline.threshold);
    expect(b.rocAuc).toBeCloseTo(rocAuc(test.labels, test.scores)!, 5);
    expect(b.accuracy).toBeCloseTo(computeMetrics(test.labels, test.scores, threshold).accuracy, 10);
    expect(b.f1).toBeCloseTo(computeMetrics(test.labels, test.scores, threshold).f1, 10);
    // Each distinct sentence of train and test encoded once.
    const all = [...(await readDataset(TRAIN)).pairs, ...(await readDataset(TEST)).pairs].flatMap((p) => [p.sentence1, p.sentence2]);
    expect(b.cost).toMatchObject({ sentences: all.length, distinctSentences: new Set(all).size, seconds: expect.any(Number) });
    expect(runResult.metrics.encoderBaseline).toEqual(b);
  });

  it('the report shows its metrics and its ROC curve beside the model\'s', async () => {
    const roc = await readFile(join(modelDir, 'roc.svg'), 'utf8');
    expect(roc).toMatch(/Bi-LSTM \(AUC [\d.]+\)/);
    expect(roc).toMatch(/encoder baseline \(AUC [\d.]+\)/);
    const html = await readFile(join(modelDir, 'report.html'), 'utf8');
    expect(html).toMatch(/Encoder baseline: cosine of mean-pooled sentence embeddings/);
    expect(html).toMatch(/threshold tuned on the training rows/);
  });

  it('evaluate reports it at the threshold stored at training, equal to what run stored for the same data', async () => {
    const res = await simpair(['evaluate', '--model-dir', modelDir, '--data', TEST, '--json']);
    expect(res.code, res.stderr).toBe(0);
    const m = JSON.parse(res.stdout);
    const saved = JSON.parse(await readFile(join(modelDir, 'metrics.json'), 'utf8')).encoderBaseline;
    expect(m.encoderBaseline).toMatchObject({ method: 'cosine-mean-pooled', n: 12, threshold: saved.threshold, confusion: saved.confusion });
    expect(m.encoderBaseline.accuracy).toBeCloseTo(saved.accuracy, 6);
    expect(m.encoderBaseline.rocAuc).toBeCloseTo(saved.rocAuc, 6);
    expect(m.encoderBaseline.cost.distinctSentences).toBeGreaterThan(0);
  });

  it('evaluate says in one plain line whether the model beats it, and shows both ROC curves in --report', async () => {
    const report = join(work, 'eval-report.html');
    const res = await simpair(['evaluate', '--model-dir', modelDir, '--data', TEST, '--report', report]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/encoder baseline accuracy/);
    expect(res.stdout).toMatch(/encoder baseline rocAuc/);
    const saved = JSON.parse(await readFile(join(modelDir, 'metrics.json'), 'utf8'));
    const accWins = saved.accuracy > saved.encoderBaseline.accuracy;
    const aucWins = saved.rocAuc > saved.encoderBaseline.rocAuc;
    const verdict = /^The Bi-LSTM (does not beat|beats) the encoder baseline .*$/m;
    if (accWins && aucWins) expect(res.stdout).not.toMatch(verdict);
    else if (!accWins && !aucWins) expect(res.stdout).toMatch(/^The Bi-LSTM does not beat the encoder baseline .*$/m);
    else expect(res.stdout).toMatch(/^The Bi-LSTM beats the encoder baseline .* but not in /m);
    expect(await readFile(report, 'utf8')).toMatch(/encoder baseline \(AUC/);
  });

  it('evaluate of a model saved without the baseline threshold still reports its ROC-AUC, and says why there is no accuracy', async () => {
    const old = join(work, 'model-without-baseline');
    await cp(modelDir, old, { recursive: true });
    const meta = JSON.parse(await readFile(join(old, 'metadata.json'), 'utf8'));
    delete meta.encoderBaseline;
    await writeFile(join(old, 'metadata.json'), JSON.stringify(meta));
    const res = await simpair(['evaluate', '--model-dir', old, '--data', TEST, '--json']);
    expect(res.code, res.stderr).toBe(0);
    const b = JSON.parse(res.stdout).encoderBaseline;
    const saved = JSON.parse(await readFile(join(modelDir, 'metrics.json'), 'utf8')).encoderBaseline;
    expect(b.rocAuc).toBeCloseTo(saved.rocAuc, 6);
    expect(b.threshold).toBeNull();
    expect(b.accuracy).toBeUndefined();
    expect(b.note).toMatch(/no threshold: the model's metadata.json has no encoderBaseline \(saved before simpair stored it\); train it again/);
  });
});

describe('simpair serve --model-dir', () => {
  it('answers POST /predict and rejects bad bodies with 400', async () => {
    const server = await startServe(['--model-dir', modelDir]);
    try {
      const post = (body: unknown) =>
        fetch(`${server.url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
      const ok = await post({ pairs: [{ sentence1: 'A man is eating.', sentence2: 'Someone eats.' }, { sentence1: 'x', sentence2: 'y' }] });
      expect(ok.status).toBe(200);
      const { predictions } = (await ok.json()) as { predictions: { probability: number }[] };
      expect(predictions).toHaveLength(2);
      // Same answer as the CLI's predict for the same pair.
      const cli = JSON.parse((await simpair(['predict', '--model-dir', modelDir, '--s1', 'A man is eating.', '--s2', 'Someone eats.', '--json'])).stdout);
      expect(predictions[0].probability).toBeCloseTo(cli.probability, 5);

      const empty = await post({ pairs: [{ sentence1: '', sentence2: 'y' }] });
      expect(empty.status).toBe(400);
      expect(((await empty.json()) as { message: string }).message).toMatch(/pairs\[0\]\.sentence1: must not be empty/);
      const tooMany = await post({ pairs: Array.from({ length: 33 }, () => ({ sentence1: 'a', sentence2: 'b' })) });
      expect(tooMany.status).toBe(400);
      const tooLong = await post({ pairs: [{ sentence1: 'a'.repeat(2001), sentence2: 'b' }] });
      expect(tooLong.status).toBe(400);
      expect((await post('{oops')).status).toBe(400);
    } finally {
      await server.stop();
    }
  });
});

describe.skipIf(!HAVE_MRPC)('simpair run on a slice of MRPC (from ../shared)', () => {
  it('reads MRPC with its BOM, CRLF and stray quotes and trains end to end', async () => {
    // A slice in a temp dir (never in the repo): header + 300 train rows, header + 100 test rows.
    const slice = async (name: string, rows: number) => {
      const text = await readFile(join(MRPC_DIR, name), 'utf8');
      const path = join(work, `slice-${name}`);
      await writeFile(path, text.split('\r\n').slice(0, rows + 1).join('\r\n') + '\r\n');
      return path;
    };
    const out = join(work, 'mrpc-model');
    const res = await simpair([
      'run', '--data', await slice('msr_paraphrase_train.txt', 300), '--test-data', await slice('msr_paraphrase_test.txt', 100),
      '--model', TINY_BERT, '--out', out, '--max-len', '64', '--epochs', '1', '--json',
    ]);
    expect(res.code, res.stderr).toBe(0);
    const result = JSON.parse(res.stdout);
    expect(result.train.rows).toBe(300);
    expect(result.metrics.n).toBe(100);
    expect(JSON.parse(await readFile(join(out, 'metadata.json'), 'utf8')).maxLen).toBe(64);
  });
});

describe('--skip-invalid', () => {
  it('validate reports the skipped rows in a file and counts them; run keeps them beside the model', async () => {
    const data = join(work, 'some-bad.tsv');
    await writeFile(data, 'sentence1\tsentence2\tlabel\nA cat.\tA dog.\t1\nA cat.\tA cow.\tmaybe\nA hen.\tA cow.\t0\nA cat.\tA cat!\t1\n');
    const report = join(work, 'skipped.jsonl');
    const v = await simpair(['validate', '--data', data, '--skip-invalid', '--skipped-report', report, '--json']);
    expect(v.code).toBe(0);
    expect(JSON.parse(v.stdout)).toMatchObject({ rows: 3, skipped: 1, positives: 2, negatives: 1 });
    const lines = (await readFile(report, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toEqual([expect.objectContaining({ line: 3, field: 'label' })]);
    expect((await simpair(['validate', '--data', data])).code).toBe(1);

    const out = join(work, 'skip-model');
    const r = await simpair(['run', '--data', data, '--model', TINY_BERT, '--out', out, '--max-len', '16', '--epochs', '1', '--validation-split', '0', '--skip-invalid']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/skipped 1 invalid train rows/);
    expect((await readFile(join(out, 'skipped-train-rows.jsonl'), 'utf8'))).toMatch(/"line":3/);
  });
});

describe('--padding masked', () => {
  it('trains with a Masking layer, records it, and predicts with the matching embedder', async () => {
    const out = join(work, 'masked-model');
    const r = await simpair(['run', '--data', TRAIN, '--model', TINY_BERT, '--out', out, '--max-len', '24', '--epochs', '1', '--padding', 'masked']);
    expect(r.code, r.stderr).toBe(0);
    const m = JSON.parse(await readFile(join(out, 'model.json'), 'utf8'));
    expect(m.modelTopology.config.layers[0].class_name).toBe('Masking');
    expect(JSON.parse(await readFile(join(out, 'metadata.json'), 'utf8')).padding).toBe('masked');
    // Predictions do not depend on the batch: a pair alone and among others gives the same probability.
    const alone = JSON.parse((await simpair(['predict', '--model-dir', out, '--s1', 'The baby is crying.', '--s2', 'An infant cries.', '--json'])).stdout);
    const file = join(work, 'mixed.tsv');
    await writeFile(file, 'sentence1\tsentence2\nThe baby is crying.\tAn infant cries.\nA much longer first sentence about the weather in the mountains today.\tAnd a second one, also long, about rain and snow and wind.\n');
    const mixed = JSON.parse((await simpair(['predict', '--model-dir', out, '--pairs', file, '--json'])).stdout);
    expect(mixed.predictions[0].probability).toBeCloseTo(alone.probability, 4);
  });
});

describe('--dropout, --recurrent-dropout, --class-weight', () => {
  it("train with Keras' LSTM dropout on the layers path and class-weighted loss, recorded in model.json and metadata.json", async () => {
    const out = join(work, 'regularised-model');
    const r = await simpair(['run', '--data', TRAIN, '--model', TINY_BERT, '--out', out, '--max-len', '16', '--epochs', '1', '--dropout', '0.2', '--recurrent-dropout', '0.1', '--class-weight', 'balanced']);
    expect(r.code, r.stderr).toBe(0);
    const m = JSON.parse(await readFile(join(out, 'model.json'), 'utf8'));
    for (const layer of m.modelTopology.config.layers.slice(0, 2)) expect(layer.config.layer.config).toMatchObject({ dropout: 0.2, recurrent_dropout: 0.1 });
    const meta = JSON.parse(await readFile(join(out, 'metadata.json'), 'utf8'));
    // The fused Bi-LSTM has no recurrent dropout: those layers train on tfjs-layers' own LSTM.
    expect(meta.lstmPath).toMatch(/layers/);
    expect(r.stderr).toMatch(/LSTM path: .*recurrentDropout/);
    const { pairs } = await readDataset(TRAIN);
    const positives = pairs.filter((p) => p.label === 1).length;
    const n = pairs.length;
    expect(meta.training.classWeight['0']).toBeCloseTo(n / (2 * (n - positives)), 10);
    expect(meta.training.classWeight['1']).toBeCloseTo(n / (2 * positives), 10);
  });

  it('refuses a bad --class-weight and a dropout outside [0, 1) as usage errors', async () => {
    const bad = await simpair(['run', '--data', TRAIN, '--model', TINY_BERT, '--out', join(work, 'never-cw'), '--class-weight', 'heavy']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--class-weight must be "balanced" or two weights W0,W1 \(e\.g\. 1,2\.5\), got "heavy"/);
    const drop = await simpair(['run', '--data', TRAIN, '--model', TINY_BERT, '--out', join(work, 'never-do'), '--dropout', '1']);
    expect(drop.code).toBe(2);
  });
});

describe('--head pooled', () => {
  it('trains the two-input head, records it, and predict/evaluate/serve feed it the same pair features as training', async () => {
    const out = join(work, 'pooled-model');
    const r = await simpair(['run', '--data', TRAIN, '--test-data', TEST, '--model', TINY_BERT, '--out', out, '--max-len', '24', '--epochs', '1', '--head', 'pooled', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const m = JSON.parse(await readFile(join(out, 'model.json'), 'utf8'));
    expect(m.modelTopology.class_name).toBe('Model');
    expect(m.modelTopology.config.input_layers.map((l: unknown[]) => l[0])).toEqual(['tokens', 'pair_features']);
    expect(m.modelTopology.config.layers.map((l: { class_name: string }) => l.class_name)).toContain('Concatenate');
    const meta = JSON.parse(await readFile(join(out, 'metadata.json'), 'utf8'));
    expect(meta.head).toBe('pooled');
    expect(meta.lstmPath).toMatch(/^fused/);
    // evaluate recomputes the pooled vectors at prediction time: same figures as at training.
    const saved = JSON.parse(await readFile(join(out, 'metrics.json'), 'utf8'));
    const ev = await simpair(['evaluate', '--model-dir', out, '--data', TEST, '--json']);
    expect(ev.code, ev.stderr).toBe(0);
    const e = JSON.parse(ev.stdout);
    expect(e.accuracy).toBeCloseTo(saved.accuracy, 6);
    expect(e.rocAuc).toBeCloseTo(saved.rocAuc, 5);
    const p = await simpair(['predict', '--model-dir', out, '--s1', 'A man is eating.', '--s2', 'Someone eats.', '--json']);
    expect(p.code, p.stderr).toBe(0);
    const server = await startServe(['--model-dir', out]);
    try {
      const res = await fetch(`${server.url}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ pairs: [{ sentence1: 'A man is eating.', sentence2: 'Someone eats.' }] }),
      });
      expect(res.status).toBe(200);
      const { predictions } = (await res.json()) as { predictions: { probability: number }[] };
      expect(predictions[0].probability).toBeCloseTo(JSON.parse(p.stdout).probability, 5);
    } finally {
      await server.stop();
    }
  });

  it('the default run has no head field and the recipe topology', async () => {
    const meta = JSON.parse(await readFile(join(modelDir, 'metadata.json'), 'utf8'));
    expect(meta.head).toBeUndefined();
  });
});
