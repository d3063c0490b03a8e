/**
 * The ONE module that chooses the TensorFlow.js backend (as transformers.js has one module
 * choosing its ONNX backend). Everything else imports `@tensorflow/tfjs-core` and
 * `@tensorflow/tfjs-layers` directly and never calls `tf.setBackend`.
 *
 * One tfjs-core instance: `@tensorflow/tfjs-node(-gpu)` depends on the `@tensorflow/tfjs`
 * umbrella, which brings its own `@tensorflow/tfjs-core`. When that version equals ours,
 * npm deduplicates it and tfjs-node registers its `tensorflow` backend into the very
 * tfjs-core instance we import. When the versions differ, tfjs-node registers into a
 * nested copy our code never sees; {@link initTfBackend} detects that (no `tensorflow`
 * factory in our registry) and falls back, saying why.
 */
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
// Side effect: tfjs-layers' Node bundle registers every op gradient into the shared
// registry; tfjs-core's Node bundle alone registers none (training would fail).
import '@tensorflow/tfjs-layers';
import { SimpairError } from '../errors.ts';
import { log } from '../util/log.ts';
import { ensureGradientFixes } from './gradient-fixes.ts';
import { ensureChainedOps } from './tensor-chained-ops.ts';
import { ensureWasmSliceKernels } from './wasm-slice-kernels.ts';

/** A backend simpair knows how to set up, fastest first. */
export type TfBackendChoice = 'node-gpu' | 'node' | 'wasm' | 'cpu';

/** Environment variable that forces one backend (`node-gpu`, `node`, `wasm` or `cpu`). */
export const TF_BACKEND_ENV = 'SIMPAIR_TF_BACKEND';

/** Options of {@link initTfBackend}. */
export interface InitTfBackendOptions {
  /**
   * Backend to try first; the others follow in the default order. The environment
   * variable {@link TF_BACKEND_ENV} overrides this and allows no fallback.
   * @default undefined (node-gpu, node, wasm, cpu)
   */
  readonly prefer?: TfBackendChoice;
}

/** The backend in use, as reported by {@link initTfBackend}. */
export interface TfBackendInfo {
  /** tfjs backend name: `tensorflow`, `wasm` or `cpu`. */
  readonly backend: string;
  /** npm package that provides it. */
  readonly package: string;
  /** Version of that package. */
  readonly version: string;
  /** Free-form details, e.g. `simd, 1 thread` for wasm. */
  readonly details?: string;
}

/**
 * Default order. wasm is ahead of cpu because it is measured faster on this model: one
 * epoch of the Bi-LSTM (batch 32, 2 cores, Node 20, tfjs 4.22), wasm (SIMD, 1 thread)
 * vs. cpu: 256 rows x [32, 768] took 7.3-7.9 s vs. 30.2 s; 200 rows x [8, 16] took
 * 0.5-0.6 s vs. 2.5-2.8 s. wasm runs single-threaded in Node: tfjs turns
 * WASM_HAS_MULTITHREAD_SUPPORT off when IS_NODE (tensorflow/tfjs#3830), and forcing it on
 * fails (the pthread workers are `blob:` URLs, which Node's Worker rejects).
 */
const DEFAULT_ORDER: readonly TfBackendChoice[] = ['node-gpu', 'node', 'wasm', 'cpu'];

const PACKAGES: Record<TfBackendChoice, string> = {
  'node-gpu': '@tensorflow/tfjs-node-gpu',
  node: '@tensorflow/tfjs-node',
  wasm: '@tensorflow/tfjs-backend-wasm',
  cpu: '@tensorflow/tfjs-backend-cpu',
};

let pending: Promise<TfBackendInfo> | undefined;
let chosen: TfBackendInfo | undefined;

function isChoice(value: string): value is TfBackendChoice {
  return Object.hasOwn(PACKAGES, value);
}

