#!/usr/bin/env bash
# Install checks that need a full `npm ci` (about a minute each; a CI step, not part of npm test):
#  1. the repository installs from npm's cache alone (--offline: no install script downloads
#     anything) and prints no npm warning (unknown config, uncovered install scripts);
#  2. the training image's node_modules, installed from training/package-lock.json with
#     scripts off and source maps removed as training/Dockerfile does, fits its size budget.
# Usage: bash scripts/check-install.sh   (run after `npm ci`, so npm's cache holds every tarball;
# step 2 fetches the training packages once if the cache lacks them).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TRAINING_BUDGET_MB=${TRAINING_BUDGET_MB:-200}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== npm ci --offline of a fresh copy (npm $(npm --version))"
mkdir "$work/root"
cp package.json package-lock.json "$work/root/"
(cd "$work/root" && npm ci --offline --no-audit --no-fund) >"$work/root.log" 2>&1 || { cat "$work/root.log"; echo "FAIL: npm ci --offline failed"; exit 1; }
# EBADENGINE only says this machine's Node is older than package.json's engines (CI may run
# an older Node than the Lambdas); every other warning is a finding.
if grep -i "npm warn" "$work/root.log" | grep -v "EBADENGINE"; then echo "FAIL: npm ci printed warnings"; exit 1; fi
if ls "$work/root/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/" 2>/dev/null | grep -qi cuda; then
  echo "FAIL: onnxruntime-node's install script downloaded the CUDA provider"; exit 1
fi
echo "ok: offline, no warnings, no install-time downloads"

echo "== training image node_modules (training/package-lock.json, scripts off)"
mkdir "$work/training"
cp training/package.json training/package-lock.json "$work/training/"
(cd "$work/training" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --engine-strict=false) >"$work/training.log" 2>&1 || { cat "$work/training.log"; exit 1; }
find "$work/training/node_modules" -name '*.map' -delete
size_mb=$(du -sm "$work/training/node_modules" | cut -f1)
echo "training node_modules: ${size_mb} MB (budget ${TRAINING_BUDGET_MB} MB; TensorFlow + CUDA, laid out by install-tensorflow-backend.sh --gpu in the image build, come on top)"
for forbidden in aws-cdk-lib constructs onnxruntime-node; do
  if [ -d "$work/training/node_modules/$forbidden" ]; then echo "FAIL: $forbidden is in the training image"; exit 1; fi
done
if [ ! -f "$work/training/node_modules/@tensorflow/tfjs-node-gpu/package.json" ]; then echo "FAIL: tfjs-node-gpu not installed"; exit 1; fi
if [ "$size_mb" -gt "$TRAINING_BUDGET_MB" ]; then echo "FAIL: over budget"; exit 1; fi
echo "ok"
