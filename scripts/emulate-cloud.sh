#!/usr/bin/env bash
# npm run emulate:cloud [-- --scenario NAME ... | --all] [--drop ROLE:SERVICE:ACTION:RESOURCE_SUFFIX] [--json FILE]
# The synthesized stack run locally with IAM enforced (test/emulation/), on Node 22.
set -euo pipefail
cd "$(dirname "$0")/.."
node22="$(bash scripts/node22.sh)"
exec nice "$node22" --import tsx test/emulation/main.ts "$@"
