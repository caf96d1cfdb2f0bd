#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ (clang++, AddressSanitizer + UndefinedBehaviorSanitizer,
# in build-asan/ shared with scripts/sanitize.sh) and runs each one: every input of its seed
# corpus (fuzz/corpus/<target>/) and of its regressions (fuzz/regressions/<target>/, inputs that
# once crashed), then FUZZ_RUNS executions in all (default 10,000) of mutated inputs, with a fixed
# seed. A crash, a sanitizer report, a leak, an escaped exception, an allocation beyond
# 1 GiB or an input running over 20 s fails the script; the input is left in the printed
# directory (turn it into fuzz/regressions/<target>/<name> once fixed).
#
#   bash scripts/fuzz.sh                              # all targets, the CI budget (~1-2 min)
#   FUZZ_RUNS=1000000 bash scripts/fuzz.sh safetensors # one target, a million executions
#   FUZZ_TIME=600 bash scripts/fuzz.sh config jsonl    # ten minutes each (FUZZ_RUNS ignored)
#   FUZZ_KEEP=1 ...                                    # new inputs added to fuzz/corpus/<target>/
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD="${LENGEN_ASAN_BUILD:-build-asan}"
RUNS="${FUZZ_RUNS:-10000}"
bash scripts/configure-asan.sh "$BUILD"
cmake --build "$BUILD" -j"$(nproc)" --target lengen_fuzz

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for d in fuzz/corpus/*/; do targets+=("$(basename "$d")"); done
fi
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export LSAN_OPTIONS="suppressions=$PWD/scripts/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export OMP_NUM_THREADS=1
out="$(mktemp -d "${TMPDIR:-/tmp}/lengen-fuzz.XXXXXX")"
status=0
passed=0
failed=0
for t in "${targets[@]}"; do
  bin="$BUILD/fuzz/fuzz_$t"
  [ -x "$bin" ] || { echo "fuzz: no target '$t' ($bin)"; exit 2; }
  mkdir -p "$out/$t/new"
  dirs=("fuzz/corpus/$t")
  [ -d "fuzz/regressions/$t" ] && dirs+=("fuzz/regressions/$t")
  if [ "${FUZZ_KEEP:-0}" = 1 ]; then first="fuzz/corpus/$t"; else first="$out/$t/new"; fi
  budget=(-runs="$RUNS")
  [ -n "${FUZZ_TIME:-}" ] && budget=(-max_total_time="$FUZZ_TIME")
  start=$(date +%s)
  if "$bin" "$first" "${dirs[@]}" "${budget[@]}" -seed=1 -timeout=20 -rss_limit_mb=2560 \
      -malloc_limit_mb=1024 -dict=fuzz/lengen.dict -print_final_stats=1 \
      -artifact_prefix="$out/$t/" >"$out/$t/log" 2>&1; then
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$out/$t/log" | grep -o '[0-9]*$' || true)
    echo "fuzz $t: ok, ${execs:-?} executions in $(( $(date +%s) - start )) s"
    passed=$((passed + 1))
  else
    echo "fuzz $t: FAILED (log and crashing input in $out/$t/):"
    tail -n 40 "$out/$t/log"
    status=1
    failed=$((failed + 1))
  fi
done
echo "fuzz: $passed passed, $failed failed"
[ $status -eq 0 ] && rm -rf "$out"
exit $status
