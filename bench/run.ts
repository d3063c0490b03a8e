/**
 * simpair's bench: speed, memory and accuracy of every stage, side by side with the Python
 * recipe. `npm run bench -- --quick` (< 5 min on 2 cores) or `npm run bench` (full).
 * Prints a Markdown table on stdout, progress on stderr, and writes
 * bench/results/<timestamp>-<mode>.json. See bench/README.md.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { HEAD_VARIANTS, SIZES, type BenchMode, type BenchSizes } from './lib/config.ts';
import { renderTable, type BenchContext } from './lib/context.ts';
import { buildFigures } from './lib/figures.ts';
import { note } from './lib/log.ts';
import { cpuSnapshot, machineInfo, otherCpuLoad } from './lib/machine.ts';
import { findReferencePython } from './lib/python.ts';
import { runAccuracyStage } from './stages/accuracy.ts';
import { runDatapathStage } from './stages/datapath.ts';
import { runEmbeddingStage } from './stages/embedding.ts';
import { renderHeadsTable, runHeadsStage, type HeadsResult } from './stages/heads.ts';
import { runInteropStage } from './stages/interop.ts';
import { runPredictionStage } from './stages/prediction.ts';
import { runProfileStage } from './stages/profile.ts';
import { runReferenceStage } from './stages/reference.ts';
import { runServingStage } from './stages/serving.ts';
import { runSizesStage } from './stages/sizes.ts';
import { runTokenizerStage } from './stages/tokenizer.ts';
import { pathLabel, runTrainingStage } from './stages/training.ts';
import { runTrainingMemoryStage } from './stages/training-memory.ts';

const STAGES = ['tokenizer', 'embedding', 'training', 'memory', 'datapath', 'accuracy', 'heads', 'reference', 'prediction', 'interop', 'sizes', 'serving', 'profile'] as const;
type Stage = (typeof STAGES)[number];
const DEFAULT_STAGES: Record<BenchMode, readonly Stage[]> = {
  quick: ['tokenizer', 'embedding', 'training', 'memory', 'datapath', 'reference', 'prediction', 'interop', 'sizes', 'serving'],
  full: STAGES,
};

const USAGE = `Usage: npm run bench -- [--quick] [--only STAGE[,STAGE...]] [--no-reference] [--keep-work]

  --quick         small sizes, under 5 minutes on 2 cores (default: full mode)
  --only LIST     run only these stages: ${STAGES.join(', ')}
  --no-reference  do not run the Python reference (bench/reference/reference.py)
  --keep-work     keep the temporary directory (embedding stores, model, profiles)
  --heads-seeds LIST     heads stage: these seeds instead of the mode's (e.g. 1,2,3,4)
  --heads-variants LIST  heads stage: only these variants (names of HEAD_VARIANTS in
                         bench/lib/config.ts, plus "keras" for the Keras recipe)
  --training-paths LIST  training stage: only these paths, by label (e.g. "keras,tensorflow fused,wasm fused")
  --training-rounds N    training stage: N alternating rounds (ratios on a noisy machine)
  --training-epochs N    training stage: epochs per run (the first is excluded from s/epoch)

The reference runs with SIMPAIR_REF_PYTHON or .venv-ref/bin/python (scripts/bench-python-setup.sh).`;

function parseCli(): { mode: BenchMode; stages: Stage[]; reference: boolean; keepWork: boolean; heads: BenchContext['heads']; training: BenchSizes['training'] } {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      'no-reference': { type: 'boolean', default: false },
      'keep-work': { type: 'boolean', default: false },
      'heads-seeds': { type: 'string' },
      'heads-variants': { type: 'string' },
      'training-paths': { type: 'string' },
      'training-rounds': { type: 'string' },
      'training-epochs': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    process.exit(0);
  }
  const mode: BenchMode = values.quick ? 'quick' : 'full';
  let stages = [...DEFAULT_STAGES[mode]];
  if (values.only) {
    const asked = values.only.split(',').map((s) => s.trim()).filter(Boolean);
    const unknown = asked.filter((s) => !(STAGES as readonly string[]).includes(s));
    if (unknown.length) {
      process.stderr.write(`bench: unknown stage(s) ${unknown.join(', ')}; stages are ${STAGES.join(', ')}.\n`);
      process.exit(2);
    }
    stages = STAGES.filter((s) => asked.includes(s));
  }
  const list = (v: string | undefined) => v?.split(',').map((x) => x.trim()).filter(Boolean);
  const seeds = list(values['heads-seeds'])?.map(Number);
  if (seeds?.some((n) => !Number.isInteger(n))) {
    process.stderr.write(`bench: --heads-seeds takes integers separated by commas, got "${values['heads-seeds']}".\n`);
    process.exit(2);
  }
  const variants = list(values['heads-variants']);
  const known = [...HEAD_VARIANTS.map((v) => v.name), 'keras'];
  const unknownVariants = variants?.filter((v) => !known.includes(v)) ?? [];
  if (unknownVariants.length) {
    process.stderr.write(`bench: unknown heads variant(s) ${unknownVariants.join(', ')}; variants are ${known.join(', ')}.\n`);
    process.exit(2);
  }
  const trainingPaths = list(values['training-paths']);
  const all = SIZES[mode].training.paths;
  const unknownPaths = trainingPaths?.filter((p) => !all.some((x) => pathLabel(x) === p)) ?? [];
  const count = (name: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) {
      process.stderr.write(`bench: --${name} takes a whole number >= 1, got "${v}".\n`);
      process.exit(2);
    }
    return n;
  };
  if (unknownPaths.length) {
    process.stderr.write(`bench: unknown training path(s) ${unknownPaths.join(', ')}; paths are ${all.map(pathLabel).join(', ')}.\n`);
    process.exit(2);
  }
  const t = SIZES[mode].training;
  const training = {
    ...t,
    ...(trainingPaths ? { paths: all.filter((x) => trainingPaths.includes(pathLabel(x))) } : {}),
    rounds: count('training-rounds', values['training-rounds']) ?? t.rounds,
    epochs: count('training-epochs', values['training-epochs']) ?? t.epochs,
  };
  return { mode, stages, reference: !values['no-reference'], keepWork: values['keep-work'], heads: { seeds, variants }, training };
}

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cli = parseCli();
const started = new Date();
const loadAtStart = loadavg();
const cpuAtStart = cpuSnapshot();
const otherLoadByStage: Record<string, number | undefined> = {};
const workDir = await mkdtemp(join(tmpdir(), 'simpair-bench-'));
const refPython = cli.reference ? await findReferencePython(root) : undefined;
const ctx: BenchContext = { root, mode: cli.mode, sizes: { ...SIZES[cli.mode], training: cli.training }, workDir, refPython, figures: [], results: {}, stores: new Map(), heads: cli.heads };
note(`mode ${cli.mode}; stages ${cli.stages.join(', ')}; work dir ${workDir}; reference python ${refPython ?? 'none'}`);

const failures: string[] = [];
async function stage(name: Stage, fn: () => Promise<unknown>): Promise<void> {
  if (!cli.stages.includes(name)) return;
  const t0 = performance.now();
  const cpu0 = cpuSnapshot();
  note(`stage ${name}: start`);
  try {
    ctx.results[name] = await fn();
  } catch (err) {
    failures.push(name);
    ctx.results[name] = { error: (err as Error).message };
    note(`stage ${name} FAILED: ${(err as Error).stack ?? err}`);
  }
  const other = otherCpuLoad(cpu0, cpuSnapshot());
  otherLoadByStage[name] = other;
  note(`stage ${name}: ${((performance.now() - t0) / 1000).toFixed(1)} s${other !== undefined ? `; other processes used ${other.toFixed(2)} cores meanwhile` : ''}`);
}

try {
  await stage('tokenizer', () => runTokenizerStage(ctx));
  await stage('embedding', () => runEmbeddingStage(ctx));
  await stage('training', () => runTrainingStage(ctx));
  await stage('memory', () => runTrainingMemoryStage(ctx));
  await stage('datapath', () => runDatapathStage(ctx));
  await stage('accuracy', () => runAccuracyStage(ctx));
  await stage('heads', () => runHeadsStage(ctx));
  await stage('reference', () => runReferenceStage(ctx));
  if (cli.stages.includes('accuracy') && !cli.stages.includes('reference') && ctx.refPython) {
    // The accuracy report alone still needs the recipe's accuracy (not its throughput figures).
    cli.stages.push('reference');
    await stage('reference', () => runReferenceStage(ctx, { skipSpeed: true }));
  }
  await stage('prediction', () => runPredictionStage(ctx));
  await stage('interop', () => runInteropStage(ctx));
  await stage('sizes', () => runSizesStage(ctx));
  await stage('serving', () => runServingStage(ctx));
  await stage('profile', () => runProfileStage(ctx));
} finally {
  if (!cli.keepWork) await rm(workDir, { recursive: true, force: true });
  else note(`kept work dir ${workDir}`);
}

const figures = buildFigures(ctx);
const otherCores = otherCpuLoad(cpuAtStart, cpuSnapshot());
const seconds = (Date.now() - started.getTime()) / 1000;
const machine = machineInfo(root);
const table = renderTable(figures);
process.stdout.write(
  `\nsimpair bench, ${cli.mode} mode, ${started.toISOString()}, ${seconds.toFixed(0)} s\n` +
    `${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}, onnxruntime-node ${machine.packages['onnxruntime-node']}, tfjs ${machine.packages['@tensorflow/tfjs-core']}\n` +
    (otherCores !== undefined ? `other processes kept ${otherCores.toFixed(2)} of ${machine.cores} cores busy on average during the run${otherCores > 0.2 ? ' (figures are slower than on an idle machine)' : ''}\n` : '') +
    '\n' +
    table,
);
const heads = ctx.results.heads as HeadsResult | { error: string } | undefined;
if (heads && !('error' in heads)) process.stdout.write(`\n### Accuracy by head (issue 11)\n\n${renderHeadsTable(heads)}`);
const resultsDir = join(root, 'bench/results');
await mkdir(resultsDir, { recursive: true });
const file = join(resultsDir, `${started.toISOString().replace(/[:.]/g, '-')}-${cli.mode}.json`);
const sizes = JSON.parse(JSON.stringify(ctx.sizes, (_k, v) => (v === Number.POSITIVE_INFINITY ? 'all' : v)));
await writeFile(file, JSON.stringify({ mode: cli.mode, startedAt: started.toISOString(), seconds, stages: cli.stages, failures, machine, loadAverage: { atStart: loadAtStart, atEnd: loadavg() }, otherProcessesCores: { run: otherCores, byStage: otherLoadByStage }, sizes, results: ctx.results, figures }, null, 2) + '\n');
note(`results written to ${file}`);
if (failures.length) {
  note(`failed stages: ${failures.join(', ')}`);
  process.exitCode = 1;
}
