import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { copyPackages } from '../commons/copy-packages.ts';

/** Options of {@link buildTfjsLayer}. */
export interface BuildTfjsLayerOptions {
  /** @default layers/tfjs/build */
  readonly outDir?: string;
  /** @default the repository root */
  readonly projectRoot?: string;
  /** @default false */
  readonly force?: boolean;
}

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = resolve(HERE, '..', '..');

/** TF.js packages the classifier loads; the backends are imported by name at run time. */
export const TFJS_PACKAGES = ['@tensorflow/tfjs-core', '@tensorflow/tfjs-layers', '@tensorflow/tfjs-backend-cpu', '@tensorflow/tfjs-backend-wasm'] as const;

/** Unzipped-size budget checked by the layer test (measured: ~6 MB with tfjs 4.22.0). */
export const TFJS_LAYER_BUDGET_BYTES = 60 * 1024 * 1024;

/**
 * Builds the TF.js layer. The core picks its backend with `import(name)` at run time
 * (src/classifier/tf-backend.ts), which a bundler cannot follow, and the wasm backend reads
 * its `.wasm` files next to its package; so TF.js ships as real packages in a layer and the
 * functions mark `@tensorflow/*` external (one tfjs-core instance, shared by the backends).
 */
export function buildTfjsLayer({ outDir, projectRoot = REPO_ROOT, force = false }: BuildTfjsLayerOptions = {}): string {
  const dir = outDir ?? join(HERE, 'build');
  const version = (JSON.parse(readFileSync(join(projectRoot, 'node_modules', '@tensorflow', 'tfjs-core', 'package.json'), 'utf8')) as { version: string }).version;
  const manifest = join(dir, 'layer-manifest.json');
  if (!force && existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { tfjsVersion?: string }).tfjsVersion === version) return dir;
  copyPackages({
    packages: TFJS_PACKAGES,
    outDir: dir,
    projectRoot,
    // Each TF.js package's `main` is one CommonJS bundle (dist/tf-*.node.js) requiring only
    // other packages; keep it, the .wasm binaries and the licence, drop the ESM trees,
    // browser bundles, sources and maps (~100 MB of the 110 MB).
    exclude: (path, pkg) => {
      if (path.endsWith('.map') || path.endsWith('.d.ts') || path.endsWith('.md')) return true;
      if (!pkg.startsWith('@tensorflow/')) return false;
      if (path === 'dist' || path === 'package.json' || path.startsWith('LICENSE')) return false;
      return !(path.startsWith('dist/') && !path.slice(5).includes('/') && (path.endsWith('.node.js') || path.endsWith('.wasm')));
    },
  });
  const base = JSON.parse(readFileSync(manifest, 'utf8')) as Record<string, unknown>;
  writeFileSync(manifest, JSON.stringify({ ...base, tfjsVersion: version }, null, 2) + '\n');
  return dir;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.stdout.write(`${buildTfjsLayer({ force: true })}\n`);
}
