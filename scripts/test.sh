#!/usr/bin/env bash
# Adds what the tests need (GoogleTest, the Python venv of tests/python), builds with tests and
# runs the whole suite with CTest (GoogleTest cases and the Python parity suite).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-debian-packages.sh scripts/deps-debian.txt scripts/deps-debian-test.txt
# The Python test venv (PyTorch oracle; pinned tests/python/requirements.txt, installed once).
# LENGEN_SKIP_PYTHON=1 leaves the Python suite out (e.g. offline).
PY=""
[ "${LENGEN_SKIP_PYTHON:-0}" = 1 ] || PY="$(bash scripts/setup-python-tests.sh)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DLENGEN_BUILD_TESTS=ON \
  -DLENGEN_PYTHON="$PY" >/dev/null
cmake --build build -j"$(nproc)"
ctest --test-dir build -j"$(nproc)" --output-on-failure
