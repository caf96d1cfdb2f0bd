#!/usr/bin/env bash
# Training-step throughput, lengen (2 threads) vs PyTorch eager (best of 1 and 2 threads), in
# one invocation, for the shapes of the benchmark issue. Needs build/lengen and the test venv
# (scripts/setup-python-tests.sh). Usage: bench/compare_pytorch.sh [pe] [reps]
set -euo pipefail
cd "$(dirname "$0")/.."
PE="${1:-nope}"
REPS="${2:-5}"
PY="$(bash scripts/setup-python-tests.sh)"
printf '%-6s %-9s %12s %12s %7s\n' shape batch lengen torch ratio
for spec in "tiny 64 32" "small 64 64" "paper 8 128"; do
  set -- $spec
  ours=$(./build/lengen bench train --preset "$1" --batch "$2" --seq "$3" --pe "$PE" --reps "$REPS" --threads 2 |
         awk -v pe="$PE" '$1 == pe {print $2}')
  theirs=$("$PY" bench/pytorch_train_baseline.py --shape "$1" --batch "$2" --seq "$3" --pe "$PE" --reps "$REPS" |
           "$PY" -c 'import json,sys; print(round(json.load(sys.stdin)["tokens_per_s"]))')
  printf '%-6s %-9s %12s %12s %7.2f\n' "$1" "$2x$3" "$ours" "$theirs" "$(awk -v a="$ours" -v b="$theirs" 'BEGIN {print a / b}')"
done
