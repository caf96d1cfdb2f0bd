#!/usr/bin/env python3
"""Two lengen binaries side by side (a change against the binary before it): `bench train` and
`bench decode` (with --decode) tokens/s per shape and encoding, measured in interleaved rounds
(old, new, old, new, ...) so that a shared machine's drift hits both alike. Prints Markdown
tables of the medians over rounds and of the median per-round new/old ratio (> 1: the new
binary is faster).

Usage: bench/compare_binaries.py OLD NEW [--rounds 5] [--reps 5] [--threads 1]
       [--shapes tiny,small,paper] [--pe nope,t5_bias,alibi,rotary] [--decode]
       [--out results.jsonl]
Shapes (batch x tokens): tiny 64 x 32, small 64 x 64, paper 8 x 128 (training); decoding uses
prompt T/2 + T/2 new tokens at the same batch, as bench/compare_pytorch.py.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

SHAPES = {"tiny": (64, 32), "small": (64, 64), "paper": (8, 128)}


def run_json(cmd: list[str]) -> list[dict]:
    print("+", " ".join(cmd), file=sys.stderr, flush=True)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def bench(binary: str, mode: str, preset: str, pes: list[str], a) -> dict[str, float]:
    batch, seq = SHAPES[preset]
    cmd = [binary, "bench", mode, "--preset", preset, "--pe", ",".join(pes), "--batch", str(batch),
           "--reps", str(a.reps), "--threads", str(a.threads), "--json"]
    cmd += ["--seq", str(seq)] if mode == "train" else ["--prompt", str(seq // 2),
                                                        "--new-tokens", str(seq // 2)]
    return {r["pe"]: r["tokens_per_s"] for r in run_json(cmd)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("old")
    p.add_argument("new")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--shapes", default="tiny,small,paper")
    p.add_argument("--pe", default="nope,t5_bias,alibi,rotary")
    p.add_argument("--decode", action="store_true", help="also bench decode")
    p.add_argument("--out", default="")
    a = p.parse_args()
    pes = a.pe.split(",")
    modes = ["train"] + (["decode"] if a.decode else [])
    raw = []  # (mode, shape, pe, round, old, new)
    for r in range(a.rounds):
        for mode in modes:
            for shape in a.shapes.split(","):
                old = bench(a.old, mode, shape, pes, a)
                new = bench(a.new, mode, shape, pes, a)
                for pe in pes:
                    raw.append({"mode": mode, "shape": shape, "pe": pe, "round": r,
                                "old": old[pe], "new": new[pe]})
    if a.out:
        with open(a.out, "w") as f:
            for x in raw:
                f.write(json.dumps(x) + "\n")
    for mode in modes:
        print(f"\n{mode} tokens/s, median over {a.rounds} interleaved rounds "
              f"({a.threads} thread(s), median of {a.reps} each):\n")
        print("| shape | encoding | old | new | new/old (median of rounds) | min..max |")
        print("|---|---|---|---|---|---|")
        for shape in a.shapes.split(","):
            for pe in pes:
                xs = [x for x in raw if x["mode"] == mode and x["shape"] == shape and x["pe"] == pe]
                ratios = [x["new"] / x["old"] for x in xs]
                print(f"| {shape} | {pe} | {statistics.median(x['old'] for x in xs):,.0f} | "
                      f"{statistics.median(x['new'] for x in xs):,.0f} | "
                      f"{statistics.median(ratios):.3f} | {min(ratios):.3f}..{max(ratios):.3f} |")


if __name__ == "__main__":
    main()
