// Test helper (not a test file): which TensorFlow.js backends this machine has, and running a
// test file on one of them.
//
// One backend per test file. tfjs backends are process-global and initTfBackend() chooses
// once per process; vitest runs every test file in its own forked process (vitest.config.ts:
// pool 'forks', isolation on), so a file picks its backend before anything calls
// initTfBackend(). To cover every backend, write the suite once as a function and add one
// small file per backend:
//
//   // test/classifier/fused-lstm.tensorflow.test.ts
//   import { describeOnBackend } from '../helpers/tf-backends.ts';
//   import { fusedLstmSuite } from './fused-lstm-suite.ts';
//   describeOnBackend('tensorflow', 'fused LSTM = tfjs-layers LSTM', fusedLstmSuite);
//
// test/setup.ts pins every other file to wasm (SIMPAIR_TF_BACKEND=wasm), so the suite gives
// the same results whether or not scripts/install-tensorflow-backend.sh was run.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { beforeAll, describe, it } from 'vitest';
import { TF_BACKEND_ENV, initTfBackend, tfBackendInfo, type TfBackendChoice, type TfBackendInfo } from '../../src/classifier/tf-backend.ts';
import { ROOT } from './paths.ts';

/**
 * A backend to test on: a tfjs backend name, as `tf.getBackend()` reports it, or
 * `tensorflow-gpu`: the same `tensorflow` backend from @tensorflow/tfjs-node-gpu (built by
 * `install-tensorflow-backend.sh --gpu`; on a machine without a GPU it runs on the CPU).
 */
export type TestBackend = 'tensorflow' | 'tensorflow-gpu' | 'wasm' | 'cpu';

/** Whether a backend can be used here, and if not, why and how to get it. */
export interface TestBackendStatus {
  readonly backend: TestBackend;
  /** The `SIMPAIR_TF_BACKEND` value that selects it. */
  readonly choice: TfBackendChoice;
  /** The tfjs backend name it registers (`tf.getBackend()`). */
  readonly tfjsBackend: string;
  readonly available: boolean;
  /** Why it is unavailable (undefined when available). */
  readonly reason?: string;
}

/**
 * Set (to 1) by .ci/run after it installed the tensorflow backend: a missing backend then
 * fails its tests instead of skipping them, so CI can never pass by skipping.
 */
export const REQUIRE_TENSORFLOW_ENV = 'SIMPAIR_TEST_REQUIRE_TENSORFLOW';

/** Set (to 1) by .ci/run after `install-tensorflow-backend.sh --gpu`: the tensorflow-gpu tests then fail instead of skipping. */
export const REQUIRE_TENSORFLOW_GPU_ENV = 'SIMPAIR_TEST_REQUIRE_TENSORFLOW_GPU';

const INSTALL_HINT = 'run `bash scripts/install-tensorflow-backend.sh` (see README, "TensorFlow backend without Google\'s download")';

/**
 * The tensorflow backend counts as available when `@tensorflow/tfjs-node` resolves from the
 * repository root and its native addon is where tfjs-node loads it from. Checked on disk
 * rather than by importing tfjs-node, which would load 600 MB of TensorFlow into every test
 * file; an addon that exists but fails to load makes the tensorflow tests fail, not skip.
 */
function tensorflowStatus(gpu = false): TestBackendStatus {
  const base = { backend: gpu ? 'tensorflow-gpu' : 'tensorflow', choice: gpu ? 'node-gpu' : 'node', tfjsBackend: 'tensorflow' } as const;
  const pkg = gpu ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
  const hint = gpu ? INSTALL_HINT.replace('.sh`', '.sh --gpu`') : INSTALL_HINT;
  const require = createRequire(`${ROOT}/package.json`);
  let packageJson: string;
  try {
    packageJson = require.resolve(`${pkg}/package.json`);
  } catch {
    return { ...base, available: false, reason: `${pkg} is not installed: ${hint}` };
  }
  let binding: string;
  try {
    // tfjs-node's own lookup (dist/index.js): node-pre-gyp picks the N-API build directory.
    const preGyp = createRequire(packageJson)('@mapbox/node-pre-gyp') as { find(packageJsonPath: string): string };
    binding = preGyp.find(packageJson);
  } catch (err) {
    return { ...base, available: false, reason: `${pkg}'s addon path could not be resolved (${(err as Error).message}): ${hint}` };
  }
  if (!existsSync(binding)) {
    return { ...base, available: false, reason: `${pkg} is installed without its native addon (${binding} missing): ${hint}` };
  }
  return { ...base, available: true };
}

/** Every backend simpair's tests can run on, fastest first; wasm and cpu are always there. */
export const TEST_BACKENDS: readonly TestBackendStatus[] = [
  tensorflowStatus(true),
  tensorflowStatus(),
  { backend: 'wasm', choice: 'wasm', tfjsBackend: 'wasm', available: true },
  { backend: 'cpu', choice: 'cpu', tfjsBackend: 'cpu', available: true },
];

