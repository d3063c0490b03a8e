/**
 * `serve --store` answering while it trains (issue 17): the latency of POST /predict (one
 * pair) when the server is idle, and while a run trains in its worker process, plus the
 * slowest GET /health during the run. Uses MiniLM when `models/all-MiniLM-L6-v2` is there
 * (a BERT-sized encoder), else the tiny test encoder (said in the note).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchContext } from '../lib/context.ts';
import { MINILM } from '../lib/config.ts';
import { note } from '../lib/log.ts';
import { percentile } from '../lib/stats.ts';

/** Latency summary, milliseconds. */
export interface Latency {
  readonly requests: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export interface ServingResult {
  readonly encoder: string;
  readonly run: { readonly rows: number; readonly maxLen: number; readonly epochs: number; readonly seconds: number; readonly state: string };
  readonly idle: Latency;
  readonly training: Latency;
  readonly healthDuringTraining: Latency;
}

const summary = (ms: number[]): Latency => ({ requests: ms.length, p50: percentile(ms, 50), p99: percentile(ms, 99), max: Math.max(...ms) });

function startServe(root: string, args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [join(root, 'bin/simpair.js'), 'serve', ...args, '--port', '0'], { cwd: root, env: { ...process.env, SIMPAIR_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((resolve, reject) => {
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr);
      if (m) resolve({ child, url: m[1] });
    });
    child.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
  });
}

async function timed(fn: () => Promise<Response>): Promise<number> {
  const t0 = performance.now();
  const res = await fn();
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  return performance.now() - t0;
}

export async function runServingStage(ctx: BenchContext): Promise<ServingResult> {
  const encoder = existsSync(join(ctx.root, MINILM, 'onnx', 'model.onnx')) ? join(ctx.root, MINILM) : join(ctx.root, 'test', 'fixtures', 'tiny-bert');
  const store = join(ctx.workDir, 'serving-store');
  await mkdir(join(store, 'datasets'), { recursive: true });
  const [header, ...rows] = (await readFile(join(ctx.root, 'examples', 'train.tsv'), 'utf8')).trim().split('\n');
  // The run trained while measuring: distinct pairs made from the examples, long enough to take a while.
  const trainRows = ctx.mode === 'quick' ? 400 : 2000;
  const big = [header];
  for (let i = 0; big.length <= trainRows; i++) {
    const [a, b, label] = rows[i % rows.length].split('\t');
    big.push(`${a} (${i})\t${b} (${i})\t${label}`);
  }
  await writeFile(join(store, 'datasets', 'small.tsv'), [header, ...rows].join('\n') + '\n');
  await writeFile(join(store, 'datasets', 'big.tsv'), big.join('\n') + '\n');
  const { child, url } = await startServe(ctx.root, ['--store', store, '--model', encoder, '--no-watch']);
  const post = (path: string, body: unknown) => fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const state = async (runId: string) => ((await (await fetch(`${url}/runs/${runId}`)).json()) as { state: string }).state;
  const until = async (runId: string) => {
    for (;;) {
      const s = await state(runId);
      if (s === 'SUCCEEDED' || s === 'FAILED') return s;
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  try {
    note('serving: training a first model to serve');
    const first = ((await (await post('/train', { datasetKey: 'datasets/small.tsv', options: { maxLen: 64, epochs: 2 } })).json()) as { runId: string }).runId;
    if ((await until(first)) !== 'SUCCEEDED') throw new Error(`the first run ${first} did not succeed`);
    const pair = { pairs: [{ sentence1: 'A cat sits on the mat.', sentence2: 'The cat is sitting on a mat.' }] };
    for (let i = 0; i < 10; i++) await timed(() => post('/predict', pair)); // warm
    const idle: number[] = [];
    for (let i = 0; i < 200; i++) idle.push(await timed(() => post('/predict', pair)));
    note(`serving: idle p99 ${percentile(idle, 99).toFixed(1)} ms; now predicting while a run trains`);
    const maxLen = 128;
    const epochs = ctx.mode === 'quick' ? 2 : 4;
    const t0 = performance.now();
    const runId = ((await (await post('/train', { datasetKey: 'datasets/big.tsv', options: { maxLen, epochs } })).json()) as { runId: string }).runId;
    const during: number[] = [];
    const health: number[] = [];
    let ended: string | undefined;
    const watcher = until(runId).then((s) => (ended = s));
    while (!ended) {
      during.push(await timed(() => post('/predict', pair)));
      health.push(await timed(() => fetch(`${url}/health`)));
      await new Promise((r) => setTimeout(r, 20));
    }
    await watcher;
    const seconds = (performance.now() - t0) / 1000;
    return { encoder: encoder.includes('tiny-bert') ? 'tiny-bert (test fixture; MiniLM absent)' : MINILM, run: { rows: trainRows, maxLen, epochs, seconds, state: ended }, idle: summary(idle), training: summary(during), healthDuringTraining: summary(health) };
  } finally {
    child.kill('SIGTERM');
  }
}
