#!/usr/bin/env bash
# Adds what the tests need (GoogleTest, the Python venv of tests/python, clang for the
# sanitizers), builds with tests and runs the whole suite with CTest (GoogleTest cases and the
# Python parity suite); then the same GoogleTest suite under AddressSanitizer +
# UndefinedBehaviorSanitizer (scripts/sanitize.sh) and a bounded run of every fuzz target
# (scripts/fuzz.sh), both in build-asan/. LENGEN_SKIP_SANITIZERS=1 leaves those two out.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-debian-packages.sh scripts/deps-debian.txt scripts/deps-debian-test.txt
# The Python test venv (PyTorch oracle; pinned tests/python/requirements.txt, installed once).
# LENGEN_SKIP_PYTHON=1 leaves the Python suite out (e.g. offline).
PY=""
[ "${LENGEN_SKIP_PYTHON:-0}" = 1 ] || PY="$(bash scripts/setup-python-tests.sh)"
# With the Python suite, the Python module too (python/lengen, tests/python/test_python_api.py),
# built for the venv's interpreter.
PYMOD=(-DLENGEN_PYTHON_MODULE=OFF)
[ -z "$PY" ] || PYMOD=(-DLENGEN_PYTHON_MODULE=ON "-DPython_EXECUTABLE=$PY")
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DLENGEN_BUILD_TESTS=ON \
  -DLENGEN_PYTHON="$PY" "${PYMOD[@]}" >/dev/null
cmake --build build -j"$(nproc)"
ctest --test-dir build -j"$(nproc)" --output-on-failure
if [ "${LENGEN_SKIP_SANITIZERS:-0}" != 1 ]; then
  bash scripts/sanitize.sh
  bash scripts/fuzz.sh
fi
