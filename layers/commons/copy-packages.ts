import { dirname, join, relative, sep } from 'node:path';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';

/** Options of {@link copyPackages}. */
export interface CopyPackagesOptions {
  /** Packages to copy with their runtime dependency closure (`dependencies`, not `@types/*`). */
  readonly packages: readonly string[];
  /** Directory the layer zip is made of; packages land in `<outDir>/nodejs/node_modules`. */
  readonly outDir: string;
  /** Where to resolve packages from. @default the repository root */
  readonly projectRoot: string;
  /** Dependencies not to follow (install-time only, never loaded at run time). @default [] */
  readonly skipDependencies?: readonly string[];
  /** Return true to leave a file or directory out (path relative to the package root, `/`-separated). */
  readonly exclude?: (pathInPackage: string, pkg: string) => boolean;
}

/**
 * Copies npm packages from the project's node_modules into a Lambda layer layout
 * (`nodejs/node_modules/...`), following their `dependencies` so the layer is complete,
 * without running npm (works offline and without Docker). Synchronous, because CDK
 * constructs call it while the app is being built.
 */
export function copyPackages({ packages, outDir, projectRoot, skipDependencies = [], exclude = () => false }: CopyPackagesOptions): string[] {
  const seen = new Set<string>();
  const queue = packages.map((name) => ({ name, from: projectRoot }));
  const target = join(outDir, 'nodejs', 'node_modules');
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(target, { recursive: true });
  while (queue.length) {
    const { name, from } = queue.shift()!;
    if (seen.has(name) || name.startsWith('@types/') || skipDependencies.includes(name)) continue;
    seen.add(name);
    const pkgDir = findPackageDir(name, from, projectRoot);
    const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
    queue.push(...Object.keys(pkg.dependencies ?? {}).map((dep) => ({ name: dep, from: pkgDir })));
    cpSync(pkgDir, join(target, name), {
      recursive: true,
      filter: (src) => {
        const rel = relative(pkgDir, src).split(sep).join('/');
        return rel === '' || (!rel.startsWith('node_modules') && !exclude(rel, name));
      },
    });
  }
  const copied = [...seen].sort();
  writeFileSync(join(outDir, 'layer-manifest.json'), JSON.stringify({ packages: copied }, null, 2) + '\n');
  return copied;
}

/**
 * Node's lookup, by hand: `<dir>/node_modules/<name>` from the requiring package up to the
 * project root (require.resolve cannot reach package.json through an `exports` map).
 */
function findPackageDir(name: string, from: string, projectRoot: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dir === projectRoot || dirname(dir) === dir) break;
  }
  throw new Error(`Package ${name} is not installed under ${projectRoot}/node_modules; run npm ci first.`);
}

/** Total size in bytes of the files under a directory (the layer's unzipped size). */
export function directorySize(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) total += directorySize(full);
    else if (entry.isFile()) total += statSync(full).size;
  }
  return total;
}

/** Lists the files under a directory, relative and `/`-separated. */
export function listFiles(dir: string, base = dir): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(full, base));
    else out.push(relative(base, full).split(sep).join('/'));
  }
  return out;
}
