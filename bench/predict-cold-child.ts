/**
 * One cold start of the predict path in a fresh process (bench/predict-cold-path.ts):
 * resolve the live model's s3:// embedding source into an empty cache ("buffered": one GET
 * held in memory then written, the old way; "ranged": S3ObjectStore.downloadToFile), load the
 * predictor (tokenizer, Bi-LSTM, ONNX session), answer one pair. Prints one JSON line.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveModelSource } from '../src/model-source/index.ts';
import { getJson, type ObjectStore } from '../src/storage/object-store.ts';
import { S3ObjectStore } from '../src/storage/s3-object-store.ts';
import { Predictor, type LiveModelPointer } from '../src/pipeline/predictor.ts';
import { LIVE_MODEL_KEY } from '../src/pipeline/layout.ts';

/** One measurement. */
export interface ColdPathResult {
  readonly mode: 'buffered' | 'ranged';
  readonly modelMB: number;
  readonly downloadMs: number;
  readonly sessionMs: number;
  readonly firstAnswerMs: number;
  readonly totalMs: number;
  readonly peakRssMiB: number;
}

const [bucket, mode] = process.argv.slice(2) as [string, ColdPathResult['mode']];
const cacheDir = mkdtempSync(join(tmpdir(), 'simpair-cold-'));
try {
  const t0 = performance.now();
  const store = new S3ObjectStore({ bucket });
  const pointer = await getJson<LiveModelPointer>(store, LIVE_MODEL_KEY);
  const { embeddingModel } = await getJson<{ embeddingModel: string }>(store, `${pointer.prefix}metadata.json`);
  const openS3 = async (b: string, prefix: string): Promise<ObjectStore> => {
    const s = new S3ObjectStore({ bucket: b, prefix });
    // The old path: without downloadToFile, resolveModelSource holds the whole object in memory, then writes it.
    if (mode === 'buffered') Object.defineProperty(s, 'downloadToFile', { value: undefined });
    return s;
  };
  const resolved = await resolveModelSource(embeddingModel, { cacheDir, openS3 });
  const t1 = performance.now();
  const predictor = await Predictor.load(store, pointer.prefix, { modelSource: resolved.dir });
  const t2 = performance.now();
  await predictor.predict([{ sentence1: 'How do I learn Python?', sentence2: 'What is the best way to learn Python?' }]);
  const t3 = performance.now();
  const modelMB = statSync(join(resolved.dir, resolved.onnxFile)).size / 1e6;
  const result: ColdPathResult = { mode, modelMB, downloadMs: t1 - t0, sessionMs: t2 - t1, firstAnswerMs: t3 - t2, totalMs: t3 - t0, peakRssMiB: process.resourceUsage().maxRSS / 1024 };
  process.stdout.write(JSON.stringify(result) + '\n');
  await predictor.dispose();
} finally {
  rmSync(cacheDir, { recursive: true, force: true });
}
