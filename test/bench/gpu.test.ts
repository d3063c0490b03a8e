/**
 * bench/gpu.ts, the GPU bench, on this machine without a GPU: it must say so and exit 0; with
 * --allow-cpu it trains on the GPU build's CPU fallback, which exercises what it reads on a GPU
 * (TensorFlow's placement log, op launches per training step) and shows it reports the CPU.
 * (Its Keras half needs the Python reference, .venv-ref; not run here: --no-keras.)
 * PATH is emptied for the bench so nvidia-smi is absent even on a machine that has one.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { GpuBenchResult } from '../../bench/gpu.ts';
import { ROOT } from '../helpers/paths.ts';
import { describeOnBackend } from '../helpers/tf-backends.ts';

function bench(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(ROOT, 'bin', 'run-ts.js'), join(ROOT, 'bench', 'gpu.ts'), ...args], { cwd: ROOT, env: { ...process.env, PATH: '' }, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('bench/gpu.ts without a GPU', () => {
  it('says "no GPU", why, and how to run it on a GPU, and exits 0 without training', async () => {
    const r = await bench([]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('gpu bench: no GPU (nvidia-smi not found); nothing to measure.');
    expect(r.stdout).toContain('bash bench/gpu.sh');
    expect(r.stdout).not.toContain('written:');
  });
});

describeOnBackend('tensorflow-gpu', 'bench/gpu.ts --allow-cpu', () => {
  it('trains with tfjs-node-gpu, counts op launches per step and reports the LSTM ops placed on the CPU', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'simpair-gpu-bench-')), 'gpu.json');
    const r = await bench(['--allow-cpu', '--no-keras', '--rows', '160', '--max-len', '8', '--hidden', '16', '--epochs', '2', '--out', out]);
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.code).toBe(0);
    const result = JSON.parse(readFileSync(out, 'utf8')) as GpuBenchResult;
    expect(result).toMatchObject({ gpu: null, onGpu: false, gpuUtilisation: null, keras: { ok: false, reason: '--no-keras' }, child: { package: '@tensorflow/tfjs-node-gpu', trainRows: 144, batchSize: 32 } });
    expect(result.child.epochSeconds).toHaveLength(2);
    // Every op ran on the CPU, the LSTM among them; a step is many launches (one per op).
    expect(Object.keys(result.opsByDevice)).toEqual(['/device:CPU:0']);
    expect(Object.entries(result.placement).some(([op, devices]) => /LSTM/i.test(op) && devices.join() === '/device:CPU:0')).toBe(true);
    expect(result.opsPerStep).toBeGreaterThan(10);
    expect(r.stdout).toContain(`| op launches per training step | ${result.opsPerStep} |`);
  });
});
