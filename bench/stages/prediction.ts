import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { runTsChild } from '../lib/child.ts';
import type { PredictionEncoder } from '../lib/config.ts';
import type { BenchContext } from '../lib/context.ts';
import { note } from '../lib/log.ts';
import { loadMrpc } from '../lib/mrpc.ts';
import { mean, percentile } from '../lib/stats.ts';
import type { PredictionModelChildResult } from './prediction-model-child.ts';
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
  /** Encoder x ONNX file, each on both paths (seeded random classifiers). */
  readonly grid: PredictionGridEntry[];
}

/** One configuration of the prediction grid: an encoder's ONNX file, old and new path. */
export interface PredictionGridEntry {
  /** The encoder's directory, relative to the repository (e.g. models/all-MiniLM-L6-v2). */
  readonly model: string;
  readonly dtype: 'float32' | 'int8';
  readonly maxLen: number;
  readonly hidden?: number;
  /** New path: classifier.onnx on ONNX Runtime, TF.js never loaded. */
  readonly onnx?: PathFigures;
  /** Old path: the same model without classifier.onnx (the TF.js classifier). */
  readonly tfjs?: PathFigures;
  /** Why the configuration did not run (missing files). */
  readonly skipped?: string;
}

interface Served {
  readonly child: ChildProcess;
  readonly port: number;
  readonly spawnedAt: number;
}

const execFileAsync = promisify(execFile);

/**
 * Starts `simpair serve --model-dir DIR --runtime R --port 0` and resolves with the port it
 * prints: runtime 'onnx' runs classifier.onnx, 'tfjs' the TF.js classifier (model.json).
 */
