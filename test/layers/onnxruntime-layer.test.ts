import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { directorySize, listFiles } from '../../layers/commons/copy-packages.ts';
import { buildOnnxRuntimeLayer, ONNX_LAYER_BUDGET_BYTES } from '../../layers/onnxruntime/build.ts';

const work = mkdtempSync(join(tmpdir(), 'simpair-layers-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const MB = 1024 * 1024;
/** nodejs22.x runs on Amazon Linux 2023: glibc 2.34. */
const AL2023_GLIBC = [2, 34];

/** Highest GLIBC_x.y a shared object requires (its version-needs section). */
function maxGlibcRequired(file: string): number[] {
  const out = execFileSync('readelf', ['-V', '--wide', file], { encoding: 'utf8' });
  const needs = out.slice(out.indexOf('.gnu.version_r'));
  const versions = [...needs.matchAll(/Name: GLIBC_([0-9.]+)/g)].map((m) => m[1].split('.').map(Number));
  return versions.sort((a, b) => a[0] - b[0] || (a[1] ?? 0) - (b[1] ?? 0)).at(-1) ?? [0, 0];
}
const hasReadelf = spawnSync('readelf', ['--version']).status === 0;

describe.each(['x64', 'arm64'] as const)('onnxruntime layer for linux/%s', (arch) => {
  const dir = join(work, `onnx-${arch}`);
  const files = () => listFiles(dir);

  it('builds into nodejs/node_modules under the size budget', () => {
    buildOnnxRuntimeLayer({ arch, outDir: dir, force: true });
    const size = directorySize(dir);
    // Printed for the record: x64 ~45 MB, arm64 ~25 MB with onnxruntime-node 1.30.
    console.log(`onnxruntime layer linux/${arch}: ${(size / MB).toFixed(1)} MB unzipped (budget ${ONNX_LAYER_BUDGET_BYTES / MB} MB)`);
    expect(size).toBeLessThan(ONNX_LAYER_BUDGET_BYTES);
    expect(files()).toEqual(expect.arrayContaining([
      `nodejs/node_modules/onnxruntime-node/bin/napi-v6/linux/${arch}/onnxruntime_binding.node`,
      `nodejs/node_modules/onnxruntime-node/bin/napi-v6/linux/${arch}/libonnxruntime.so.1`,
      'nodejs/node_modules/onnxruntime-node/dist/index.js',
      'nodejs/node_modules/onnxruntime-common/package.json',
    ]));
  });

  it('keeps no other platform or architecture, nor install-time code', () => {
    const bins = files().filter((f) => f.includes('/bin/'));
    expect(bins.length).toBeGreaterThan(0);
    for (const f of bins) expect(f).toContain(`/bin/napi-v6/linux/${arch}/`);
    expect(files().some((f) => /darwin|win32|\.dll$|\.dylib$/.test(f))).toBe(false);
    expect(files().some((f) => f.includes('/script/') || f.includes('node_modules/adm-zip') || f.includes('node_modules/global-agent'))).toBe(false);
  });

  it.skipIf(!hasReadelf)('needs at most glibc 2.34 (Amazon Linux 2023)', () => {
    for (const name of ['libonnxruntime.so.1', 'onnxruntime_binding.node']) {
      const [major, minor] = maxGlibcRequired(join(dir, `nodejs/node_modules/onnxruntime-node/bin/napi-v6/linux/${arch}/${name}`));
      expect(major * 1000 + minor, `${name} needs GLIBC_${major}.${minor}`).toBeLessThanOrEqual(AL2023_GLIBC[0] * 1000 + AL2023_GLIBC[1]);
    }
  });
});

describe('onnxruntime layer on this machine', () => {
  it.skipIf(process.platform !== 'linux' || process.arch !== 'x64')('loads from the layer folder alone, as Lambda resolves /opt/nodejs/node_modules', () => {
    const dir = join(work, 'onnx-x64');
    if (!existsSync(dir)) buildOnnxRuntimeLayer({ arch: 'x64', outDir: dir, force: true });
    // Run from an empty directory with NODE_PATH pointing at the layer only.
    const cwd = mkdtempSync(join(work, 'cwd-'));
    const script = "const ort = require('onnxruntime-node'); const t = new ort.Tensor('float32', [1, 2], [2]); process.stdout.write(JSON.stringify({ create: typeof ort.InferenceSession.create, dims: t.dims }));";
    const out = execFileSync(process.execPath, ['-e', script], { cwd, env: { PATH: process.env.PATH, NODE_PATH: join(dir, 'nodejs', 'node_modules') }, encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({ create: 'function', dims: [2] });
  });
});
