#!/usr/bin/env bash
# Regenerates the seed corpora of fuzz/corpus/: the synthetic ones (fuzz/make_seeds.py) and
# those made by a built lengen binary (checkpoints in the three layouts, a SentencePiece model).
#   bash fuzz/make_seeds.sh [path/to/lengen]      (default build/lengen)
# PYTHON: the Python running fuzz/make_seeds.py (default python3; the torch.save seeds need one
# with torch, such as the test venv's ~/.cache/lengen/venv/bin/python).
set -euo pipefail
cd "$(dirname "$0")/.."
LENGEN="${1:-build/lengen}"
"${PYTHON:-python3}" fuzz/make_seeds.py
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
sep=$'\n--8<--\n'
# Checkpoints: the first byte selects the layout (0 native, 1 t5, 2 llama).
seed_checkpoint() {  # name mode dir
  { printf "\\x0$2"; cat "$3/config.json"; printf '%s' "$sep"; cat "$3/model.safetensors"; } \
    > "fuzz/corpus/checkpoint/$1"
}
mkdir -p fuzz/corpus/checkpoint fuzz/corpus/sentencepiece
i=0
for cfg in \
  '{"family":"t5","vocab_size":8,"d_model":4,"n_layers":1,"n_heads":1,"d_head":4,"d_ff":8,"pe":"t5_bias"}' \
  '{"family":"llama","vocab_size":8,"d_model":4,"n_layers":1,"n_heads":2,"d_head":2,"d_ff":4,"pe":"rotary"}' \
  '{"family":"gpt2","vocab_size":6,"d_model":4,"n_layers":1,"n_heads":1,"d_head":4,"d_ff":4,"pe":{"type":"abs_learned","max_positions":8}}' \
  '{"family":"llama","vocab_size":6,"d_model":4,"n_layers":1,"n_heads":1,"d_head":4,"d_ff":4,"pe":{"type":"fire","width":2}}'; do
  echo "$cfg" > "$tmp/c$i.json"
  "$LENGEN" init --config "$tmp/c$i.json" --out "$tmp/m$i" >/dev/null
  seed_checkpoint "native_$i" 0 "$tmp/m$i"
  i=$((i + 1))
done
"$LENGEN" convert --from native --to t5 "$tmp/m0" "$tmp/t5" >/dev/null
seed_checkpoint t5 1 "$tmp/t5"
"$LENGEN" convert --from native --to llama "$tmp/m1" "$tmp/llama" >/dev/null
seed_checkpoint llama 2 "$tmp/llama"
cp "$tmp/m1/model.safetensors" fuzz/corpus/safetensors/model
# A SentencePiece model: the smallest BPE model lengen trains (byte fallback, 300 pieces).
mkdir -p "$tmp/corpus"
for d in $(seq 1 8); do
  for k in $(seq 1 10); do echo "def f$d$k(x):"; echo "    return x + $k.  Hello, world"; done > "$tmp/corpus/$d.txt"
done
"$LENGEN" lm data --corpus "$tmp/corpus" --vocab-size 300 --out "$tmp/lm" >/dev/null 2>&1
cp "$tmp/lm/tokenizer.model" fuzz/corpus/sentencepiece/bpe300
ls -l fuzz/corpus/*/ | head -60
