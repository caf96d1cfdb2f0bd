#!/usr/bin/env bash
# The GoogleTest suite (the end-to-end CLI flows included: they run the sanitized `lengen`
# binary) under AddressSanitizer + UndefinedBehaviorSanitizer, built with clang++ in
# build-asan/ (LENGEN_ASAN_BUILD overrides). Any sanitizer report fails the run: ASan and UBSan
# abort on the first error, LeakSanitizer fails the process at exit.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD="${LENGEN_ASAN_BUILD:-build-asan}"
bash scripts/configure-asan.sh "$BUILD"
cmake --build "$BUILD" -j"$(nproc)" --target lengen lengen_tests
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export LSAN_OPTIONS="suppressions=$PWD/scripts/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
# Left to the plain build: microbench_smoke (a timing harness, not a test of behaviour) and the
# learning test (1,300 training steps, ~6 min under the sanitizers: its code paths are the
# shorter pipeline tests' ones, run here).
ctest --test-dir "$BUILD" -j"$(nproc)" --output-on-failure \
  -E '^(microbench_smoke|PipelineEndToEnd\.TrainEvaluateCopyReachesHighInDistributionAccuracy)$'
