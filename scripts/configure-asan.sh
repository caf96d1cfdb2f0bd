#!/usr/bin/env bash
# Configures the AddressSanitizer + UndefinedBehaviorSanitizer build (clang++) shared by
# scripts/sanitize.sh (the GoogleTest suite under the sanitizers) and scripts/fuzz.sh (the
# libFuzzer targets of fuzz/): one build of lengen_core serves both (CPU only: LENGEN_CUDA=OFF,
# nvcc does not take the sanitizer flags). Usage: configure-asan.sh DIR
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD="${1:-build-asan}"
# -O1 -gline-tables-only: reports with file:line at a tolerable speed and build time; no NDEBUG, so assertions stay on.
# -fno-sanitize-recover: the first UB report aborts (a test or fuzz run fails on it).
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" \
  -DCMAKE_CXX_FLAGS="$SAN" -DCMAKE_EXE_LINKER_FLAGS="$SAN" \
  -DLENGEN_BUILD_TESTS=ON -DLENGEN_PYTHON= -DLENGEN_FUZZ=ON -DLENGEN_CUDA=OFF >/dev/null
