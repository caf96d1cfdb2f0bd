"""PyTorch baseline of lengen's benchmark shapes, for the side-by-side comparison run by
bench/compare_pytorch.py: one training step (forward, backward, AdamW) and greedy decoding with
a KV cache, on the parity suite's reference model (tests/python/lengen_ref.py: the same math as
lengen's t5-family model).

Eager mode is measured at every thread count of --threads and the best is reported;
--compile also measures torch.compile (reported beside, never instead). --device cuda runs on
the GPU instead (every tensor made there through torch.set_default_device; the thread counts
are then moot, each timed call ends with torch.cuda.synchronize). Prints one JSON line.
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

SHAPES = {  # L, D, H, F (t5 family, dh = D / H): the `lengen bench` presets
    "tiny": (2, 128, 4, 512),
    "small": (4, 256, 4, 1024),
    "paper": (12, 768, 12, 3072),
}


def make_model(shape: str, pe: str, vocab: int) -> LengenReference:
    L, D, H, F = SHAPES[shape]
    c = RefConfig(family="t5", vocab_size=vocab, d_model=D, n_layers=L, n_heads=H, d_head=D // H,
                  d_ff=F, norm="rmsnorm", norm_eps=1e-6, ffn="relu", qk_scale="none",
                  tie_embeddings=True, output_scale=True, pe={"type": pe})
    torch.manual_seed(0)
    return LengenReference(c).float()


def sync():
    """Waits for the GPU's queued work (a no-op on the CPU), so timings cover it."""
    if torch.cuda.is_available() and torch.get_default_device().type == "cuda":
        torch.cuda.synchronize()


def median_rate(step, tokens_per_call: int, reps: int, warmup: int) -> float:
    rates = []
    for i in range(warmup + reps):
        sync()
        t0 = time.perf_counter()
        step()
        sync()
        dt = time.perf_counter() - t0
        if i >= warmup:
            rates.append(tokens_per_call / dt)
    return statistics.median(rates)


