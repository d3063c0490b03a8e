import { mkdir, readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { runTsChild } from '../lib/child.ts';
import type { BenchContext } from '../lib/context.ts';
import { ensureStores } from '../lib/embedding-stores.ts';
import { note } from '../lib/log.ts';
import { trainInChild } from './training.ts';

/** One function's share of a CPU profile. */
export interface ProfileEntry {
  readonly function: string;
  readonly where: string;
  readonly selfMs: number;
  readonly percent: number;
}

/** Profile of one stage: the top self-time entries. */
export interface StageProfile {
  readonly stage: string;
  readonly what: string;
  readonly totalMs: number;
  readonly top: ProfileEntry[];
  readonly file: string;
}

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
}

/**
 * Self time per function (name + file:line) of a V8 `.cpuprofile`, as % of the profile.
 * `(idle)` on the main thread is time spent waiting, e.g. for ONNX Runtime's native run
 * (which works on its own threads); `(program)` is native code outside JS functions.
 */
export function summariseProfile(profile: CpuProfile, top = 12): { totalMs: number; top: ProfileEntry[] } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // tfjs' wasm binary has no function names: name a wasm function after the tfjs-backend-wasm
  // kernel that called into it, and say whether it ran in the backward pass (gradients).
  const wasmKernel = (id: number): string => {
    let kernel: string | undefined;
    let backward = false;
    for (let p = parent.get(id); p !== undefined; p = parent.get(p)) {
      const frame = byId.get(p)!.callFrame;
      if (!kernel && frame.url.includes('tf-backend-wasm') && frame.functionName && !['ccall', 'cwrap'].includes(frame.functionName)) kernel = frame.functionName;
      if (frame.functionName === 'backpropagateGradients') backward = true;
    }
    return `wasm ${kernel ?? '?'} (${backward ? 'backward pass' : 'forward pass'})`;
  };
  const self = new Map<string, { function: string; where: string; us: number }>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    total += dt;
    const node = byId.get(id);
    if (!node) return;
    const { functionName, url, lineNumber } = node.callFrame;
    let name = functionName || '(anonymous)';
    let where = url ? `${url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, '').replace(/^.*\/main\//, '')}:${lineNumber + 1}` : '';
    if (url.startsWith('wasm://')) {
      name = wasmKernel(id);
      where = 'tfjs-backend-wasm .wasm';
    }
    const key = `${name}|${where}`;
    const entry = self.get(key) ?? { function: name, where, us: 0 };
    entry.us += dt;
    self.set(key, entry);
  });
  const entries = [...self.values()].sort((a, b) => b.us - a.us).slice(0, top);
  return {
    totalMs: total / 1000,
    top: entries.map((e) => ({ function: e.function, where: e.where, selfMs: e.us / 1000, percent: (100 * e.us) / total })),
  };
}

/**
 * The profile of the thread that did the work. Node writes one `.cpuprofile` per thread, and
 * tsx's module loader runs in a thread of its own: keep the one with the most non-idle time.
 */
async function busiestProfile(dir: string): Promise<{ file: string; profile: CpuProfile }> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length === 0) throw new Error(`no .cpuprofile written in ${dir}`);
  let best: { file: string; profile: CpuProfile; busy: number } | undefined;
  for (const name of files) {
    const file = join(dir, name);
    const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
    const idle = new Set(profile.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id));
    const busy = profile.samples.reduce((a, id, i) => a + (idle.has(id) ? 0 : (profile.timeDeltas[i] ?? 0)), 0);
    if (!best || busy > best.busy) best = { file, profile, busy };
  }
  return best!;
}

/**
 * `node --cpu-prof` on the embedding path (embedPairs: tokenize + BERT, MiniLM float32,
 * batch 32) and on training (train-child on the quick training store, wasm), quick sizes.
 */
export async function runProfileStage(ctx: BenchContext): Promise<StageProfile[]> {
  const out: StageProfile[] = [];
  const embedDir = join(ctx.workDir, 'profile-embed');
  await mkdir(embedDir, { recursive: true });
  const pairs = 512;
  note(`profile: embedding ${pairs} pairs under --cpu-prof`);
  await runTsChild(ctx.root, 'bench/stages/profile-embed-child.ts', ['--pairs', String(pairs), '--max-len', String(ctx.sizes.maxLen)], {
    nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${embedDir}`],
    label: 'profile embed',
  });
  const embed = await busiestProfile(embedDir);
  out.push({ stage: 'embedding', what: `embedPairs, ${pairs} MRPC pairs, MiniLM float32, batch 32, maxLen ${ctx.sizes.maxLen}`, file: embed.file, ...summariseProfile(embed.profile) });

  const trainDir = join(ctx.workDir, 'profile-train');
  await mkdir(trainDir, { recursive: true });
  const rows = 256;
  const stores = await ensureStores(ctx, 'max-length', rows, 64);
  note(`profile: training ${rows} rows x 1 epoch (wasm) under --cpu-prof`);
  await trainInChild(ctx, stores, { backend: 'wasm', epochs: 1, nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${trainDir}`], label: 'profile train' });
  const train = await busiestProfile(trainDir);
  out.push({ stage: 'training', what: `trainClassifier, ${rows} rows x 1 epoch, wasm, batch 32, [${ctx.sizes.maxLen}, 384]`, file: train.file, ...summariseProfile(train.profile) });
  for (const p of out) {
    note(`profile ${p.stage} (${basename(p.file)}): ${p.top.slice(0, 4).map((e) => `${e.function} ${e.percent.toFixed(1)}%`).join(', ')}`);
  }
  return out;
}
