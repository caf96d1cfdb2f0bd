#!/usr/bin/env python3
"""The benchmark issue's table, measured side by side in one invocation: for each shape,
lengen (2 threads) and the PyTorch baseline (bench/pytorch_baseline.py: eager, best of 1 and 2
threads; torch.compile beside) for training-step and greedy-decoding throughput, plus achieved
GFLOP/s against this machine's sgemm peak, peak memory against what the step needs, and every
encoding's training throughput relative to NoPE at the small shape.

Usage: bench/compare_pytorch.py [--reps 5] [--rounds 3] [--shapes tiny,small,paper]
       [--no-compile] [--out results.jsonl] [--device cuda --peak-gflops 67000]
       [--precision bf16] [--busy-core]
       (run scripts/setup-python-tests.sh first)
--device cuda runs both sides on the GPU (lengen's CUDA backend, PyTorch on cuda); the
utilisation column is then against --peak-gflops (default: an H100/H200 SXM's fp32 datasheet
rate, 67 TFLOP/s) instead of the CPU's measured sgemm peak.
Each round measures every shape once, lengen and PyTorch back to back; a shared machine's
noise drifts over minutes, so the table gives the median over rounds of each figure and of
each round's lengen/PyTorch ratio (torch.compile is measured in the first round only).
--precision bf16 runs lengen's side with bf16 linear layers (PyTorch stays eager fp32, the
issue's baseline). --busy-core keeps one CPU-bound process running on the last core for the
whole measurement (the loaded state of a shared node).
Prints Markdown tables; every raw measurement goes to --out as JSON lines.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
LENGEN = ROOT / "build" / "lengen"
SHAPES = {  # preset: (batch, seq) of the table; decoding: prompt seq/2 + seq/2 new
    "tiny": (64, 32),
    "small": (64, 64),
    "paper": (8, 128),
}
ENCODINGS = ["nope", "abs_sin", "abs_learned", "t5_bias", "alibi", "alibi_learned", "rotary"]


def run_json(cmd: list[str]) -> list[dict]:
    print("+", " ".join(map(str, cmd)), file=sys.stderr, flush=True)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


DEVICE = "cpu"  # --device: both sides run there
PRECISION = "fp32"  # --precision: lengen's linear layers


def lengen(mode: str, preset: str, pes: list[str], reps: int, **shape) -> list[dict]:
    cmd = [LENGEN, "--device", DEVICE, "--precision", PRECISION, "bench", mode, "--preset", preset, "--pe", ",".join(pes), "--threads", "2",
           "--reps", str(reps), "--json"]
    for k, v in shape.items():
        cmd += [f"--{k.replace('_', '-')}", str(v)]
    return run_json(cmd)


def torch_baseline(mode: str, preset: str, reps: int, compile_too: bool, **shape) -> dict:
    cmd = [sys.executable, ROOT / "bench" / "pytorch_baseline.py", "--mode", mode, "--shape",
           preset, "--reps", str(reps), "--device", DEVICE]
    for k, v in shape.items():
        cmd += [f"--{k.replace('_', '-')}", str(v)]
    if compile_too:
        cmd.append("--compile")
    return run_json(cmd)[0]


def merge_rounds(rounds):
    """Per figure the median over rounds; ratios as the median of each round's ratio."""
    med = lambda xs: statistics.median(xs)
    out = []
    for i in range(4):
        first = dict(rounds[0][i])
        first["tokens_per_s"] = med([r[i]["tokens_per_s"] for r in rounds])
        if "gflops" in first:
            first["gflops"] = med([r[i]["gflops"] for r in rounds])
        out.append(first)
    out[0]["ratio"] = med([r[0]["tokens_per_s"] / r[1]["tokens_per_s"] for r in rounds])
    out[2]["ratio"] = med([r[2]["tokens_per_s"] / r[3]["tokens_per_s"] for r in rounds])
    return out


def fmt_rate(x) -> str:
    return f"{x:,.0f}" if isinstance(x, (int, float)) else str(x)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--shapes", default="tiny,small,paper")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-compile", action="store_true")
    ap.add_argument("--out", default="bench-results.jsonl")
    ap.add_argument("--device", default="cpu", help="cpu or cuda[:N], for lengen and PyTorch")
    ap.add_argument("--peak-gflops", type=float, default=67000.0,
                    help="--device cuda: the GPU's fp32 peak for the utilisation column")
    ap.add_argument("--precision", default="fp32", choices=["fp32", "bf16"],
                    help="lengen's linear layers (PyTorch stays fp32)")
    ap.add_argument("--busy-core", action="store_true",
                    help="keep one CPU-bound process on the last core throughout")
    a = ap.parse_args()
    global DEVICE, PRECISION
    DEVICE = a.device
    PRECISION = a.precision
    spinner = None
    if a.busy_core:
        import os
        last = max(os.sched_getaffinity(0))
        spinner = subprocess.Popen([sys.executable, "-c",
                                    f"import os; os.sched_setaffinity(0, {{{last}}})\nwhile True: pass"])
    try:
        run(a)
    finally:
        if spinner:
            spinner.kill()