def train_rate(a, compiled: bool) -> float:
    model = make_model(a.shape, a.pe, a.vocab)
    forward = torch.compile(model) if compiled else model
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    tokens = torch.randint(0, a.vocab, (a.batch, a.seq + 1))

    def step():
        logits = forward(tokens[:, :-1])
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, a.vocab),
                                                 tokens[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return median_rate(step, a.batch * a.seq, a.reps, a.warmup)


class CachedDecoder:
    """Greedy decoding with a per-layer key/value cache over the reference model's weights:
    the standard eager incremental decoder (as Hugging Face's generate does), so the baseline
    does O(context) work per new token, like lengen's KV cache."""

    def __init__(self, model: LengenReference):
        self.m = model

    def layer_step(self, layer, x, pos, cache, bias_row):
        att = layer.self_attn
        B = x.shape[0]
        h = layer.input_layernorm(x)
        q = att.q_proj(h).view(B, 1, att.H, att.dh).transpose(1, 2)  # [B, H, 1, dh]
        k = att.k_proj(h).view(B, 1, att.H, att.dh).transpose(1, 2)
        v = att.v_proj(h).view(B, 1, att.H, att.dh).transpose(1, 2)
        pe = self.m.model.pe
        q, k = pe.rotate(q, pos), pe.rotate(k, pos)
        if cache[0] is not None:
            k = torch.cat([cache[0], k], dim=2)
            v = torch.cat([cache[1], v], dim=2)
        cache[0], cache[1] = k, v
        s = att.scale * (q @ k.transpose(-1, -2))  # [B, H, 1, ctx]
        if bias_row is not None:
            s = s + bias_row[None, :, None, :]
        y = (torch.softmax(s, dim=-1) @ v).transpose(1, 2).reshape(B, 1, att.H * att.dh)
        x = x + att.o_proj(y)
        return x + layer.mlp(layer.post_attention_layernorm(x))

    @torch.no_grad()
    def generate(self, prompt: torch.Tensor, new_tokens: int) -> torch.Tensor:
        m = self.m.model
        B, T0 = prompt.shape
        caches = [[None, None] for _ in m.layers]
        seq = prompt
        tok = prompt
        total = T0 + new_tokens
        bias_all = m.pe.score_bias(torch.arange(total))  # [H, total, total] or None
        start = 0
        for step in range(new_tokens):
            n = tok.shape[1]
            pos = torch.arange(start, start + n)
            x = m.pe.add_input(m.embed_tokens(tok), pos)
            for layer, cache in zip(m.layers, caches):
                if n == 1:
                    bias_row = None if bias_all is None else bias_all[:, start, : start + 1]
                    x = self.layer_step(layer, x, pos, cache, bias_row)
                else:  # prefill: the full causal forward of the prompt, keeping k and v
                    x = self.prefill_layer(layer, x, pos, cache, bias_all)
            h = m.norm(x[:, -1])
            if self.m.c.output_scale:
                h = h * (self.m.c.d_model ** -0.5)
            logits = h @ m.embed_tokens.weight.t()
            tok = torch.argmax(logits, dim=-1, keepdim=True)
            seq = torch.cat([seq, tok], dim=1)
            start += n
        return seq

    def prefill_layer(self, layer, x, pos, cache, bias_all):
        att = layer.self_attn
        B, T, _ = x.shape
        h = layer.input_layernorm(x)
        q = att.q_proj(h).view(B, T, att.H, att.dh).transpose(1, 2)
        k = att.k_proj(h).view(B, T, att.H, att.dh).transpose(1, 2)
        v = att.v_proj(h).view(B, T, att.H, att.dh).transpose(1, 2)
        pe = self.m.model.pe
        q, k = pe.rotate(q, pos), pe.rotate(k, pos)
        cache[0], cache[1] = k, v
        s = att.scale * (q @ k.transpose(-1, -2))
        if bias_all is not None:
            s = s + bias_all[None, :, :T, :T]
        s = s.masked_fill(~torch.ones(T, T, dtype=torch.bool).tril(), float("-inf"))
        y = (torch.softmax(s, dim=-1) @ v).transpose(1, 2).reshape(B, T, att.H * att.dh)
        x = x + att.o_proj(y)
        return x + layer.mlp(layer.post_attention_layernorm(x))


def decode_rate(a, compiled: bool) -> float:
    decoder = CachedDecoder(make_model(a.shape, a.pe, a.vocab).eval())
    if compiled:  # the per-token layer step; dynamic, as the cache grows every step
        decoder.layer_step = torch.compile(decoder.layer_step, dynamic=True)
    prompt = torch.randint(0, a.vocab, (a.batch, a.prompt))
    return median_rate(lambda: decoder.generate(prompt, a.new_tokens), a.batch * a.new_tokens,
                       a.reps, a.warmup)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=["train", "decode"], default="train")
    ap.add_argument("--shape", choices=sorted(SHAPES), default="small")
    ap.add_argument("--pe", default="nope")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--seq", type=int, default=64, help="train: tokens per sequence")
    ap.add_argument("--prompt", type=int, default=32, help="decode: prompt tokens")
    ap.add_argument("--new-tokens", type=int, default=32, help="decode: generated tokens")
    ap.add_argument("--vocab", type=int, default=64)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--compile", action="store_true", help="also measure torch.compile")
    ap.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    a = ap.parse_args()
    if a.device != "cpu":
        if not a.device.startswith("cuda") or not torch.cuda.is_available():
            sys.exit(f"pytorch_baseline: device {a.device!r} is not available here")
        torch.set_default_device(a.device)
        a.threads = str(torch.get_num_threads())  # host threads only launch kernels
    measure = train_rate if a.mode == "train" else decode_rate
    by_threads = {}
    for t in a.threads.split(","):
        torch.set_num_threads(int(t))
        by_threads[t] = measure(a, False)
    best = max(by_threads, key=by_threads.get)
    out = {"mode": a.mode, "shape": a.shape, "pe": a.pe, "batch": a.batch, "torch": torch.__version__,
           "tokens_per_s": by_threads[best], "best_threads": int(best),
           "by_threads": {k: round(v, 1) for k, v in by_threads.items()}, "device": a.device}
    if a.device != "cpu":
        out["gpu"] = torch.cuda.get_device_name()
    if a.compile:
        torch.set_num_threads(int(best))
        try:
            out["compiled_tokens_per_s"] = measure(a, True)
        except Exception as e:  # report why, keep the eager figure
            out["compiled_error"] = f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"
    print(json.dumps(out))


if __name__ == "__main__":
    main()
