/**
 * scripts/tensorflow_gpu_libs.py, the GPU variant's checks (install-tensorflow-backend.sh --gpu,
 * in CI and in the training image's build): the wheels against the sha256 lock, and the CUDA
 * libraries TensorFlow loads against the layout. The lock checks run on small stand-in wheels
 * (the helper hashes bytes; what a wheel holds does not matter to it). The layout checks need
 * the real layout: they run where `install-tensorflow-backend.sh --gpu` ran (CI requires it).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/paths.ts';
import { describeOnBackend } from '../helpers/tf-backends.ts';

const HELPER = join(ROOT, 'scripts', 'tensorflow_gpu_libs.py');

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('python3', [HELPER, ...args], { maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const sha256 = (data: string) => createHash('sha256').update(data).digest('hex');

/** A wheel directory and a lock of two requirements, each wheel's bytes given. */
function fixture(wheels: Record<string, string>, lockBody?: string): { dir: string; lock: string } {
  const dir = mkdtempSync(join(tmpdir(), 'simpair-gpu-wheels-'));
  const wheelDir = join(dir, 'wheels');
  mkdirSync(wheelDir);
  for (const [name, data] of Object.entries(wheels)) writeFileSync(join(wheelDir, name), data);
  const lock = join(dir, 'requirements-gpu.txt');
  writeFileSync(lock, lockBody ?? [
    '# a comment',
    'tensorflow==2.21.0 \\',
    `    --hash=sha256:${sha256('tf-bytes')}`,
    `nvidia-cuda-runtime-cu12==12.5.82 --hash=sha256:${sha256('cudart-bytes')}`,
    '',
  ].join('\n'));
  return { dir: wheelDir, lock };
}

const TF_WHEEL = 'tensorflow-2.21.0-cp311-cp311-manylinux_2_27_x86_64.whl';
const CUDART_WHEEL = 'nvidia_cuda_runtime_cu12-12.5.82-py3-none-manylinux2014_x86_64.whl';

describe('tensorflow_gpu_libs.py verify (the wheels against training/requirements-gpu.txt)', () => {
  it('prints the tensorflow wheel and writes the other requirements, with their hashes, for pip install --require-hashes', async () => {
    const { dir, lock } = fixture({ [TF_WHEEL]: 'tf-bytes', [CUDART_WHEEL]: 'cudart-bytes' });
    const out = join(dir, 'nvidia.txt');
    const r = await run(['verify', lock, dir, '--nvidia-requirements', out]);
    expect(r).toMatchObject({ code: 0, stdout: `${join(dir, TF_WHEEL)}\n` });
    expect(readFileSync(out, 'utf8')).toBe(`nvidia-cuda-runtime-cu12==12.5.82 --hash=sha256:${sha256('cudart-bytes')}\n`);
  });

  it('deletes a wheel whose sha256 is not locked and reports it missing (exit 3: the script downloads it again)', async () => {
    const { dir, lock } = fixture({ [TF_WHEEL]: 'tf-bytes, tampered', [CUDART_WHEEL]: 'cudart-bytes' });
    const r = await run(['verify', lock, dir]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`${TF_WHEEL}: sha256 ${sha256('tf-bytes, tampered')} is not locked`);
    expect(r.stderr).toMatch(/not in .*: tensorflow==2\.21\.0/);
    expect(readdirSync(dir)).toEqual([CUDART_WHEEL]);
  });

  it('reports missing wheels (exit 3) and refuses a requirement without an exact version and a hash (exit 1, naming it)', async () => {
    const missing = fixture({ [TF_WHEEL]: 'tf-bytes' });
    const r = await run(['verify', missing.lock, missing.dir]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('nvidia-cuda-runtime-cu12==12.5.82');
    for (const line of ['tensorflow>=2.21.0 --hash=sha256:' + sha256('x'), 'tensorflow==2.21.0']) {
      const bad = fixture({}, `${line}\n`);
      const b = await run(['verify', bad.lock, bad.dir]);
      expect(b.code, line).toBe(1);
      expect(b.stderr).toContain(`requirements-gpu.txt:1: requirement '${line}' is not 'name==version --hash=sha256:<64 hex>'`);
    }
  });
});

const DEPS = join(ROOT, 'node_modules', '@tensorflow', 'tfjs-node-gpu', 'deps');

describeOnBackend('tensorflow-gpu', 'tensorflow_gpu_libs.py check (the CUDA libraries TensorFlow loads, from the layout)', () => {
  it('passes on the installed layout: TensorFlow\'s TryDlopenCUDALibraries opens its 7 libraries from deps/nvidia, and cuDNN\'s lazy loads resolve', async () => {
    const r = await run(['check', join(DEPS, 'lib', 'libtensorflow_framework.so.2'), DEPS]);
    expect(r.stderr).not.toContain('ERROR');
    expect(r.code).toBe(0);
    for (const name of ['libcudart.so.12', 'libcublas.so.12', 'libcublasLt.so.12', 'libcufft.so.11', 'libcusolver.so.11', 'libcusparse.so.12', 'libcudnn.so.9', 'libcudnn_graph.so.9', 'libnvrtc.so.12']) {
      expect(r.stdout).toMatch(new RegExp(`${name.replaceAll('.', '\\.')}\\s+nvidia/\\w+/lib/${name.replaceAll('.', '\\.')}`));
    }
    expect(r.stdout).toContain('TryDlopenCUDALibraries: OK (7 libraries)');
  });

  it('fails, naming it, when a library TensorFlow loads is missing from the layout (cuSOLVER)', async () => {
    // The layout without nvidia/cusolver: symlinks to the installed one (nothing copied).
    const root = mkdtempSync(join(tmpdir(), 'simpair-cuda-layout-'));
    mkdirSync(join(root, 'nvidia'));
    symlinkSync(join(DEPS, 'lib'), join(root, 'lib'));
    for (const d of readdirSync(join(DEPS, 'nvidia'))) {
      if (d !== 'cusolver' && existsSync(join(DEPS, 'nvidia', d, 'lib'))) symlinkSync(join(DEPS, 'nvidia', d), join(root, 'nvidia', d));
    }
    const r = await run(['check', join(root, 'lib', 'libtensorflow_framework.so.2'), root]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/TensorFlow could not load libcusolver\.so\.11: libcusolver\.so\.11: cannot open shared object file/);
  });
});
