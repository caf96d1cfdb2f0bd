#!/usr/bin/env bash
# Adds what the tests need (GoogleTest), builds with tests and runs the whole suite with CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-debian-packages.sh scripts/deps-debian.txt scripts/deps-debian-test.txt
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DLENGEN_BUILD_TESTS=ON >/dev/null
cmake --build build -j"$(nproc)"
ctest --test-dir build -j"$(nproc)" --output-on-failure
