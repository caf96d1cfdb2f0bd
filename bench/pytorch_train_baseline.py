"""PyTorch eager baseline of one lengen training step (forward, backward, AdamW), for the
side-by-side throughput comparison of bench/compare_pytorch.sh.

The model is the parity suite's reference (tests/python/lengen_ref.py), the same math as
lengen's. Prints one JSON line: median tokens/s over --reps timed steps after --warmup, the
best over the torch thread counts given in --threads.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import sys
import time

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests" / "python"))
from lengen_ref import LengenReference, RefConfig  # noqa: E402

SHAPES = {  # L, D, H, F (t5 family, dh = D / H)
    "tiny": (2, 128, 4, 512),
    "small": (4, 256, 4, 1024),
    "paper": (12, 768, 12, 3072),
}


def measure(shape, pe, batch, seq, vocab, reps, warmup, threads):
    torch.set_num_threads(threads)
    L, D, H, F = SHAPES[shape]
    c = RefConfig(family="t5", vocab_size=vocab, d_model=D, n_layers=L, n_heads=H, d_head=D // H,
                  d_ff=F, norm="rmsnorm", norm_eps=1e-6, ffn="relu", qk_scale="none",
                  tie_embeddings=True, output_scale=True, pe={"type": pe})
    torch.manual_seed(0)
    model = LengenReference(c).float()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    tokens = torch.randint(0, vocab, (batch, seq + 1))
    rates = []
    for i in range(warmup + reps):
        t0 = time.perf_counter()
        logits = model(tokens[:, :-1])
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, vocab), tokens[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        dt = time.perf_counter() - t0
        if i >= warmup:
            rates.append(batch * seq / dt)
    return statistics.median(rates)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shape", choices=sorted(SHAPES), default="small")
    ap.add_argument("--pe", default="nope")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--seq", type=int, default=64)
    ap.add_argument("--vocab", type=int, default=64)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", default="1,2")
    a = ap.parse_args()
    per_threads = {t: measure(a.shape, a.pe, a.batch, a.seq, a.vocab, a.reps, a.warmup, int(t))
                   for t in a.threads.split(",")}
    best = max(per_threads, key=per_threads.get)
    print(json.dumps({"shape": a.shape, "pe": a.pe, "batch": a.batch, "seq": a.seq,
                      "torch": torch.__version__, "tokens_per_s": per_threads[best],
                      "best_threads": int(best),
                      "by_threads": {k: round(v, 1) for k, v in per_threads.items()}}))


if __name__ == "__main__":
    main()
