#!/usr/bin/env bash
# Creates the Python test venv (the PyTorch oracle of tests/python) and installs the pinned
# tests/python/requirements.txt into it, only when the venv is missing or the requirements
# changed (a stamp file holds their hash), so a second run costs nothing.
# Venv location: ${LENGEN_VENV:-$HOME/.cache/lengen/venv}. Prints the venv's python on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${LENGEN_VENV:-$HOME/.cache/lengen/venv}"
REQ="tests/python/requirements.txt"
STAMP="$VENV/.lengen-requirements.sha256"
want="$(sha256sum "$REQ" | cut -d' ' -f1)"
if [ ! -x "$VENV/bin/python" ]; then
  SYS_PY=/usr/bin/python3
  [ -x "$SYS_PY" ] || SYS_PY="$(command -v python3)"
  echo "Creating Python test venv at $VENV" >&2
  mkdir -p "$(dirname "$VENV")"
  "$SYS_PY" -m venv "$VENV" >&2
fi
if [ "$(cat "$STAMP" 2>/dev/null || true)" != "$want" ]; then
  echo "Installing $REQ into $VENV (first time: a multi-GB download for torch)" >&2
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip >&2
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REQ" >&2
  echo "$want" > "$STAMP"
fi
echo "$VENV/bin/python"
