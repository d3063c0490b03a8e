/**
 * The GPU bench: on a machine with an NVIDIA GPU, trains the Bi-LSTM with tfjs-node-gpu (built by
 * `scripts/install-tensorflow-backend.sh --gpu`), checks in TensorFlow's own placement log that
 * the LSTM and matMul ops ran on the GPU, and reports seconds per epoch, op launches per training
 * step (each op is at least one kernel launch) and GPU utilisation (nvidia-smi sampled every
 * 200 ms); then Keras (bench/reference/keras_train.py, the recipe's Bi-LSTM: cuDNN on a GPU) on
 * the same embeddings, with TensorFlow finding the same CUDA libraries (LD_LIBRARY_PATH), when
 * the Python reference is there (.venv-ref or SIMPAIR_REF_PYTHON). Without a GPU it says so and
 * exits 0; `--allow-cpu` measures anyway (on the CPU), which is how the test exercises it here.
 * From a fresh clone: `bash bench/gpu.sh` (npm ci, the GPU backend, the Python reference, this).
 * Writes bench/results/gpu.json.
 *
 * node bin/run-ts.js bench/gpu.ts [--rows 2048] [--max-len 64] [--hidden 384] [--epochs 3]
 *   [--batch-size 32] [--allow-cpu] [--no-keras] [--out bench/results/gpu.json]
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { hasNativeAddon } from '../src/classifier/tf-backend.ts';
import { EPOCH_MARKER, STEP_MARKER, type GpuChildResult } from './lib/gpu-bench.ts';
import { findReferencePython, runPythonJson } from './lib/python.ts';
import type { KerasTraining } from './stages/training.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** What bench/gpu.ts writes (bench/results/gpu.json). */
export interface GpuBenchResult {
  readonly gpu: string | null;
  readonly child: GpuChildResult;
  /** Median seconds of the epochs after the first (the first when there is one). */
  readonly secondsPerEpoch: number;
  /** Median op launches of a training step, epochs after the first (TF_CPP_VMODULE=execute=1). */
  readonly opsPerStep: number;
  /** Op launches per device over the whole run. */
  readonly opsByDevice: Record<string, number>;
  /** The devices of the LSTM ops (BlockLSTM*, LSTMBlockCell*) and of the matMuls. */
  readonly placement: Record<string, string[]>;
  /** True when every LSTM and matMul op ran on a GPU. */
  readonly onGpu: boolean;
  readonly gpuUtilisation: Utilisation | null;
  /** Keras on the same store, or why it did not run. */
  readonly keras:
    | { readonly ok: true; readonly gpus: string[]; readonly tensorflow: string; readonly secondsPerEpoch: number; readonly gpuUtilisation: Utilisation | null; readonly simpairOverKeras: number }
    | { readonly ok: false; readonly reason: string };
}

/** nvidia-smi's utilization.gpu over a run. */
export interface Utilisation {
  readonly samples: number;
  readonly meanPercent: number;
  readonly maxPercent: number;
}

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '2048' },
    'max-len': { type: 'string', default: '64' },
    hidden: { type: 'string', default: '384' },
    epochs: { type: 'string', default: '3' },
    'batch-size': { type: 'string', default: '32' },
    'allow-cpu': { type: 'boolean', default: false },
    'no-keras': { type: 'boolean', default: false },
    out: { type: 'string', default: join(ROOT, 'bench', 'results', 'gpu.json') },
  },
});