def run(a):
    records = []
    gemm_peak = 0.0  # the best sgemm rate seen in any round: what this machine can do
    per_round = {preset: [] for preset in a.shapes.split(",")}
    for rnd in range(a.rounds):
        if DEVICE == "cpu":
            peak = run_json([LENGEN, "bench", "gemm", "--threads", "2", "--reps", str(a.reps), "--json"])
            records += peak
            gemm_peak = max([gemm_peak] + [r["gflops"] for r in peak if r["bench"] == "gemm_peak"])
        else:
            gemm_peak = a.peak_gflops
        for preset in per_round:
            B, T = SHAPES[preset]
            dec = {"batch": B, "prompt": T // 2, "new_tokens": T // 2}
            compile_too = rnd == 0 and not a.no_compile
            ours_t = lengen("train", preset, ["nope"], a.reps, batch=B, seq=T)[0]
            theirs_t = torch_baseline("train", preset, a.reps, compile_too, batch=B, seq=T)
            ours_d = lengen("decode", preset, ["nope"], a.reps, **dec)[0]
            theirs_d = torch_baseline("decode", preset, a.reps, compile_too, **dec)
            for r in (ours_t, theirs_t, ours_d, theirs_d):
                r["round"] = rnd
            records += [ours_t, theirs_t, ours_d, theirs_d]
            per_round[preset].append((ours_t, theirs_t, ours_d, theirs_d))
    rows = [(preset, *SHAPES[preset], *merge_rounds(rounds)) for preset, rounds in per_round.items()]
    pe_rows = lengen("train", "small", ENCODINGS, a.reps, batch=64, seq=64) if "small" in a.shapes else []
    records += pe_rows
    with open(a.out, "w") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")

    print(f"\n{'sgemm peak of this machine (2 threads)' if DEVICE == 'cpu' else 'stated GPU fp32 peak'}"
          f": {gemm_peak:.1f} GFLOP/s; device {DEVICE}; lengen precision {PRECISION}; "
          f"{'one core kept busy; ' if a.busy_core else ''}"
          f"medians over {a.rounds} rounds of {a.reps} repetitions\n")
    print("| shape | batch | train lengen tok/s | train torch eager (compile) | ratio | "
          "lengen GFLOP/s (% of peak) | decode lengen tok/s | decode torch eager (compile) | ratio |")
    print("|---|---|---|---|---|---|---|---|---|")
    for preset, B, T, ot, tt, od, td in rows:
        tc = tt.get("compiled_tokens_per_s", tt.get("compiled_error", "n/a"))
        dc = td.get("compiled_tokens_per_s", td.get("compiled_error", "n/a"))
        print(f"| {preset} | {B} x {T} | {fmt_rate(ot['tokens_per_s'])} | "
              f"{fmt_rate(tt['tokens_per_s'])} ({fmt_rate(tc)}) | "
              f"{ot['ratio']:.2f}x | "
              f"{ot['gflops']:.1f} ({100 * ot['gflops'] / gemm_peak:.0f}%) | "
              f"{fmt_rate(od['tokens_per_s'])} | {fmt_rate(td['tokens_per_s'])} ({fmt_rate(dc)}) | "
              f"{od['ratio']:.2f}x |")
    print("\n| shape | training peak RSS MiB | over start | needed MiB | ratio |")
    print("|---|---|---|---|---|")
    for preset, B, T, ot, *_ in rows:
        print(f"| {preset} | {ot['peak_rss_mib']:.1f} | {ot['peak_rss_mib'] - ot['base_rss_mib']:.1f} | "
              f"{ot['needed_mib']:.1f} | {ot['memory_ratio']:.2f} |")
    if pe_rows:
        nope = next(r["tokens_per_s"] for r in pe_rows if r["pe"] == "nope")
        print("\n| encoding (small, 64 x 64) | tokens/s | vs NoPE |")
        print("|---|---|---|")
        for r in pe_rows:
            print(f"| {r['pe']} | {fmt_rate(r['tokens_per_s'])} | {r['tokens_per_s'] / nope:.2f} |")


if __name__ == "__main__":
    main()
