import { join } from 'node:path';
import { runTsChild } from '../lib/child.ts';
import type { BenchContext } from '../lib/context.ts';
import { ensureStores, type StoreSet } from '../lib/embedding-stores.ts';
import { note } from '../lib/log.ts';
import type { TrainChildResult } from './train-child.ts';

/** Training on one backend, or why that backend could not be used. */
export type BackendTraining = { readonly backend: string; readonly ok: true; readonly run: TrainChildResult } | { readonly backend: string; readonly ok: false; readonly error: string };

/** Training stage result. */
export interface TrainingResult {
  readonly rows: number;
  readonly epochs: number;
  readonly backends: BackendTraining[];
}

/** Runs the training child on `stores` with one backend; returns its JSON result. */
export function trainInChild(
  ctx: BenchContext,
  stores: StoreSet,
  options: { backend: string; epochs: number; variant?: 'plain' | 'masked'; saveModel?: string; nodeArgs?: string[]; label?: string },
): Promise<TrainChildResult> {
  const { sizes } = ctx;
  const args = [
    '--train', stores.train.dir,
    '--test', stores.test.dir,
    '--backend', options.backend,
    '--epochs', String(options.epochs),
    '--batch-size', String(sizes.batchSize),
    '--seed', String(sizes.seed),
    '--validation-split', String(sizes.validationSplit),
    '--variant', options.variant ?? 'plain',
    ...(options.saveModel ? ['--save-model', options.saveModel, '--embedding-model', stores.modelDir] : []),
  ];
  return runTsChild<TrainChildResult>(ctx.root, 'bench/stages/train-child.ts', args, {
    nodeArgs: options.nodeArgs,
    label: options.label ?? `train ${options.backend}`,
  });
}

/** Makes sure a trained simpair model directory exists (for prediction and interop). */
export async function ensureModelDir(ctx: BenchContext): Promise<string> {
  if (ctx.modelDir) return ctx.modelDir;
  const { training } = ctx.sizes;
  const stores = await ensureStores(ctx, 'max-length', training.rows, training.testRows);
  const dir = join(ctx.workDir, 'model');
  note(`training a model for prediction (${training.rows} rows, wasm) into ${dir}`);
  await trainInChild(ctx, stores, { backend: 'wasm', epochs: training.epochs, saveModel: dir });
  ctx.modelDir = dir;
  return dir;
}

/**
 * Seconds per epoch and peak RSS of `trainClassifier` (fitDataset streaming safetensors
 * shards) on MRPC embeddings (MiniLM, maxLen 64, max-length padding), one child process per
 * TF.js backend. A backend that cannot be loaded here is reported with the reason.
 */
export async function runTrainingStage(ctx: BenchContext): Promise<TrainingResult> {
  const { training } = ctx.sizes;
  const stores = await ensureStores(ctx, 'max-length', training.rows, training.testRows);
  const backends: BackendTraining[] = [];
  for (const backend of ['node', ...training.backends]) {
    const saveModel = backend === 'wasm' && !ctx.modelDir ? join(ctx.workDir, 'model') : undefined;
    note(`training on backend ${backend}: ${training.rows} rows x ${training.epochs} epochs`);
    try {
      const run = await trainInChild(ctx, stores, { backend, epochs: training.epochs, saveModel });
      if (saveModel) ctx.modelDir = saveModel;
      backends.push({ backend, ok: true, run });
    } catch (err) {
      const message = (err as Error).message;
      const reason = /could not be used: ([^\n]*)/.exec(message)?.[1] ?? message.split('\n').slice(-3).join(' ');
      note(`backend ${backend} unavailable: ${reason.slice(0, 200)}`);
      backends.push({ backend, ok: false, error: reason.slice(0, 300) });
    }
  }
  return { rows: training.rows, epochs: training.epochs, backends };
}
