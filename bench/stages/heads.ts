import type { EncoderBaselineRecord } from '../../src/pipeline/encoder-baseline.ts';
import { HEAD_VARIANTS, type HeadVariant } from '../lib/config.ts';
import type { BenchContext } from '../lib/context.ts';
import { ensureStores, type StoreSet } from '../lib/embedding-stores.ts';
import { note } from '../lib/log.ts';
import { loadMrpc } from '../lib/mrpc.ts';
import { runPythonJson } from '../lib/python.ts';
import { spread, steadyEpochSeconds, type Spread } from '../lib/stats.ts';
import { trainInChild, type KerasTraining } from './training.ts';

/** The three figures of every row of the heads table. */
export interface HeadFigures {
  readonly accuracy: number;
  readonly f1: number;
  readonly rocAuc: number | null;
}

/** One training run of a variant (TF.js) or of the Keras recipe, with one seed. */
export interface HeadRun extends HeadFigures {
  readonly seed: number;
  readonly epochSeconds: number[];
  /** TF.js: the LSTM path that ran (e.g. fused-tensorflow); Keras: `keras`. */
  readonly path: string;
  readonly history: unknown;
}

/** A variant's runs over the seeds and their spread. */
export interface HeadRows {
  readonly name: string;
  /** simpair (TF.js) or the Python reference (Keras on the same embeddings). */
  readonly side: 'simpair' | 'keras';
  readonly options: Omit<HeadVariant, 'name' | 'classWeight'> & { readonly classWeight?: { 0: number; 1: number } };
  readonly runs: HeadRun[];
  readonly accuracy: Spread;
  readonly f1: Spread;
  readonly rocAuc: Spread;
  readonly steadyEpochSeconds: Spread;
}

/** What bench/reference/pooled_probe.py prints. */
export interface PooledProbeResult {
  readonly sklearn: string;
  readonly trainRows: number;
  readonly testRows: number;
  readonly probes: (HeadFigures & { readonly name: string; readonly C: number; readonly trainAccuracy: number; readonly seconds: number })[];
}

/** Heads stage result. */
export interface HeadsResult {
  readonly trainRows: number;
  readonly testRows: number;
  readonly epochs: number;
  readonly batchSize: number;
  readonly maxLen: number;
  readonly seeds: readonly number[];
  readonly validationSplit: number;
  /** The TF.js backend the children ran on. */
  readonly backend: string;
  readonly rows: HeadRows[];
  /** Cosine of the stored pooled vectors, threshold tuned on the train rows (deterministic). */
  readonly encoderBaseline: EncoderBaselineRecord;
  readonly probe: PooledProbeResult | { readonly skipped: string };
  readonly embedSeconds: { readonly pooled: number; readonly train: number; readonly test: number };
}

/** scikit-learn's 'balanced' weights over the training rows, as `simpair run --class-weight balanced`. */
function balancedWeights(labels: readonly number[]): { 0: number; 1: number } {
  const positives = labels.filter((l) => l === 1).length;
  return { 0: labels.length / (2 * (labels.length - positives)), 1: labels.length / (2 * positives) };
}

function rowsOf(name: string, side: HeadRows['side'], options: HeadRows['options'], runs: HeadRun[]): HeadRows {
  return {
    name,
    side,
    options,
    runs,
    accuracy: spread(runs.map((r) => r.accuracy)),
    f1: spread(runs.map((r) => r.f1)),
    rocAuc: spread(runs.flatMap((r) => (r.rocAuc === null ? [] : [r.rocAuc]))),
    steadyEpochSeconds: spread(runs.map((r) => steadyEpochSeconds(r.epochSeconds))),
  };
}

/**
 * Issue 11's side-by-side table on MRPC (MiniLM, the bench's maxLen): every variant of
 * HEAD_VARIANTS (the recipe, the recipe regularised, the pooled head) trained by simpair once
 * per seed, the recipe in Keras on the same embeddings once per seed, the encoder baseline
 * (cosine of the stored pooled vectors, deterministic) and a logistic-regression probe on those
 * vectors (a cheap ceiling of frozen sentence features). One embedding pass for everything:
 * one store set with the pooled vectors beside the tokens. Train rows only for training,
 * validation and threshold tuning; figures on MRPC test.
 */
