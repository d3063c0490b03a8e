#!/usr/bin/env bash
# Shared by setup-python.sh and bench-python-setup.sh: creates a venv (if absent) with
# BASE_PYTHON, keeps it out of git, installs torch 2.13.0 first (it resolves to the local CPU
# wheel on these machines; plain `torch` would pull several GB of CUDA), then a requirements file.
# Usage: make_venv VENV REQUIREMENTS_FILE
make_venv() {
  local venv="$1" requirements="$2"
  if [ ! -x "$venv/bin/python" ]; then
    echo "Creating $venv with $("$BASE_PYTHON" --version 2>&1)"
    "$BASE_PYTHON" -m venv "$venv"
  fi
  [ -f "$venv/.gitignore" ] || echo '*' > "$venv/.gitignore"
  "$venv/bin/python" -m pip install --quiet "torch==2.13.0"
  "$venv/bin/python" -m pip install --quiet -r "$requirements"
}
