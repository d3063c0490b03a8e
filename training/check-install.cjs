// Build-time check of the training image (training/Dockerfile, run in both stages): fails the
// build when @tensorflow/tfjs-node-gpu is not the one scripts/install-tensorflow-backend.sh --gpu
// built (SIMPAIR_TF_BACKEND=node-gpu allows no fallback, so a job would die at start):
//  - its native binding is there, linked against the TensorFlow of the PyPI wheel (TF_Version
//    below), not Google's libtensorflow 2.9.1 (which tfjs-node-gpu's own install script fetches);
//  - every deps/nvidia/<library>/lib is on LD_LIBRARY_PATH, which TensorFlow needs to find the
//    CUDA libraries (its RUNPATH misses cusolver, cuDNN's misses nvrtc), and every
//    LD_LIBRARY_PATH entry under node_modules exists.
// Loading the binding needs no GPU: without one TensorFlow runs on the CPU.
'use strict';
const { existsSync, lstatSync, readdirSync } = require('node:fs');
const { dirname, join } = require('node:path');

/** scripts/install-tensorflow-backend.sh's TF_VERSION (test/training/image.test.ts compares). */
const TF_VERSION = '2.21.0';

const fail = (message) => {
  console.error(`check-install: ${message}`);
  process.exit(1);
};
const pkgDir = dirname(require.resolve('@tensorflow/tfjs-node-gpu/package.json'));
const libDir = join(pkgDir, 'lib');
const bindings = existsSync(libDir) ? readdirSync(libDir).map((v) => join(libDir, v, 'tfjs_binding.node')).filter((f) => existsSync(f)) : [];
if (bindings.length === 0) fail(`@tensorflow/tfjs-node-gpu has no native binding under ${libDir}: scripts/install-tensorflow-backend.sh --gpu did not run or failed. Check the build log above.`);

const deps = join(pkgDir, 'deps');
if (!existsSync(join(deps, 'lib', 'libtensorflow_cc.so.2'))) fail(`${deps}/lib has no libtensorflow_cc.so.2 (the tensorflow wheel's library).`);
if (existsSync(join(deps, 'lib', 'libtensorflow.so.2.9.1')) && !lstatSync(join(deps, 'lib', 'libtensorflow.so.2.9.1')).isSymbolicLink()) {
  fail(`${deps}/lib/libtensorflow.so.2.9.1 is a file: tfjs-node-gpu's install script downloaded Google's libtensorflow; install with scripts off.`);
}
const nvidia = join(deps, 'nvidia');
const libDirs = existsSync(nvidia) ? readdirSync(nvidia).map((d) => join(nvidia, d, 'lib')).filter((d) => existsSync(d)) : [];
if (libDirs.length === 0) fail(`${nvidia} has no <library>/lib directory: the NVIDIA wheels are not installed.`);
const path = (process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean);
const missing = libDirs.filter((d) => !path.includes(d));
if (missing.length > 0) fail(`LD_LIBRARY_PATH lacks ${missing.join(', ')}: TensorFlow would not find those CUDA libraries. Fix ENV LD_LIBRARY_PATH in training/Dockerfile.`);
const stale = path.filter((d) => d.includes('node_modules') && !existsSync(d));
if (stale.length > 0) fail(`LD_LIBRARY_PATH names ${stale.join(', ')}, which does not exist.`);

const tf = require('@tensorflow/tfjs-node-gpu');
const version = tf.backend().binding?.TF_Version;
if (version !== TF_VERSION) fail(`tfjs-node-gpu loaded TensorFlow ${version}, not ${TF_VERSION} (the tensorflow wheel of training/requirements-gpu.txt).`);
console.log(`tfjs-node-gpu binding: ${bindings.join(', ')}; TensorFlow ${version}; ${libDirs.length} CUDA library directories on LD_LIBRARY_PATH`);