export async function runHeadsStage(ctx: BenchContext): Promise<HeadsResult> {
  const { trainRows, testRows, epochs } = ctx.sizes.heads;
  const seeds = ctx.heads?.seeds ?? ctx.sizes.heads.seeds;
  const picked = (name: string) => !ctx.heads?.variants || ctx.heads.variants.includes(name);
  const stores = await ensureStores(ctx, 'max-length', trainRows, testRows, { pooled: true });
  const baseline = stores.encoderBaseline!;
  note(`heads: encoder baseline accuracy ${('accuracy' in baseline ? baseline.accuracy : NaN).toFixed(4)}, ROC-AUC ${baseline.rocAuc?.toFixed(4)}`);
  const trainLabels = (await loadMrpc('train')).rows.slice(0, stores.train.rows).map((r) => r.label);
  const variants = HEAD_VARIANTS.filter((v) => picked(v.name)).map(({ name, classWeight, ...rest }) => ({ name, options: { ...rest, ...(classWeight === 'balanced' ? { classWeight: balancedWeights(trainLabels) } : {}) } }));
  const backend = process.env.SIMPAIR_TF_BACKEND ?? 'auto';
  const runs = new Map<string, HeadRun[]>(variants.map((v) => [v.name, []]));
  const keras: HeadRun[] = [];
  let kerasSkipped: string | undefined = !picked('keras') ? 'not asked (--heads-variants)' : ctx.refPython ? undefined : 'no Python reference (.venv-ref or SIMPAIR_REF_PYTHON)';
  let backendRan = backend;
  // Seed by seed, every variant within a seed: a change in the machine's load spreads over all variants.
  for (const seed of seeds) {
    for (const v of variants) {
      note(`heads: ${v.name}, seed ${seed}: ${stores.train.rows} rows x ${epochs} epochs`);
      const run = await trainInChild(ctx, stores, { backend, epochs, seed, classifier: v.options, label: `heads ${v.name} s${seed}` });
      backendRan = run.backend;
      const m = run.metrics;
      runs.get(v.name)!.push({ seed, accuracy: m.accuracy, f1: m.f1, rocAuc: m.rocAuc, epochSeconds: run.epochSeconds, path: run.lstmPath, history: run.history });
      note(`heads: ${v.name}, seed ${seed}: accuracy ${m.accuracy.toFixed(4)}, F1 ${m.f1.toFixed(4)}, ROC-AUC ${m.rocAuc?.toFixed(4)} (${run.lstmPath})`);
    }
    if (!kerasSkipped) {
      try {
        keras.push(await kerasRecipe(ctx, stores, epochs, seed));
      } catch (err) {
        kerasSkipped = (err as Error).message.split('\n').slice(-3).join(' ').slice(0, 300);
        note(`heads: Keras recipe failed: ${kerasSkipped}`);
      }
    }
  }
  const rows = variants.map((v) => rowsOf(v.name, 'simpair', v.options, runs.get(v.name)!));
  if (keras.length) rows.splice(1, 0, rowsOf('recipe (Keras, same embeddings)', 'keras', { head: 'recipe' }, keras));
  return {
    trainRows: stores.train.rows,
    testRows: stores.test.rows,
    epochs,
    batchSize: ctx.sizes.batchSize,
    maxLen: ctx.sizes.maxLen,
    seeds,
    validationSplit: ctx.sizes.validationSplit,
    backend: backendRan,
    rows,
    encoderBaseline: baseline,
    probe: await pooledProbe(ctx, stores),
    embedSeconds: { pooled: baseline.cost?.seconds ?? Number.NaN, train: stores.train.seconds, test: stores.test.seconds },
  };
}

/** The recipe in tf-keras on the same stores (bench/reference/keras_train.py), one seed. */
async function kerasRecipe(ctx: BenchContext, stores: StoreSet, epochs: number, seed: number): Promise<HeadRun> {
  const args = ['--train', stores.train.dir, '--test', stores.test.dir, '--epochs', String(epochs), '--batch-size', String(ctx.sizes.batchSize), '--seed', String(seed), '--validation-split', String(ctx.sizes.validationSplit)];
  note(`heads: recipe in Keras, seed ${seed}`);
  const run = await runPythonJson<KerasTraining & { history: unknown }>(ctx.refPython!, ctx.root, 'bench/reference/keras_train.py', args, `heads keras s${seed}`);
  note(`heads: Keras recipe, seed ${seed}: accuracy ${run.accuracy.toFixed(4)}, F1 ${run.f1.toFixed(4)}, ROC-AUC ${run.rocAuc?.toFixed(4)}`);
  return { seed, accuracy: run.accuracy, f1: run.f1, rocAuc: run.rocAuc, epochSeconds: run.epochSeconds, path: 'keras', history: run.history };
}

