/**
 * The predict function's cold path, measured against s3rver (issue 9, point 10): a bert-base
 * sized ONNX export (scripts/make_bert_base_random.py, ~435 MB) sits in a local S3 server
 * beside a published Bi-LSTM for it; each measurement is a fresh Node process (a cold
 * container) that resolves the s3:// model source into an empty cache, opens the ONNX session
 * and answers one pair, as functions/predict does. Compared: the old path (one GET buffered
 * whole in memory, then written) and the new one (parallel ranged GETs streamed to /tmp).
 *
 * Usage: node bin/run-ts.js bench/predict-cold-path.ts [MODEL_DIR] [--runs N]
 *   MODEL_DIR defaults to models/bert-base-random (.venv/bin/python scripts/make_bert_base_random.py).
 * Prints a Markdown table; not part of `npm run bench` (it needs the 435 MB export).
 */
import { existsSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { S3Client } from '@aws-sdk/client-s3';
import { buildBiLstm, initTfBackend, saveClassifier } from '../src/classifier/index.ts';
import { LIVE_MODEL_KEY, keys } from '../src/pipeline/layout.ts';
import { putJson } from '../src/storage/object-store.ts';
import { S3ObjectStore } from '../src/storage/s3-object-store.ts';
import { PairTokenizer } from '../src/tokenizer/pair-tokenizer.ts';
import { startS3rver } from '../test/storage/start-s3rver.ts';
import { runTsChild } from './lib/child.ts';
import type { ColdPathResult } from './predict-cold-child.ts';

const root = resolve(import.meta.dirname, '..');
const { values, positionals } = parseArgs({ allowPositionals: true, options: { runs: { type: 'string', default: '2' } } });
const modelDir = resolve(positionals[0] ?? join(root, 'models', 'bert-base-random'));
const runs = Number(values.runs);
if (!existsSync(join(modelDir, 'onnx', 'model.onnx'))) {
  process.stderr.write(`No ONNX export in ${modelDir}; make one with: .venv/bin/python scripts/make_bert_base_random.py ${modelDir}\n`);
  process.exit(1);
}

const BUCKET = 'simpair-cold-path';
const s3 = await startS3rver(BUCKET);
const credentials = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL_S3: s3.endpoint };
try {
  const client = new S3Client({ region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
  const store = new S3ObjectStore({ bucket: BUCKET, client, partSize: 64 * 1024 * 1024, uploadConcurrency: 2 });
  const source = `s3://${BUCKET}/encoders/bert-base-random/`;
  for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx']) {
    if (existsSync(join(modelDir, f))) await store.put(`encoders/bert-base-random/${f}`, readFileSync(join(modelDir, f)));
  }
  // A Bi-LSTM for [128, 768] (random weights: the cold path does not depend on them), published.
  await initTfBackend();
  const tokenizer = await PairTokenizer.fromDir(modelDir);
  const model = buildBiLstm({ maxLen: 128, hidden: 768, seed: 1 });
  const version = 'cold-path-bench';
  await saveClassifier(store, keys.modelVersion(version), model, {
    embeddingModel: source,
    tokenizerSha256: tokenizer.sha256,
    datasetSha256: '0'.repeat(64),
    training: { epochs: 1, batchSize: 32, validationSplit: 0, seed: 1, earlyStopping: null },
  });
  await putJson(store, LIVE_MODEL_KEY, { version, prefix: keys.modelVersion(version), runId: 'bench', publishedAt: new Date().toISOString() });
  client.destroy();

  const modes = ['buffered', 'ranged'] as const;
  const results: ColdPathResult[] = [];
  for (let i = 0; i < runs; i++) {
    for (const mode of modes) {
      results.push(await runTsChild<ColdPathResult>(root, 'bench/predict-cold-child.ts', [BUCKET, mode], { env: { ...credentials, SIMPAIR_LOG_LEVEL: 'warn' } }));
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const rows = modes.map((mode) => {
    const r = results.filter((x) => x.mode === mode);
    const f = (pick: (x: ColdPathResult) => number) => median(r.map(pick));
    return `| ${mode} | ${(f((x) => x.downloadMs) / 1000).toFixed(1)} | ${f((x) => x.modelMB / (x.downloadMs / 1000)).toFixed(0)} | ${(f((x) => x.sessionMs) / 1000).toFixed(1)} | ${(f((x) => x.firstAnswerMs) / 1000).toFixed(2)} | ${(f((x) => x.totalMs) / 1000).toFixed(1)} | ${f((x) => x.peakRssMiB).toFixed(0)} |`;
  });
  process.stdout.write(
    [
      `Predict cold path, ${results[0].modelMB.toFixed(0)} MB ONNX from s3rver on 127.0.0.1, ${cpus().length} cores (load ${loadavg()[0].toFixed(1)}), Node ${process.version}, median of ${runs}:`,
      '',
      '| download | s | MB/s | session (tokenizer + Bi-LSTM + ORT) s | first answer s | total s | peak RSS MiB |',
      '|---|---|---|---|---|---|---|',
      ...rows,
      '',
    ].join('\n'),
  );
} finally {
  await s3.stop();
}
