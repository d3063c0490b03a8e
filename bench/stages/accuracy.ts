import type { ClassificationMetrics } from '../../src/metrics/index.ts';
import type { BenchContext } from '../lib/context.ts';
import { ensureStores, type StoreSet } from '../lib/embedding-stores.ts';
import { note } from '../lib/log.ts';
import { steadyEpochSeconds } from '../lib/stats.ts';
import { trainInChild } from './training.ts';

/** One variant of the accuracy report. */
export interface AccuracyVariant {
  readonly name: string;
  readonly padding: StoreSet['padding'];
  readonly masked: boolean;
  readonly trainRows: number;
  readonly testRows: number;
  /** Tokenize + BERT + shard writing, train and test together. */
  readonly embedPairsPerSecond: number;
  readonly epochSeconds: number[];
  readonly steadyEpochSeconds: number;
  readonly peakRssMiB: number;
  readonly metrics: ClassificationMetrics;
  readonly backend: string;
}

/** Accuracy report result. */
export interface AccuracyResult {
  readonly maxLen: number;
  readonly epochs: number;
  readonly batchSize: number;
  readonly seed: number;
  readonly variants: AccuracyVariant[];
}

/**
 * MRPC test accuracy and F1 with MiniLM embeddings for three variants, same seed, epochs,
 * batch size and maxLen, TF.js default backend:
 * 1. max-length padding (simpair's default, parity with the recipe);
 * 2. dynamic padding (BERT on the batch's real length, zeros after each row's tokens), plain Bi-LSTM;
 * 3. the same embeddings with Masking(0) in front of the Bi-LSTM (`buildBiLstm`'s `maskPadding`).
 * Variant 1 trains into `ctx.modelDir` when no model exists yet.
 */
export async function runAccuracyStage(ctx: BenchContext): Promise<AccuracyResult> {
  const { trainRows, testRows, epochs } = ctx.sizes.accuracy;
  const plan = [
    { name: 'max-length padding (default)', padding: 'max-length', masked: false },
    { name: 'dynamic padding, unmasked', padding: 'dynamic', masked: false },
    { name: 'dynamic padding, masked', padding: 'dynamic', masked: true },
  ] as const;
  const variants: AccuracyVariant[] = [];
  for (const v of plan) {
    const stores = await ensureStores(ctx, v.padding, trainRows, testRows);
    note(`accuracy: ${v.name}: training ${stores.train.rows} rows x ${epochs} epochs`);
    const run = await trainInChild(ctx, stores, { backend: process.env.SIMPAIR_TF_BACKEND ?? 'wasm', epochs, variant: v.masked ? 'masked' : 'plain', label: `accuracy ${v.padding}${v.masked ? ' masked' : ''}` });
    const embedded = stores.train.rows + stores.test.rows;
    variants.push({
      name: v.name,
      padding: v.padding,
      masked: v.masked,
      trainRows: run.trainRows,
      testRows: stores.test.rows,
      embedPairsPerSecond: embedded / (stores.train.seconds + stores.test.seconds),
      epochSeconds: run.epochSeconds,
      steadyEpochSeconds: steadyEpochSeconds(run.epochSeconds),
      peakRssMiB: run.peakRssMiB,
      metrics: run.metrics,
      backend: run.backend,
    });
    note(`accuracy: ${v.name}: accuracy ${run.metrics.accuracy.toFixed(4)}, f1 ${run.metrics.f1.toFixed(4)}`);
  }
  return { maxLen: ctx.sizes.maxLen, epochs, batchSize: ctx.sizes.batchSize, seed: ctx.sizes.seed, variants };
}