/** Logistic regression on the stored pooled vectors (bench/reference/pooled_probe.py). */
async function pooledProbe(ctx: BenchContext, stores: StoreSet): Promise<HeadsResult['probe']> {
  if (!ctx.refPython) return { skipped: 'no Python reference (.venv-ref or SIMPAIR_REF_PYTHON)' };
  note('heads: logistic-regression probe on the pooled vectors');
  try {
    return await runPythonJson<PooledProbeResult>(ctx.refPython, ctx.root, 'bench/reference/pooled_probe.py', ['--train', stores.train.dir, '--test', stores.test.dir], 'heads probe');
  } catch (err) {
    return { skipped: (err as Error).message.split('\n').slice(-3).join(' ').slice(0, 300) };
  }
}

const pct = (x: number) => (100 * x).toFixed(1);
const three = (x: number) => x.toFixed(3);

/** `mean (min–max)` of a spread, or the single value. */
function cell(s: Spread, f: (x: number) => string): string {
  if (!(s.n > 0)) return '-';
  return s.n === 1 ? f(s.mean) : `${f(s.mean)} (${f(s.min)}–${f(s.max)})`;
}

/**
 * The side-by-side Markdown table of the heads stage: per row accuracy %, F1 and ROC-AUC as
 * `mean (min–max)` over the seeds, seconds per epoch, then the deterministic rows (encoder
 * baseline, probes) and the two goal checks of issue 11.
 */
export function renderHeadsTable(r: HeadsResult): string {
  // 'runs on': the LSTM path without useFusedLstm's per-layer reasons (kept in the JSON).
  const header = '| variant | accuracy % | F1 | ROC-AUC | s/epoch | runs on |\n|---|---|---|---|---|---|';
  const lines = r.rows.map((row) => `| ${row.name} | ${cell(row.accuracy, pct)} | ${cell(row.f1, three)} | ${cell(row.rocAuc, three)} | ${cell(row.steadyEpochSeconds, (x) => x.toFixed(1))} | ${[...new Set(row.runs.map((x) => x.path.replace(/ \(.*\)$/, '')))].join(', ')} |`);
  const b = r.encoderBaseline;
  if ('accuracy' in b) lines.push(`| encoder baseline: cosine of mean-pooled embeddings, threshold ${b.threshold.toFixed(4)} tuned on train | ${pct(b.accuracy)} | ${three(b.f1)} | ${b.rocAuc === null ? '-' : three(b.rocAuc)} | - | deterministic${b.cost ? `; pooling ${b.cost.seconds.toFixed(0)} s` : ''} |`);
  if ('probes' in r.probe) {
    for (const p of r.probe.probes) lines.push(`| probe: logistic regression on ${p.name} (C ${p.C} by 5-fold CV on train) | ${pct(p.accuracy)} | ${three(p.f1)} | ${p.rocAuc === null ? '-' : three(p.rocAuc)} | - | scikit-learn ${r.probe.sklearn}, deterministic |`);
  }
  const pooled = r.rows.find((row) => row.side === 'simpair' && row.options.head === 'pooled');
  const goals: string[] = [];
  if (pooled && 'accuracy' in b) {
    goals.push(`pooled head mean accuracy ${pct(pooled.accuracy.mean)} % vs goal 76.0 %: ${pooled.accuracy.mean >= 0.76 ? 'met' : 'not met'}`);
    const worse = pooled.runs.filter((x) => x.rocAuc !== null && b.rocAuc !== null && x.rocAuc < b.rocAuc);
    goals.push(`pooled head ROC-AUC below the cosine baseline's (${b.rocAuc === null ? '-' : three(b.rocAuc)}) in ${worse.length} of ${pooled.runs.length} seeds${worse.length ? ` (seeds ${worse.map((x) => x.seed).join(', ')})` : ''}`);
  }
  const recipe = r.rows.find((row) => row.name === 'recipe' && row.side === 'simpair');
  const keras = r.rows.find((row) => row.side === 'keras');
  if (recipe && keras) goals.push(`recipe vs Keras recipe: ${(100 * (recipe.accuracy.mean - keras.accuracy.mean)).toFixed(1)} points of mean accuracy (goal: within 1)`);
  return (
    `MRPC test (${r.testRows} pairs), trained on MRPC train (${r.trainRows} pairs, validation split ${r.validationSplit}), MiniLM, maxLen ${r.maxLen}, ${r.epochs} epochs, batch ${r.batchSize}, ` +
    `seeds ${r.seeds.join(', ')}: mean (min–max) over the seeds; TF.js backend ${r.backend}\n\n${header}\n${lines.join('\n')}\n\n${goals.map((g) => `- ${g}`).join('\n')}\n`
  );
}