/** The names of the backends available here, e.g. `['tensorflow', 'wasm', 'cpu']` in CI. */
export const AVAILABLE_BACKENDS: readonly TestBackend[] = TEST_BACKENDS.filter((s) => s.available).map((s) => s.backend);

/** True when the `tensorflow` backend (tfjs-node built by the install script) is usable. */
export const hasTensorflowBackend: boolean = AVAILABLE_BACKENDS.includes('tensorflow');

/** True when tfjs-node-gpu (built by the install script with --gpu) is usable; initTfBackend's default order tries it first. */
export const hasTensorflowGpuBackend: boolean = AVAILABLE_BACKENDS.includes('tensorflow-gpu');

/** The status of one backend. */
export function backendStatus(backend: TestBackend): TestBackendStatus {
  const status = TEST_BACKENDS.find((s) => s.backend === backend);
  if (!status) throw new Error(`Unknown test backend "${backend}"; use one of ${TEST_BACKENDS.map((s) => s.backend).join(', ')}.`);
  return status;
}

/**
 * Makes this test file run on `backend`: sets `SIMPAIR_TF_BACKEND` now (so every later
 * `initTfBackend()` in this process, in the file or in code under test, chooses it) and
 * registers a `beforeAll` that initialises it and checks it is the one in use. `'default'`
 * unsets `SIMPAIR_TF_BACKEND` instead: initTfBackend's own order (tfjs-node first when
 * installed, then wasm). Call it at the top level of a test file, or inside `describe`.
 * Returns a getter for the backend info, valid inside tests.
 *
 * @example
 * const backendInfo = useTfBackend('cpu');
 * it('runs on cpu', () => expect(backendInfo().backend).toBe('cpu'));
 */
export function useTfBackend(backend: TestBackend | 'default'): () => TfBackendInfo {
  if (backend === 'default') delete process.env[TF_BACKEND_ENV];
  else process.env[TF_BACKEND_ENV] = backendStatus(backend).choice;
  let info: TfBackendInfo | undefined;
  beforeAll(async () => {
    const earlier = tfBackendInfo();
    info = await initTfBackend();
    // tensorflow and tensorflow-gpu are the same tfjs backend from two packages.
    const gpuPackage = info.package === '@tensorflow/tfjs-node-gpu';
    const wrongPackage = backend === 'tensorflow-gpu' ? !gpuPackage : backend === 'tensorflow' && gpuPackage;
    if (backend !== 'default' && (info.backend !== backendStatus(backend).tfjsBackend || wrongPackage)) {
      throw new Error(
        `This test file asked for the ${backend} backend, but initTfBackend() had already chosen ` +
          `${earlier?.backend ?? info.backend} in this process: use one backend per test file, and call ` +
          `useTfBackend/describeOnBackend before anything initialises TensorFlow.js.`,
      );
    }
  });
  return () => {
    if (!info) throw new Error('The backend is initialised in beforeAll: read it inside a test or hook.');
    return info;
  };
}

/**
 * `describe` on one backend: runs `body` on `backend` (see {@link useTfBackend}), or skips it
 * with the reason printed when the backend is not available here. With
 * `SIMPAIR_TEST_REQUIRE_TENSORFLOW=1` (set by .ci/run) a missing tensorflow backend fails
 * instead of skipping.
 *
 * @example
 * describeOnBackend('tensorflow', 'training', (backendInfo) => {
 *   it('trains', async () => { expect(backendInfo().package).toBe('@tensorflow/tfjs-node'); });
 * });
 */
export function describeOnBackend(backend: TestBackend, name: string, body: (backendInfo: () => TfBackendInfo) => void): void {
  const status = backendStatus(backend);
  const required = (backend === 'tensorflow' && process.env[REQUIRE_TENSORFLOW_ENV] === '1') || (backend === 'tensorflow-gpu' && process.env[REQUIRE_TENSORFLOW_GPU_ENV] === '1');
  const requireEnv = backend === 'tensorflow-gpu' ? REQUIRE_TENSORFLOW_GPU_ENV : REQUIRE_TENSORFLOW_ENV;
  const title = `${name} [${backend} backend]`;
  if (!status.available && !required) {
    console.warn(`Skipping "${title}": ${status.reason}`);
    describe.skip(title, () => body(() => {
      throw new Error('skipped');
    }));
    return;
  }
  describe(title, () => {
    if (!status.available) {
      // A failing test rather than a failing hook: it counts as failed in every summary.
      it(`has the ${backend} backend (${requireEnv}=1)`, () => {
        throw new Error(`${requireEnv}=1 but the ${backend} backend is unavailable: ${status.reason}`);
      });
      return;
    }
    body(useTfBackend(backend));
  });
}
