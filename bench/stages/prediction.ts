import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { BenchContext } from '../lib/context.ts';
import { note } from '../lib/log.ts';
import { loadMrpc } from '../lib/mrpc.ts';
import { percentile } from '../lib/stats.ts';
import { ensureModelDir } from './training.ts';

/** Prediction stage result (milliseconds). */
export interface PredictionResult {
  readonly modelDir: string;
  readonly coldStartMs: number[];
  readonly warmRequests: number;
  readonly warm: { readonly p50: number; readonly p95: number; readonly p99: number; readonly mean: number; readonly max: number };
  readonly serverPeakRssMiB?: number;
  /** The same figures for the TF.js fallback (the model without classifier.onnx). */
  readonly tfjsFallback?: PathFigures;
}

interface Served {
  readonly child: ChildProcess;
  readonly port: number;
  readonly spawnedAt: number;
}

const execFileAsync = promisify(execFile);

/** Starts `simpair serve --model-dir DIR --port 0` and resolves with the port it prints. */
function startServer(root: string, modelDir: string): Promise<Served> {
  const spawnedAt = performance.now();
  const child = spawn(process.execPath, [join(root, 'bin/simpair.js'), 'serve', '--model-dir', modelDir, '--port', '0', '--host', '127.0.0.1'], {
    cwd: root,
    env: { ...process.env, SIMPAIR_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return new Promise<Served>((resolve, reject) => {
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`simpair serve did not start within 120 s; stderr:\n${stderr}`));
    }, 120_000);
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = /serving .* on http:\/\/127\.0\.0\.1:(\d+)/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]), spawnedAt });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`simpair serve exited with ${code} before serving; stderr:\n${stderr}`));
    });
  });
}

/** Stops the server: SIGTERM, then SIGKILL after 5 s. */
function stopServer(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

async function predictOnce(port: number, sentence1: string, sentence2: string): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`http://127.0.0.1:${port}/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ pairs: [{ sentence1, sentence2 }] }),
  });
  const body = (await res.json()) as { predictions?: { probability: number }[] };
  if (res.status !== 200 || body.predictions?.length !== 1) throw new Error(`POST /predict answered ${res.status}: ${JSON.stringify(body).slice(0, 200)}`);
  return performance.now() - t0;
}

async function peakRssOf(pid: number | undefined): Promise<number | undefined> {
  if (pid === undefined) return undefined;
  try {
    const { readFile } = await import('node:fs/promises');
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
    return kb ? Number(kb) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Latency and cold start of one prediction path. */
export interface PathFigures {
  readonly coldStartMs: number[];
  readonly warm: { readonly p50: number; readonly p95: number; readonly p99: number; readonly mean: number; readonly max: number };
  readonly serverPeakRssMiB?: number;
}

/** Cold starts and warm latency of `simpair serve` on one model directory. */
async function measurePath(ctx: BenchContext, modelDir: string, label: string, pairs: { sentence1: string; sentence2: string }[]): Promise<PathFigures> {
  const { coldStarts, warmRequests } = ctx.sizes.prediction;
  const coldStartMs: number[] = [];
  const latencies: number[] = [];
  let serverPeakRssMiB: number | undefined;
  for (let run = 0; run < coldStarts; run++) {
    const served = await startServer(ctx.root, modelDir);
    try {
      await predictOnce(served.port, pairs[0].sentence1, pairs[0].sentence2);
      coldStartMs.push(performance.now() - served.spawnedAt);
      note(`serve (${label}) cold start ${run + 1}/${coldStarts}: ${coldStartMs.at(-1)!.toFixed(0)} ms`);
      if (run === coldStarts - 1) {
        for (let i = 1; i <= 5; i++) await predictOnce(served.port, pairs[i].sentence1, pairs[i].sentence2);
        for (let i = 0; i < warmRequests; i++) {
          const p = pairs[(i + 6) % pairs.length];
          latencies.push(await predictOnce(served.port, p.sentence1, p.sentence2));
        }
        serverPeakRssMiB = await peakRssOf(served.child.pid);
        note(`serve (${label}) warm: ${warmRequests} requests, p50 ${percentile(latencies, 50).toFixed(1)} ms`);
      }
    } finally {
      await stopServer(served.child);
    }
  }
  return {
    coldStartMs,
    warm: {
      p50: percentile(latencies, 50),
      p95: percentile(latencies, 95),
      p99: percentile(latencies, 99),
      mean: latencies.reduce((a, b) => a + b, 0) / latencies.length,
      max: Math.max(...latencies),
    },
    ...(serverPeakRssMiB !== undefined ? { serverPeakRssMiB } : {}),
  };
}

/**
 * `simpair serve --model-dir` as a child on 127.0.0.1 and a free port: cold start (spawn to
 * the first 200 from POST /predict, `coldStarts` times) and warm latency of one pair per
 * request (`warmRequests` sequential requests over MRPC test pairs after 5 warm-ups). Measured
 * twice: the model as `simpair run` writes it (classifier.onnx: ONNX Runtime only) and a copy
 * without classifier.onnx (the TF.js fallback of older models).
 */
export async function runPredictionStage(ctx: BenchContext): Promise<PredictionResult> {
  const modelDir = await ensureModelDir(ctx);
  const pairs = (await loadMrpc('test')).rows;
  if (!existsSync(join(modelDir, 'classifier.onnx'))) {
    // A model trained before simpair wrote classifier.onnx: export it, as simpair export would.
    await execFileAsync(process.execPath, [join(ctx.root, 'bin/simpair.js'), 'export', '--model-dir', modelDir], { cwd: ctx.root });
  }
  const tfjsDir = `${modelDir}-tfjs-only`;
  await rm(tfjsDir, { recursive: true, force: true });
  await cp(modelDir, tfjsDir, { recursive: true, filter: (src) => !/(classifier|pipeline)\.onnx$/.test(src) });
  try {
    const onnx = await measurePath(ctx, modelDir, 'ONNX Runtime', pairs);
    const tfjs = await measurePath(ctx, tfjsDir, 'TF.js fallback', pairs);
    return { modelDir, warmRequests: ctx.sizes.prediction.warmRequests, ...onnx, tfjsFallback: tfjs };
  } finally {
    await rm(tfjsDir, { recursive: true, force: true });
  }
}
