// Build-time check of the training image (training/Dockerfile): fails the build when
// @tensorflow/tfjs-node-gpu is not installed or its install script did not fetch its native
// binding (SIMPAIR_TF_BACKEND=node-gpu allows no fallback, so a job would die at start).
'use strict';
const { existsSync, readdirSync } = require('node:fs');
const { dirname, join } = require('node:path');

const pkgDir = dirname(require.resolve('@tensorflow/tfjs-node-gpu/package.json'));
const libDir = join(pkgDir, 'lib');
const bindings = existsSync(libDir) ? readdirSync(libDir).map((v) => join(libDir, v, 'tfjs_binding.node')).filter((f) => existsSync(f)) : [];
if (bindings.length === 0) {
  console.error(`@tensorflow/tfjs-node-gpu has no native binding under ${libDir}: its install script did not run or could not download libtensorflow. Check the build log above.`);
  process.exit(1);
}
console.log(`tfjs-node-gpu binding: ${bindings.join(', ')}`);