function startServer(root: string, modelDir: string, runtime: PathName): Promise<Served> {
  const spawnedAt = performance.now();
  const child = spawn(process.execPath, [join(root, 'bin/simpair.js'), 'serve', '--model-dir', modelDir, '--runtime', runtime, '--port', '0', '--host', '127.0.0.1'], {
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

/** The two prediction paths: classifier.onnx on ONNX Runtime (new) and the TF.js classifier (old). */
type PathName = 'onnx' | 'tfjs';

/** Requests one server answers in a row before the other takes its turn. */
const WARM_BLOCK = 10;

function figuresOf(coldStartMs: number[], latencies: number[], serverPeakRssMiB: number | undefined): PathFigures {
  return {
    coldStartMs,
    warm: { p50: percentile(latencies, 50), p95: percentile(latencies, 95), p99: percentile(latencies, 99), mean: mean(latencies), max: Math.max(...latencies) },
    ...(serverPeakRssMiB !== undefined ? { serverPeakRssMiB } : {}),
  };
}

/**
 * Cold starts and warm latency of `simpair serve` on both paths of one model, interleaved so
 * that the load of a shared machine falls on both alike: cold starts alternate (new, old,
 * then old, new, ...); the servers of the last cold starts stay up and answer the warm
 * requests in alternating blocks of {@link WARM_BLOCK} (one request at a time, the other
 * server idle). `firstPath` goes first in the first round.
 */
async function measurePaths(
  ctx: BenchContext,
  dirs: Record<PathName, string>,
  label: string,
  pairs: { sentence1: string; sentence2: string }[],
  firstPath: PathName = 'onnx',
): Promise<Record<PathName, PathFigures>> {
  const { coldStarts, warmRequests } = ctx.sizes.prediction;
  const names: Record<PathName, string> = { onnx: `${label}, new: ONNX Runtime`, tfjs: `${label}, old: TF.js` };
  const other = (path: PathName): PathName => (path === 'onnx' ? 'tfjs' : 'onnx');
  const orderOf = (round: number): PathName[] => (round % 2 === 0 ? [firstPath, other(firstPath)] : [other(firstPath), firstPath]);
  const cold: Record<PathName, number[]> = { onnx: [], tfjs: [] };
  const latencies: Record<PathName, number[]> = { onnx: [], tfjs: [] };
  const kept: Partial<Record<PathName, Served>> = {};
  try {
    for (let run = 0; run < coldStarts; run++) {
      for (const path of orderOf(run)) {
        const served = await startServer(ctx.root, dirs[path], path);
        try {
          await predictOnce(served.port, pairs[0].sentence1, pairs[0].sentence2);
          cold[path].push(performance.now() - served.spawnedAt);
          note(`serve (${names[path]}) cold start ${run + 1}/${coldStarts}: ${cold[path].at(-1)!.toFixed(0)} ms`);
        } finally {
          if (run === coldStarts - 1) kept[path] = served;
          else await stopServer(served.child);
        }
      }
    }
    for (const path of orderOf(0)) for (let i = 1; i <= 5; i++) await predictOnce(kept[path]!.port, pairs[i].sentence1, pairs[i].sentence2);
    for (let start = 0, block = 0; start < warmRequests; start += WARM_BLOCK, block++) {
      for (const path of orderOf(block)) {
        for (let i = start; i < Math.min(start + WARM_BLOCK, warmRequests); i++) {
          const p = pairs[(i + 6) % pairs.length];
          latencies[path].push(await predictOnce(kept[path]!.port, p.sentence1, p.sentence2));
        }
      }
    }
    const figures = {} as Record<PathName, PathFigures>;
    for (const path of orderOf(0)) {
      figures[path] = figuresOf(cold[path], latencies[path], await peakRssOf(kept[path]!.child.pid));
      note(`serve (${names[path]}) warm: ${warmRequests} requests, p50 ${figures[path].warm.p50.toFixed(1)} ms`);
    }
    return figures;
  } finally {
    for (const served of Object.values(kept)) await stopServer(served.child);
  }
}

/**
 * The model directory without its ONNX files: what an older model looks like. Served with
 * `--runtime tfjs` (the old path); `--runtime auto` would convert it to ONNX in memory.
 */
async function tfjsOnlyCopy(modelDir: string): Promise<string> {
  const tfjsDir = `${modelDir}-tfjs-only`;
  await rm(tfjsDir, { recursive: true, force: true });
  await cp(modelDir, tfjsDir, { recursive: true, filter: (src) => !/(classifier|pipeline)\.onnx$/.test(src) });
  return tfjsDir;
}

const DTYPE_OF = { 'onnx/model.onnx': 'float32', 'onnx/model_quantized.onnx': 'int8' } as const;

/**
 * Every encoder x ONNX file of the grid on both paths: a seeded random Bi-LSTM for the
 * encoder's hidden size and maxLen (prediction-model-child.ts), served with classifier.onnx
 * (new) and without it (old). The two paths of one configuration are measured interleaved
 * (see measurePaths), the path that starts alternating between configurations, so slow
 * phases of a shared machine do not fall on one path only.
 */
async function runGrid(ctx: BenchContext, pairs: { sentence1: string; sentence2: string }[]): Promise<PredictionGridEntry[]> {
  const { encoders, onnxFiles } = ctx.sizes.prediction;
  const grid: PredictionGridEntry[] = [];
  const dir = join(ctx.workDir, 'prediction-grid');
  await mkdir(dir, { recursive: true });
  let order = 0;
  for (const encoder of encoders) {
    for (const onnxFile of onnxFiles) {
      const dtype = DTYPE_OF[onnxFile];
      const base = { model: encoder.model, dtype, maxLen: encoder.maxLen };
      const missing = missingFiles(ctx, encoder, onnxFile);
      if (missing) {
        if (encoder.required || existsSync(join(ctx.root, encoder.model))) grid.push({ ...base, skipped: missing });
        note(`prediction grid: ${encoder.model} ${dtype} skipped: ${missing}`);
        continue;
      }
      const label = `${basename(encoder.model)} ${dtype} L${encoder.maxLen}`;
      const modelDir = join(dir, `${basename(encoder.model)}-${dtype}`);
      const made = await runTsChild<PredictionModelChildResult>(
        ctx.root,
        'bench/stages/prediction-model-child.ts',
        ['--encoder', encoder.model, '--max-len', String(encoder.maxLen), '--out', modelDir, ...(dtype === 'int8' ? ['--quantized'] : []), '--seed', String(ctx.sizes.seed)],
        { label: `model ${label}` },
      );
      const tfjsDir = await tfjsOnlyCopy(modelDir);
      try {
        const figures = await measurePaths(ctx, { onnx: modelDir, tfjs: tfjsDir }, label, pairs, order++ % 2 === 0 ? 'onnx' : 'tfjs');
        grid.push({ ...base, hidden: made.hidden, ...figures });
      } finally {
        await rm(tfjsDir, { recursive: true, force: true });
      }
    }
  }
  return grid;
}

/** What keeps one grid configuration from running, with the command that makes it; undefined when nothing. */
function missingFiles(ctx: BenchContext, encoder: PredictionEncoder, onnxFile: string): string | undefined {
  const dir = join(ctx.root, encoder.model);
  if (!existsSync(dir)) return `${encoder.model} missing: make it with the model scripts (bench/README.md, "Running it")`;
  if (!existsSync(join(dir, onnxFile))) {
    return onnxFile.endsWith('_quantized.onnx') ? `${encoder.model}/${onnxFile} missing: .venv/bin/python scripts/quantize_bert.py ${encoder.model}` : `${encoder.model}/${onnxFile} missing`;
  }
  return undefined;
}

/**
 * `simpair serve --model-dir` as a child on 127.0.0.1 and a free port: cold start (spawn to
 * the first 200 from POST /predict, `coldStarts` times) and warm latency of one pair per
 * request (`warmRequests` sequential requests over MRPC test pairs after 5 warm-ups). Measured
 * on two paths, interleaved: the model as `simpair run` writes it (classifier.onnx: ONNX
 * Runtime only) and a copy without classifier.onnx (the TF.js fallback of older models). Then
 * the same for the grid of encoders x ONNX files (float32, int8) with seeded random
 * classifiers of the right shape.
 */
export async function runPredictionStage(ctx: BenchContext): Promise<PredictionResult> {
  const modelDir = await ensureModelDir(ctx);
  const pairs = (await loadMrpc('test')).rows;
  if (!existsSync(join(modelDir, 'classifier.onnx'))) {
    // A model trained before simpair wrote classifier.onnx: export it, as simpair export would.
    await execFileAsync(process.execPath, [join(ctx.root, 'bin/simpair.js'), 'export', '--model-dir', modelDir], { cwd: ctx.root });
  }
  const tfjsDir = await tfjsOnlyCopy(modelDir);
  let trained: Record<PathName, PathFigures>;
  try {
    trained = await measurePaths(ctx, { onnx: modelDir, tfjs: tfjsDir }, 'trained model', pairs);
  } finally {
    await rm(tfjsDir, { recursive: true, force: true });
  }
  const grid = await runGrid(ctx, pairs);
  process.stderr.write(`\n${renderPredictionGrid(grid)}\n`);
  return { modelDir, warmRequests: ctx.sizes.prediction.warmRequests, ...trained.onnx, tfjsFallback: trained.tfjs, grid };
}

/**
 * The grid as one Markdown table: per configuration a row per path and a row of old/new
 * ratios (both paths measured interleaved in the same run), for bench/README.md.
 */
export function renderPredictionGrid(grid: readonly PredictionGridEntry[]): string {
  const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
  const cells = (p: PathFigures) => [ms(mean(p.coldStartMs)), ms(p.warm.p50), ms(p.warm.p95), ms(p.warm.p99), p.serverPeakRssMiB === undefined ? '-' : p.serverPeakRssMiB.toFixed(0)];
  const x = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined || b === 0 ? '-' : `${(a / b).toFixed(2)}x`);
  const rows = ['| encoder | BERT | classifier | cold start ms | warm p50 ms | p95 ms | p99 ms | peak RSS MiB |', '|---|---|---|---|---|---|---|---|'];
  for (const e of grid) {
    const what = `${basename(e.model)} (L${e.maxLen})`;
    if (!e.onnx || !e.tfjs) {
      rows.push(`| ${what} | ${e.dtype} | skipped: ${e.skipped ?? 'no figures'} | | | | | |`);
      continue;
    }
    const { onnx: n, tfjs: o } = e;
    rows.push(`| ${what} | ${e.dtype} | new: classifier.onnx (ORT) | ${cells(n).join(' | ')} |`);
    rows.push(`| ${what} | ${e.dtype} | old: TF.js model.json | ${cells(o).join(' | ')} |`);
    rows.push(
      `| ${what} | ${e.dtype} | **old/new** | ${[x(mean(o.coldStartMs), mean(n.coldStartMs)), x(o.warm.p50, n.warm.p50), x(o.warm.p95, n.warm.p95), x(o.warm.p99, n.warm.p99), x(o.serverPeakRssMiB, n.serverPeakRssMiB)].join(' | ')} |`,
    );
  }
  return rows.join('\n') + '\n';
}
