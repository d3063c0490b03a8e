/**
 * The training image's build inputs, checked without Docker: training/Dockerfile, its own
 * training/package.json + lockfile, and the module graph of training/entry.ts. The size of the
 * image's node_modules is measured by scripts/check-install.sh (installs the lockfile with
 * scripts off; a CI step, it downloads packages).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
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
  it('takes the base image as a required build argument (the stack passes it, pinned by digest when configured)', () => {
    const preamble = instructions.slice(0, instructions.findIndex((l) => /^FROM /i.test(l)));
    expect(preamble).toContain('ARG CUDA_IMAGE');
    for (const stage of stages) expect(stage[0]).toMatch(/^FROM \$\{CUDA_IMAGE\}/);
  });

  it('pins Node 22 (tfjs-node needs Node < 23)', () => {
    const arg = instructions.find((l) => l.startsWith('ARG NODE_VERSION='));
    expect(arg).toMatch(/^ARG NODE_VERSION=22\.\d+\.\d+$/);
  });

  it('installs training/package-lock.json with npm ci only, and fails the build when tfjs-node-gpu is missing', () => {
    const runs = instructions.filter((l) => l.startsWith('RUN '));
    expect(runs.some((r) => /npm ci --omit=dev/.test(r))).toBe(true);
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
    for (const p of ['training/package.json', 'training/package-lock.json', 'training/entry.ts', 'src', 'functions/commons', 'tsconfig.json']) expect(ignore).toContain(`!${p}`);
    for (const p of ['package.json', 'package-lock.json', '.npmrc']) expect(ignore.split('\n')).not.toContain(`!${p}`);
  });
});
