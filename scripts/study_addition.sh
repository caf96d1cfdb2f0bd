#!/usr/bin/env bash
# The addition study of README "Newer encodings and formats": one run per (encoding, format,
# position scheme) on configs/studies/addition_lg.jsonnet, one after the other, then the table
# of exact match per test length (Markdown) in <out>/table.md.
#   [ONLY="coupled_rev abacus_rev"] scripts/study_addition.sh [out_dir (runs/study_addition)] [extra args of train]
set -euo pipefail
LENGEN=${LENGEN:-./build/lengen}
OUT=${1:-runs/study_addition}
shift || true
mkdir -p "$OUT"
# name | split | pe | data settings
RUNS=(
  "nope_rev|len_tr10_ts40_rev|nope|"
  "nope_plain|len_tr10_ts40|nope|"
  "nope_rev_hint|len_tr10_ts40_rev_hint|nope|"
  "rotary_rev|len_tr10_ts40_rev|rotary|"
  "fire_rev|len_tr10_ts40_rev|fire|"
  "abacus_rev|len_tr10_ts40_rev|{\"type\":\"abacus\",\"max_positions\":128}|data.position_offset=60"
  "coupled_abs_rev|len_tr10_ts40_rev|{\"type\":\"abs_learned\",\"max_positions\":128}|data.positions=coupled data.position_offset=60"
  "coupled_rotary_rev|len_tr10_ts40_rev|rotary|data.positions=coupled data.position_offset=60"
  "coupled_fire_rev|len_tr10_ts40_rev|fire|data.positions=coupled data.position_offset=60"
  "coupled_fire_plain|len_tr10_ts40|fire|data.positions=coupled data.position_offset=60"
  "coupled_fire_rev_hint|len_tr10_ts40_rev_hint|fire|data.positions=coupled data.position_offset=60"
)
# ONLY="a b": run just these, in this order (the table lists every run present).
selected=()
for want in ${ONLY:-}; do
  for spec in "${RUNS[@]}"; do [ "${spec%%|*}" = "$want" ] && selected+=("$spec"); done
done
[ ${#selected[@]} -gt 0 ] || selected=("${RUNS[@]}")
for spec in "${selected[@]}"; do
  IFS='|' read -r name split pe extra <<<"$spec"
  sets=(--set "data.split=$split" --set "model.pe=$pe")
  for kv in $extra; do sets+=(--set "$kv"); done
  echo "== $name" >&2
  "$LENGEN" train --config configs/studies/addition_lg.jsonnet "${sets[@]}" "$@" --out "$OUT/$name"
done
# Table: exact match (%) per test length for every run.
{
  printf '| run | ID |'
  for n in $(seq 11 40); do printf ' %s |' "$n"; done
  printf '\n|---|---|'
  for n in $(seq 11 40); do printf -- '---|'; done
  printf '\n'
  for spec in "${RUNS[@]}"; do
    name=${spec%%|*}
    r="$OUT/$name/results.json"
    [ -f "$r" ] || continue
    jq -r --arg name "$name" '. as $r | "| \($name) | \(.id_accuracy*100|floor) |" +
      ([range(11;41) | tostring as $n | $r.test.per_length[$n].accuracy // null
        | if . == null then " - |" else " \(.*100|floor) |" end] | join(""))' "$r"
  done
} >"$OUT/table.md"
cat "$OUT/table.md"