function packageVersion(pkg: string): string {
  try {
    const require = createRequire(import.meta.url);
    return (require(`${pkg}/package.json`) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/**
 * Loads a backend package whose name is only known at run time. Through `require`, not
 * `import()`: every TF.js backend ships a CommonJS Node entry, and CommonJS resolution honours
 * NODE_PATH, which is how a Lambda function finds the TF.js layer (/opt/nodejs/node_modules);
 * ES module resolution never reads NODE_PATH. The instance is the one `import` would give
 * (Node's ESM loader loads CommonJS packages through the same module cache).
 */
async function importOptional(specifier: string): Promise<Record<string, unknown>> {
  return createRequire(import.meta.url)(specifier) as Record<string, unknown>;
}

/**
 * Whether a tfjs-node(-gpu) package directory holds its native addon
 * (`lib/napi-v<N>/tfjs_binding.node`, where node-pre-gyp puts it). Loading the package without
 * it fails only after tfjs-node has registered its kernels for `tensorflow` into the shared
 * registry, so the next package (tfjs-node after tfjs-node-gpu) would log ~200 "kernel already
 * registered" warnings: {@link initTfBackend} skips such a package without loading it.
 */
export function hasNativeAddon(packageDir: string): boolean {
  const lib = join(packageDir, 'lib');
  return existsSync(lib) && readdirSync(lib).some((d) => existsSync(join(lib, d, 'tfjs_binding.node')));
}

async function tryNode(choice: 'node-gpu' | 'node'): Promise<TfBackendInfo> {
  const pkg = PACKAGES[choice];
  // libtensorflow logs through absl at load (cpu_feature_guard's "rebuild TensorFlow with the
  // appropriate compiler flags", oneDNN notes) on every run; it reads this variable when the
  // addon loads, so it is set here, before the import. A value the user set is kept.
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
  let packageDir: string | undefined;
  try {
    packageDir = dirname(createRequire(import.meta.url).resolve(`${pkg}/package.json`));
  } catch {
    // Not installed: importOptional below says so.
  }
  if (packageDir !== undefined && !hasNativeAddon(packageDir)) {
    throw new SimpairError(`${pkg} is installed without its native addon (no ${join(packageDir, 'lib', '*', 'tfjs_binding.node')}); run scripts/install-tensorflow-backend.sh${choice === 'node-gpu' ? ' --gpu' : ''}.`);
  }
  await importOptional(pkg);
  if (tf.findBackendFactory('tensorflow') == null) {
    throw new SimpairError(
      `${pkg}@${packageVersion(pkg)} loaded but registered its backend into another copy of ` +
        `@tensorflow/tfjs-core than simpair's (${tf.version_core}); install ${pkg} at version ` +
        `${tf.version_core} so npm deduplicates tfjs-core.`,
    );
  }
  if (!(await tf.setBackend('tensorflow'))) throw new SimpairError(`${pkg} failed to initialise its backend.`);
  return { backend: 'tensorflow', package: pkg, version: packageVersion(pkg) };
}

async function tryWasm(): Promise<TfBackendInfo> {
  const pkg = PACKAGES.wasm;
  const before = {
    uncaughtException: process.listeners('uncaughtException'),
    unhandledRejection: process.listeners('unhandledRejection'),
  };
  try {
    return await setUpWasm(pkg);
  } finally {
    // Emscripten's Node glue adds process handlers that rethrow every uncaught error from
    // inside its one-line, 100 kB script, so any crash would print that whole line. Node's
    // defaults already end the process on both events; restore them.
    for (const listener of process.listeners('uncaughtException')) {
      if (!before.uncaughtException.includes(listener)) process.removeListener('uncaughtException', listener);
    }
    for (const listener of process.listeners('unhandledRejection')) {
      if (!before.unhandledRejection.includes(listener)) process.removeListener('unhandledRejection', listener);
    }
  }
}

async function setUpWasm(pkg: string): Promise<TfBackendInfo> {
  const wasm = await importOptional(pkg);
  const setWasmPaths = wasm.setWasmPaths as (prefix: string) => void;
  const getThreadsCount = wasm.getThreadsCount as () => number;
  // The .wasm binaries sit next to the Node entry point (dist/); Emscripten reads a plain
  // file path with fs in Node, so no fetch and no URL is involved.
  const distDir = dirname(createRequire(import.meta.url).resolve(pkg)) + sep;
  if (tf.findBackend('wasm') == null) setWasmPaths(distDir);
  if (!(await tf.setBackend('wasm'))) throw new SimpairError(`${pkg} failed to initialise (wasm files in ${distDir}).`);
  ensureWasmSliceKernels();
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  return {
    backend: 'wasm',
    package: pkg,
    version: packageVersion(pkg),
    details: `${simd ? 'simd' : 'no simd'}, ${getThreadsCount()} thread(s)`,
  };
}

async function tryCpu(): Promise<TfBackendInfo> {
  const pkg = PACKAGES.cpu;
  await importOptional(pkg);
  if (!(await tf.setBackend('cpu'))) throw new SimpairError(`${pkg} failed to initialise.`);
  return { backend: 'cpu', package: pkg, version: packageVersion(pkg) };
}

function trySetUp(choice: TfBackendChoice): Promise<TfBackendInfo> {
  switch (choice) {
    case 'node-gpu':
    case 'node':
      return tryNode(choice);
    case 'wasm':
      return tryWasm();
    case 'cpu':
      return tryCpu();
  }
}

async function choose(prefer: TfBackendChoice | undefined): Promise<TfBackendInfo> {
  const forced = process.env[TF_BACKEND_ENV]?.trim();
  if (forced) {
    if (!isChoice(forced)) {
      throw new SimpairError(
        `${TF_BACKEND_ENV}="${forced}" is not a backend simpair knows; use one of ${Object.keys(PACKAGES).join(', ')} or unset it.`,
      );
    }
    try {
      return await trySetUp(forced);
    } catch (err) {
      throw new SimpairError(
        `${TF_BACKEND_ENV}=${forced} forces ${PACKAGES[forced]}, which could not be used: ` +
          `${(err as Error).message.replace(/\.$/, '')}. Install it or unset ${TF_BACKEND_ENV}.`,
        { cause: err },
      );
    }
  }
  const order = prefer ? [prefer, ...DEFAULT_ORDER.filter((c) => c !== prefer)] : DEFAULT_ORDER;
  const failures: string[] = [];
  for (const choice of order) {
    try {
      return await trySetUp(choice);
    } catch (err) {
      // tfjs-node(-gpu) are optional peers: their absence is the normal case, not an error.
      failures.push(`${PACKAGES[choice]}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  throw new SimpairError(`No TensorFlow.js backend could be initialised:\n  ${failures.join('\n  ')}`);
}

/**
 * Chooses and initialises the TensorFlow.js backend: `@tensorflow/tfjs-node-gpu`, then
 * `@tensorflow/tfjs-node` (both optional peers), then `@tensorflow/tfjs-backend-wasm`
 * (measured about 4x faster than cpu on this model), then `@tensorflow/tfjs-backend-cpu`.
 * Idempotent: later calls return the first call's promise (and ignore their options).
 * Logs the choice once to stderr (silenced by `SIMPAIR_LOG_LEVEL=silent`).
 * `SIMPAIR_TF_BACKEND` forces one backend.
 *
 * @example
 * const { backend, package: pkg } = await initTfBackend();
 * // backend: 'tensorflow' | 'wasm' | 'cpu'
 */
export function initTfBackend(options: InitTfBackendOptions = {}): Promise<TfBackendInfo> {
  const { prefer } = options;
  pending ??= choose(prefer).then(
    (info) => {
      ensureChainedOps();
      ensureGradientFixes();
      chosen = info;
      log('info', `TensorFlow.js backend: ${info.backend} (${info.package}@${info.version}${info.details ? `, ${info.details}` : ''})`);
      return info;
    },
    (err: unknown) => {
      pending = undefined; // let a later call retry, e.g. after fixing the environment
      throw err;
    },
  );
  return pending;
}

/** The backend chosen by {@link initTfBackend}, or undefined before it resolved. */
export function tfBackendInfo(): TfBackendInfo | undefined {
  return chosen;
}

/**
 * Throws unless {@link initTfBackend} has resolved; synchronous tfjs entry points
 * (building a model) call this so they never run on a backend nobody chose.
 */
export function assertTfBackendReady(what: string): void {
  if (chosen === undefined) {
    throw new SimpairError(`${what} needs a TensorFlow.js backend; call \`await initTfBackend()\` first.`);
  }
}
