import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { copyPackages } from '../commons/copy-packages.ts';

/** Lambda architectures the layer can be built for, in Node's `process.arch` spelling. */
export type LayerArch = 'x64' | 'arm64';

/** Options of {@link buildOnnxRuntimeLayer}. */
export interface BuildOnnxRuntimeLayerOptions {
  /** @default 'x64' */
  readonly arch?: LayerArch;
  /** @default layers/onnxruntime/build/<arch> */
  readonly outDir?: string;
  /** @default the repository root */
  readonly projectRoot?: string;
  /** Rebuild even when the output exists and matches the installed version. @default false */
  readonly force?: boolean;
}

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = resolve(HERE, '..', '..');

/**
 * Unzipped-size budget of this layer, checked by test/layers. Measured with onnxruntime-node
 * 1.30.0: linux/x64 ~45 MB (libonnxruntime.so.1 is 44 MB), linux/arm64 ~25 MB, against
 * ~290 MB for the npm package with every platform. Lambda allows 250 MB for the function
 * plus all its layers; the bundle adds ~5-10 MB.
 */
export const ONNX_LAYER_BUDGET_BYTES = 60 * 1024 * 1024;

/**
 * Builds the onnxruntime-node layer: `onnxruntime-node` and `onnxruntime-common` copied into
 * `nodejs/node_modules`, keeping only `bin/napi-v6/linux/<arch>`. No Docker, no npm: a copy,
 * synchronous so a CDK construct can call it while synthesizing.
 *
 * glibc: the linux binaries need GLIBC_2.28 / GLIBCXX_3.4.22 at most (readelf -V); nodejs22.x
 * runs on Amazon Linux 2023 (glibc 2.34, GCC 11's libstdc++), so they load there.
 *
 * Returns the directory to hand to `lambda.Code.fromAsset`. Reuses an existing build of the
 * same onnxruntime-node version and architecture unless `force` is set.
 */
export function buildOnnxRuntimeLayer({ arch = 'x64', outDir, projectRoot = REPO_ROOT, force = false }: BuildOnnxRuntimeLayerOptions = {}): string {
  if (arch !== 'x64' && arch !== 'arm64') throw new Error(`Unknown layer architecture "${String(arch)}"; use x64 or arm64.`);
  const dir = outDir ?? join(HERE, 'build', arch);
  const version = (JSON.parse(readFileSync(join(projectRoot, 'node_modules', 'onnxruntime-node', 'package.json'), 'utf8')) as { version: string }).version;
  const manifest = join(dir, 'layer-manifest.json');
  if (!force && existsSync(manifest)) {
    const built = JSON.parse(readFileSync(manifest, 'utf8')) as { onnxruntimeVersion?: string; arch?: string };
    if (built.onnxruntimeVersion === version && built.arch === arch) return dir;
  }
  const keep = `bin/napi-v6/linux/${arch}`;
  copyPackages({
    packages: ['onnxruntime-node'],
    outDir: dir,
    projectRoot,
    // adm-zip and global-agent serve only the postinstall script (downloading CUDA EPs).
    skipDependencies: ['adm-zip', 'global-agent'],
    exclude: (path, pkg) => {
      if (path.endsWith('.map') || path.endsWith('.ts')) return true;
      if (pkg !== 'onnxruntime-node') return false;
      if (path === 'script' || path.startsWith('script/') || path === 'lib' || path.startsWith('lib/')) return true;
      if (path !== 'bin' && !path.startsWith('bin/')) return false;
      // Keep the ancestors of the chosen platform folder and everything inside it.
      return !(keep === path || keep.startsWith(`${path}/`) || path.startsWith(`${keep}/`));
    },
  });
  const base = JSON.parse(readFileSync(manifest, 'utf8')) as Record<string, unknown>;
  writeFileSync(manifest, JSON.stringify({ ...base, onnxruntimeVersion: version, arch }, null, 2) + '\n');
  return dir;
}

// `node bin/run-ts.js layers/onnxruntime/build.ts [x64|arm64]`
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.stdout.write(`${buildOnnxRuntimeLayer({ arch: (process.argv[2] ?? 'x64') as LayerArch, force: true })}\n`);
}
