#!/usr/bin/env bash
# The GPU bench from a fresh clone, in one command (run from the repository root):
#   bash bench/gpu.sh [bench/gpu.ts options]
# installs the npm dependencies, builds the GPU backend (TensorFlow + CUDA from the hash-locked
# PyPI wheels: about 2.1 GB downloaded once, see scripts/install-tensorflow-backend.sh --gpu;
# needs python3 + pip, g++, make, binutils and the Node.js headers), the Python reference for
# Keras (.venv-ref, scripts/bench-python-setup.sh; skipped with --no-keras or when
# SIMPAIR_REF_PYTHON names one) and runs bench/gpu.ts. Without a GPU the bench says so and exits 0.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules/@tensorflow/tfjs-core ] || npm ci --no-audit --no-fund
bash scripts/install-tensorflow-backend.sh --gpu
if [[ " $* " != *" --no-keras "* && -z "${SIMPAIR_REF_PYTHON:-}" && ! -x .venv-ref/bin/python ]] && command -v nvidia-smi >/dev/null; then
  bash scripts/bench-python-setup.sh
fi
node bin/run-ts.js bench/gpu.ts "$@"