function run(file: string, args: string[]): Promise<{ ok: boolean; stdout: string; reason: string }> {
  return new Promise((done) => {
    execFile(file, args, { timeout: 30_000 }, (err, stdout, stderr) => {
      done({ ok: !err, stdout, reason: err ? ((err as NodeJS.ErrnoException).code === 'ENOENT' ? `${file} not found` : `${stderr.trim() || err.message}`.split('\n')[0]) : '' });
    });
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// ---- 1. a GPU? ----------------------------------------------------------------------------
const smi = await run('nvidia-smi', ['--query-gpu=name,driver_version,memory.total', '--format=csv,noheader']);
const gpu = smi.ok && smi.stdout.trim() ? smi.stdout.trim().split('\n')[0] : null;
if (!gpu) {
  const reason = smi.ok ? 'nvidia-smi lists no device' : smi.reason;
  console.log(`gpu bench: no GPU (${reason}); nothing to measure${values['allow-cpu'] ? ' on a GPU: measuring on the CPU (--allow-cpu)' : ''}.`);
  if (!values['allow-cpu']) {
    console.log('On a machine with an NVIDIA GPU and its driver, run `bash bench/gpu.sh` from the repository root.');
    process.exit(0);
  }
} else {
  console.log(`gpu bench: ${gpu}`);
}

// ---- 2. the GPU backend and its CUDA libraries ------------------------------------------------
let packageDir: string;
try {
  packageDir = dirname(createRequire(join(ROOT, 'package.json')).resolve('@tensorflow/tfjs-node-gpu/package.json'));
} catch {
  throw new Error('@tensorflow/tfjs-node-gpu is not installed: run `bash scripts/install-tensorflow-backend.sh --gpu` first.');
}
if (!hasNativeAddon(packageDir)) throw new Error(`${packageDir} has no native addon: run \`bash scripts/install-tensorflow-backend.sh --gpu\` first.`);
const nvidia = join(packageDir, 'deps', 'nvidia');
const libDirs = existsSync(nvidia) ? readdirSync(nvidia).map((d) => join(nvidia, d, 'lib')).filter((d) => existsSync(d)) : [];
if (libDirs.length === 0) throw new Error(`${nvidia} holds no CUDA library: run \`bash scripts/install-tensorflow-backend.sh --gpu\` again.`);

/** Samples nvidia-smi's GPU utilisation every 200 ms until stopped (nothing without a GPU). */
function sampleUtilisation(): () => Utilisation | null {
  if (!gpu) return () => null;
  const samples: number[] = [];
  const smiLoop = spawn('nvidia-smi', ['--query-gpu=utilization.gpu', '--format=csv,noheader,nounits', '-lms', '200'], { stdio: ['ignore', 'pipe', 'ignore'] });
  createInterface({ input: smiLoop.stdout }).on('line', (l) => {
    const v = Number(l.trim().split('\n')[0]);
    if (l.trim() !== '' && Number.isFinite(v)) samples.push(v);
  });
  return () => {
    smiLoop.kill();
    return samples.length > 0 ? { samples: samples.length, meanPercent: samples.reduce((a, b) => a + b, 0) / samples.length, maxPercent: Math.max(...samples) } : null;
  };
}

// ---- 3. train in a child, reading TensorFlow's placement log ---------------------------------
const storeDir = mkdtempSync(join(tmpdir(), 'simpair-gpu-bench-'));
process.on('exit', () => rmSync(storeDir, { recursive: true, force: true }));
const ldLibraryPath = [...libDirs, ...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean)].join(':');
const stopSampling = sampleUtilisation();
const args = ['--store', storeDir, '--rows', values.rows!, '--max-len', values['max-len']!, '--hidden', values.hidden!, '--epochs', values.epochs!, '--batch-size', values['batch-size']!];
const child = spawn(process.execPath, [join(ROOT, 'bin', 'run-ts.js'), join(ROOT, 'bench', 'gpu-child.ts'), ...args], {
  cwd: ROOT,
  env: {
    ...process.env,
    SIMPAIR_TF_BACKEND: 'node-gpu',
    SIMPAIR_LOG_LEVEL: 'silent',
    LD_LIBRARY_PATH: ldLibraryPath,
    TF_CPP_MIN_LOG_LEVEL: '0',
    TF_CPP_VMODULE: 'execute=1',
  },
  stdio: ['ignore', 'pipe', 'pipe'],
});
let stdout = '';
child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
const opsByDevice: Record<string, number> = {};
const placement: Record<string, Set<string>> = {};
const stepOps: number[][] = [[]]; // per epoch, op launches of each training step
let sinceMarker = 0;
const tail: string[] = [];
const opLine = /Executing op (\S+) in device (\S+)/;
createInterface({ input: child.stderr! }).on('line', (line) => {
  const m = opLine.exec(line);
  if (m) {
    sinceMarker++;
    const device = m[2].replace(/^\/job:[^/]+\/replica:\d+\/task:\d+/, '');
    opsByDevice[device] = (opsByDevice[device] ?? 0) + 1;
    if (/lstm|matmul/i.test(m[1])) (placement[m[1]] ??= new Set()).add(device);
    return;
  }
  if (line.startsWith(STEP_MARKER)) {
    stepOps.at(-1)!.push(sinceMarker);
    sinceMarker = 0;
  } else if (line.startsWith(EPOCH_MARKER)) {
    const [, epoch, seconds] = line.slice(EPOCH_MARKER.length).split(' ');
    process.stderr.write(`  epoch ${epoch}: ${Number(seconds).toFixed(2)} s, ${median(stepOps.at(-1)!)} op launches per step\n`);
    stepOps.push([]);
    sinceMarker = 0;
  } else if (!/^I\d{4} /.test(line)) {
    tail.push(line);
    if (tail.length > 40) tail.shift();
  }
});
const code = await new Promise<number | null>((done) => child.on('close', done));
const simpairUtilisation = stopSampling();
if (code !== 0) throw new Error(`the training child failed (exit ${code}):\n${tail.join('\n')}`);
const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as GpuChildResult;

// ---- 4. Keras on the same store, finding the same CUDA libraries ----------------------------
const secondsPerEpoch = median(result.epochSeconds.length > 1 ? result.epochSeconds.slice(1) : result.epochSeconds);
async function runKeras(): Promise<GpuBenchResult['keras']> {
  if (values['no-keras']) return { ok: false, reason: '--no-keras' };
  const python = await findReferencePython(ROOT);
  if (!python) return { ok: false, reason: 'no Python reference (.venv-ref: bash scripts/bench-python-setup.sh, or SIMPAIR_REF_PYTHON)' };
  process.env.LD_LIBRARY_PATH = ldLibraryPath;
  process.stderr.write('  Keras (bench/reference/keras_train.py) on the same embeddings ...\n');
  const gpus = await new Promise<string[]>((done, fail) => {
    execFile(python, ['-c', 'import json, tensorflow as tf; print(json.dumps([d.name for d in tf.config.list_physical_devices("GPU")]))'], { env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' } }, (err, stdout, stderr) => {
      if (err) fail(new Error(`${python} could not import tensorflow: ${stderr.trim().split('\n').at(-1)}`));
      else done(JSON.parse(stdout.trim().split('\n').at(-1)!) as string[]);
    });
  });
  const stop = sampleUtilisation();
  const run = await runPythonJson<KerasTraining>(python, ROOT, 'bench/reference/keras_train.py', ['--train', storeDir, '--test', storeDir, '--epochs', values.epochs!, '--batch-size', values['batch-size']!, '--seed', '42', '--validation-split', '0.1'], 'keras (gpu bench)');
  const kerasSeconds = median(run.epochSeconds.length > 1 ? run.epochSeconds.slice(1) : run.epochSeconds);
  return { ok: true, gpus, tensorflow: run.tensorflow, secondsPerEpoch: kerasSeconds, gpuUtilisation: stop(), simpairOverKeras: secondsPerEpoch / kerasSeconds };
}
const keras = await runKeras().catch((err: Error) => ({ ok: false as const, reason: err.message.split('\n')[0] }));

// ---- 5. report ----------------------------------------------------------------------------------
const epochs = stepOps.filter((e) => e.length > 0);
const steady = epochs.length > 1 ? epochs.slice(1) : epochs;
const placed = Object.fromEntries(Object.entries(placement).map(([op, devices]) => [op, [...devices].sort()]));
const onGpu = Object.keys(placed).length > 0 && Object.values(placed).every((d) => d.every((x) => /GPU/i.test(x)));
const bench: GpuBenchResult = {
  gpu,
  child: result,
  secondsPerEpoch,
  opsPerStep: median(steady.flat()),
  opsByDevice,
  placement: placed,
  onGpu,
  gpuUtilisation: simpairUtilisation,
  keras,
};
const utilText = (u: Utilisation | null) => (u ? `${u.meanPercent.toFixed(0)} % mean, ${u.maxPercent} % max (${u.samples} samples)` : '-');
mkdirSync(dirname(values.out!), { recursive: true });
writeFileSync(values.out!, `${JSON.stringify(bench, null, 2)}\n`);
const k = keras.ok ? keras : undefined;
const lines = [
  `| | simpair (${result.package}, TensorFlow ${result.tfVersion}, ${result.lstmPath}) | Keras (tf-keras${k ? `, TensorFlow ${k.tensorflow}` : ''}) |`,
  '|---|---|---|',
  `| device | ${gpu ?? 'CPU (no GPU)'} | ${k ? (k.gpus.length > 0 ? k.gpus.join(', ') : 'CPU (TensorFlow sees no GPU)') : `not run: ${(keras as { reason: string }).reason}`} |`,
  `| s/epoch (${result.trainRows} rows, batch ${result.batchSize}) | ${bench.secondsPerEpoch.toFixed(2)} | ${k ? `${k.secondsPerEpoch.toFixed(2)} (simpair ${k.simpairOverKeras.toFixed(2)}x)` : '-'} |`,
  `| op launches per training step | ${bench.opsPerStep} | - |`,
  `| GPU utilisation | ${utilText(bench.gpuUtilisation)} | ${k ? utilText(k.gpuUtilisation) : '-'} |`,
  `| LSTM/matMul placement | ${Object.entries(placed).map(([op, d]) => `${op}: ${d.join(', ')}`).join('; ')} | - |`,
];
console.log(lines.join('\n'));
console.log(`written: ${values.out}`);
if (gpu && !onGpu) {
  console.error(`gpu bench: TensorFlow did not place every LSTM/matMul op on the GPU (above); check that it found the CUDA libraries (LD_LIBRARY_PATH, driver).`);
  process.exit(1);
}
