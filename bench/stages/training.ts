import { join } from 'node:path';
import { runTsChild } from '../lib/child.ts';
import type { BenchContext } from '../lib/context.ts';
import { ensureStores, type StoreSet } from '../lib/embedding-stores.ts';
import { note } from '../lib/log.ts';
import { findReferencePython, runPythonJson } from '../lib/python.ts';
import type { TrainingPath } from '../lib/config.ts';
import type { TrainChildResult } from './train-child.ts';

/** Keras' figures on the same embeddings (bench/reference/keras_train.py). */
export interface KerasTraining {
  readonly epochSeconds: number[];
  readonly accuracy: number;
  readonly f1: number;
  readonly rocAuc: number | null;
  readonly peakRssMiB: number;
  readonly rssBeforeTrainingMiB: number;
  readonly tensorflow: string;
  readonly threads: { intra: number; inter: number };
}

/** One training path's run, or why it could not run. */
export type PathTraining =
  | { readonly label: string; readonly round: number; readonly ok: true; readonly kind: 'tfjs'; readonly lstm: 'fused' | 'layers'; readonly run: TrainChildResult }
  | { readonly label: string; readonly round: number; readonly ok: true; readonly kind: 'keras'; readonly run: KerasTraining }
  | { readonly label: string; readonly round: number; readonly ok: false; readonly error: string };

/** Training stage result. */
export interface TrainingResult {
  readonly rows: number;
  readonly testRows: number;
  readonly epochs: number;
  readonly runs: PathTraining[];
}

/** `keras`, `tensorflow fused`, `wasm layers`, ... */
export function pathLabel(path: TrainingPath): string {
  if (path.kind === 'keras') return 'keras';
  return `${path.backend === 'node' ? 'tensorflow' : path.backend} ${path.lstm}${path.backward ? ` (${path.backward} backward)` : ''}`;
}

/** Runs the training child on `stores` with one backend; returns its JSON result. */
export function trainInChild(
  ctx: BenchContext,
  stores: StoreSet,
  options: {
    backend: string;
    epochs: number;
    variant?: 'plain' | 'masked';
    lstm?: 'fused' | 'layers';
    /** The tensorflow path's backward pass (SIMPAIR_LSTM_BACKWARD). @default the device's */
    backward?: 'cell' | 'sequence' | 'generic';
    saveModel?: string;
    nodeArgs?: string[];
    label?: string;
    /** @default ctx.sizes.seed */
    seed?: number;
    /** The classifier's options beyond the recipe (see HeadVariant). @default the recipe */
    classifier?: { head?: 'recipe' | 'pooled'; dropout?: number; recurrentDropout?: number; classWeight?: { 0: number; 1: number } };
  },
): Promise<TrainChildResult> {
  const c = options.classifier ?? {};
  const { sizes } = ctx;
  const args = [
    '--train', stores.train.dir,
    '--test', stores.test.dir,
    '--backend', options.backend,
    '--epochs', String(options.epochs),
    '--batch-size', String(sizes.batchSize),
    '--seed', String(options.seed ?? sizes.seed),
    '--validation-split', String(sizes.validationSplit),
    '--variant', options.variant ?? 'plain',
    '--lstm', options.lstm ?? 'fused',
    ...(options.backward ? ['--lstm-backward', options.backward] : []),
    ...(c.head ? ['--head', c.head] : []),
    ...(c.dropout ? ['--dropout', String(c.dropout)] : []),
    ...(c.recurrentDropout ? ['--recurrent-dropout', String(c.recurrentDropout)] : []),
    ...(c.classWeight ? ['--class-weight', `${c.classWeight[0]},${c.classWeight[1]}`] : []),
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
 * Seconds per epoch, peak RSS and test accuracy of every training path on the SAME
 * embeddings (MRPC, MiniLM, maxLen 64, max-length padding): Keras (tf-keras, Python) and
 * trainClassifier per TF.js backend (tensorflow = tfjs-node, wasm, cpu) and LSTM path
 * (fused, layers), each in a process of its own, in alternating order over `rounds`.
 * A path that cannot run here (no tfjs-node, no Python reference) is listed with the reason.
 */
export async function runTrainingStage(ctx: BenchContext): Promise<TrainingResult> {
  const { training } = ctx.sizes;
  const stores = await ensureStores(ctx, 'max-length', training.rows, training.testRows);
  const python = await findReferencePython(ctx.root);
  const runs: PathTraining[] = [];
  for (let round = 0; round < training.rounds; round++) {
    for (const path of training.paths) {
      const label = pathLabel(path);
      note(`training ${label} (round ${round + 1}/${training.rounds}): ${stores.train.rows} rows x ${training.epochs} epochs`);
      try {
        if (path.kind === 'keras') {
          if (!python) throw new Error('no Python reference (.venv-ref, made by scripts/bench-python-setup.sh, or SIMPAIR_REF_PYTHON)');
          const args = ['--train', stores.train.dir, '--test', stores.test.dir, '--epochs', String(training.epochs), '--batch-size', String(ctx.sizes.batchSize), '--seed', String(ctx.sizes.seed), '--validation-split', String(ctx.sizes.validationSplit)];
          const run = await runPythonJson<KerasTraining>(python, ctx.root, 'bench/reference/keras_train.py', args, 'train keras');
          runs.push({ label, round, ok: true, kind: 'keras', run });
        } else {
          const saveModel = path.backend === 'wasm' && path.lstm === 'fused' && !ctx.modelDir ? join(ctx.workDir, 'model') : undefined;
          const run = await trainInChild(ctx, stores, { backend: path.backend, lstm: path.lstm, backward: path.backward, epochs: training.epochs, saveModel, label: `train ${label}` });
          if (saveModel) ctx.modelDir = saveModel;
          runs.push({ label, round, ok: true, kind: 'tfjs', lstm: path.lstm, run });
        }
      } catch (err) {
        const message = (err as Error).message;
        const reason = /could not be used: ([^\n]*)/.exec(message)?.[1] ?? message.split('\n').slice(-3).join(' ');
        note(`${label} unavailable: ${reason.slice(0, 200)}`);
        runs.push({ label, round, ok: false, error: reason.slice(0, 300) });
      }
    }
  }
  return { rows: stores.train.rows, testRows: stores.test.rows, epochs: training.epochs, runs };
}
