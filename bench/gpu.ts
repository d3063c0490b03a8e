/**
 * The GPU bench: on a machine with an NVIDIA GPU, trains the Bi-LSTM with tfjs-node-gpu (built by
 * `scripts/install-tensorflow-backend.sh --gpu`), checks in TensorFlow's own placement log that
 * the LSTM and matMul ops ran on the GPU, and reports seconds per epoch, op launches per training
 * step (each op is at least one kernel launch) and GPU utilisation (nvidia-smi sampled every
 * 200 ms). Without a GPU it says so and exits 0; `--allow-cpu` measures anyway (on the CPU), which
 * is how the test exercises it here. From a fresh clone: `bash bench/gpu.sh` (npm ci, the GPU
 * backend, this). Writes bench/results/gpu.json.
 *
 * node bin/run-ts.js bench/gpu.ts [--rows 2048] [--max-len 64] [--hidden 384] [--epochs 3]
 *   [--batch-size 32] [--allow-cpu] [--out bench/results/gpu.json]
 *
 * Not measured here: Keras (cuDNN) on the same embeddings, for the ratio (needs a Python
 * TensorFlow with the GPU libraries; the CPU comparison is `npm run bench -- --only training`).
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { hasNativeAddon } from '../src/classifier/tf-backend.ts';
import { EPOCH_MARKER, STEP_MARKER, type GpuChildResult } from './lib/gpu-bench.ts';

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
  readonly gpuUtilisation: { readonly samples: number; readonly meanPercent: number; readonly maxPercent: number } | null;
}

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '2048' },
    'max-len': { type: 'string', default: '64' },
    hidden: { type: 'string', default: '384' },
    epochs: { type: 'string', default: '3' },
    'batch-size': { type: 'string', default: '32' },
    'allow-cpu': { type: 'boolean', default: false },
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

// ---- 3. train in a child, reading TensorFlow's placement log ---------------------------------
const sampler = gpu ? spawn('nvidia-smi', ['--query-gpu=utilization.gpu', '--format=csv,noheader,nounits', '-lms', '200'], { stdio: ['ignore', 'pipe', 'ignore'] }) : undefined;
const utilisation: number[] = [];
if (sampler) createInterface({ input: sampler.stdout! }).on('line', (l) => Number.isFinite(Number(l.trim())) && l.trim() !== '' && utilisation.push(Number(l.trim())));

const args = ['--rows', values.rows!, '--max-len', values['max-len']!, '--hidden', values.hidden!, '--epochs', values.epochs!, '--batch-size', values['batch-size']!];
const child = spawn(process.execPath, [join(ROOT, 'bin', 'run-ts.js'), join(ROOT, 'bench', 'gpu-child.ts'), ...args], {
  cwd: ROOT,
  env: {
    ...process.env,
    SIMPAIR_TF_BACKEND: 'node-gpu',
    SIMPAIR_LOG_LEVEL: 'silent',
    LD_LIBRARY_PATH: [...libDirs, ...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean)].join(':'),
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
sampler?.kill();
if (code !== 0) throw new Error(`the training child failed (exit ${code}):\n${tail.join('\n')}`);
const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as GpuChildResult;

// ---- 4. report ----------------------------------------------------------------------------------
const epochs = stepOps.filter((e) => e.length > 0);
const steady = epochs.length > 1 ? epochs.slice(1) : epochs;
const placed = Object.fromEntries(Object.entries(placement).map(([op, devices]) => [op, [...devices].sort()]));
const onGpu = Object.keys(placed).length > 0 && Object.values(placed).every((d) => d.every((x) => /GPU/i.test(x)));
const bench: GpuBenchResult = {
  gpu,
  child: result,
  secondsPerEpoch: median(result.epochSeconds.length > 1 ? result.epochSeconds.slice(1) : result.epochSeconds),
  opsPerStep: median(steady.flat()),
  opsByDevice,
  placement: placed,
  onGpu,
  gpuUtilisation: utilisation.length > 0 ? { samples: utilisation.length, meanPercent: utilisation.reduce((a, b) => a + b, 0) / utilisation.length, maxPercent: Math.max(...utilisation) } : null,
};
mkdirSync(dirname(values.out!), { recursive: true });
writeFileSync(values.out!, `${JSON.stringify(bench, null, 2)}\n`);
const lines = [
  `| | simpair (${result.package}, TensorFlow ${result.tfVersion}, ${result.lstmPath}) |`,
  '|---|---|',
  `| device | ${gpu ?? 'CPU (no GPU)'} |`,
  `| s/epoch (${result.trainRows} rows, batch ${result.batchSize}) | ${bench.secondsPerEpoch.toFixed(2)} |`,
  `| op launches per training step | ${bench.opsPerStep} |`,
  `| GPU utilisation | ${bench.gpuUtilisation ? `${bench.gpuUtilisation.meanPercent.toFixed(0)} % mean, ${bench.gpuUtilisation.maxPercent} % max (${bench.gpuUtilisation.samples} samples)` : '-'} |`,
  `| LSTM/matMul placement | ${Object.entries(placed).map(([op, d]) => `${op}: ${d.join(', ')}`).join('; ')} |`,
];
console.log(lines.join('\n'));
console.log(`written: ${values.out}`);
if (gpu && !onGpu) {
  console.error(`gpu bench: TensorFlow did not place every LSTM/matMul op on the GPU (above); check that it found the CUDA libraries (LD_LIBRARY_PATH, driver).`);
  process.exit(1);
}
