#!/usr/bin/env bash
# Shared by setup-python.sh and bench-python-setup.sh: creates a venv (if absent) with
# BASE_PYTHON, keeps it out of git, installs torch 2.13.0 first, then a requirements file,
# saying what it does at each step (the first install takes minutes).
#
# torch: the CPU build is wanted. On the dev/CI machines pip is configured with a local wheel
# directory where `torch==2.13.0` resolves to 2.13.0+cpu. Elsewhere plain PyPI serves the CUDA
# build on Linux (several GB): set TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu to get
# the CPU one. After installing, the script warns when the torch it got is not a CPU build.
# Usage: make_venv VENV REQUIREMENTS_FILE
make_venv() {
  local venv="$1" requirements="$2"
  if [ ! -x "$venv/bin/python" ]; then
    echo "make-venv: creating $venv with $("$BASE_PYTHON" --version 2>&1)"
    "$BASE_PYTHON" -m venv "$venv"
  fi
  [ -f "$venv/.gitignore" ] || echo '*' > "$venv/.gitignore"
  local index=()
  [ -n "${TORCH_INDEX_URL:-}" ] && index=(--index-url "$TORCH_INDEX_URL")
  echo "make-venv: step 1/2: torch 2.13.0${TORCH_INDEX_URL:+ from $TORCH_INDEX_URL} (the first time about 200 MB, 1-2 minutes)"
  "$venv/bin/python" -m pip install --quiet "${index[@]}" "torch==2.13.0"
  echo "make-venv: step 2/2: $(basename "$requirements") (the first time 1-3 minutes)"
  "$venv/bin/python" -m pip install --quiet -r "$requirements"
  local torch_version
  torch_version="$("$venv/bin/python" -c 'import torch; print(torch.__version__, torch.version.cuda or "")')"
  case "$torch_version" in
    *+cpu*) ;;
    *" ") ;; # no CUDA in it (e.g. macOS wheels carry no +cpu tag)
    *) echo "make-venv: warning: torch $torch_version is a CUDA build (several GB); simpair's scripts need only the CPU one: TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu bash scripts/setup-python.sh after deleting $venv" >&2 ;;
  esac
}
