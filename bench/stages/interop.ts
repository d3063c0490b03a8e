import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { initTfBackend, loadClassifier, predictProbabilities } from '../../src/classifier/index.ts';
import { EmbeddingStoreReader, shardFileName } from '../../src/embeddings/index.ts';
import { FsObjectStore } from '../../src/storage/fs-object-store.ts';
import type { BenchContext } from '../lib/context.ts';
import { ensureStores } from '../lib/embedding-stores.ts';
import { note } from '../lib/log.ts';
import { runPythonJson } from '../lib/python.ts';
import { ensureModelDir } from './training.ts';

/** Keras interop result. */
export interface InteropResult {
  readonly tensorflowjs: string;
  readonly stubbedModules: string[];
  readonly n: number;
  readonly maxAbsDiff: number;
  readonly meanAbsDiff: number;
  readonly sameDecision: number;
  readonly h5Bytes: number;
  readonly simpairBackend: string;
}

/**
 * Converts the bench's trained model with the tensorflowjs converter to Keras H5 and
 * compares Keras' predictions with simpair's on the same rows of simpair's own embedding
 * shard (the first `interopPairs` MRPC test pairs).
 */
export async function runInteropStage(ctx: BenchContext): Promise<InteropResult | { skipped: string }> {
  if (!ctx.refPython) return { skipped: 'no reference Python (see scripts/bench-python-setup.sh)' };
  const modelDir = await ensureModelDir(ctx);
  const n = ctx.sizes.interopPairs;
  const stores = await ensureStores(ctx, 'max-length', ctx.sizes.training.rows, ctx.sizes.training.testRows);
  const reader = await EmbeddingStoreReader.open(new FsObjectStore(stores.test.dir), '');
  const shard = await reader.readShard(0);
  if (shard.count < n) throw new Error(`interop needs ${n} rows in test shard 0, it has ${shard.count}`);
  const { backend } = await initTfBackend();
  const { model } = await loadClassifier(new FsObjectStore(modelDir), '');
  const { maxLen, hidden } = reader.manifest;
  const probabilities = predictProbabilities(model, { data: shard.embeddings.subarray(0, n * maxLen * hidden), batchSize: n, maxLen, hidden });
  model.dispose();
  const expected = join(ctx.workDir, 'interop-simpair-probs.json');
  await writeFile(expected, JSON.stringify({ probabilities: Array.from(probabilities) }));
  note(`interop: converting ${modelDir} to Keras and predicting ${n} pairs`);
  const result = await runPythonJson<Omit<InteropResult, 'simpairBackend'>>(
    ctx.refPython,
    ctx.root,
    'bench/keras-interop.py',
    ['--model-dir', modelDir, '--shard', join(stores.test.dir, shardFileName(0)), '--expected', expected, '--n', String(n), '--out-h5', join(ctx.workDir, 'interop.h5')],
    'interop',
  );
  return { ...result, simpairBackend: backend };
}
