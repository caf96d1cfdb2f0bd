"""Parity of the lengen engine with the PyTorch reference (lengen_ref.py, written from SPEC).

For a small randomly initialised model under every positional encoding and every family:
  (a) logits and teacher-forced per-token log-probs of a batch of 3 rows of different lengths
      (150, 77 and 9 tokens: well beyond the lengths a model of the task suite trains on);
  (b) the loss (mean token cross-entropy, prompt-masked rows);
  (c) the gradient of every parameter tensor (and the global gradient norm);
  (d) every tensor after one AdamW step (torch.optim.AdamW + clip_grad_norm_, decay on all),
      applied to lengen's gradients (see the note at (d) below);
  (e) greedy decoding with lengen's KV cache vs the reference's full recomputation.
Metric: max relative error = max|lengen - ref| / max|ref| over each tensor (a max-norm ratio);
a case fails when any tensor exceeds TOL = 1e-4 (fp32 on both sides).
"""
from __future__ import annotations

import json
import random
import subprocess
import zlib

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file as load_np

import lengen_ref as ref

TOL = 1e-4
SIZES = dict(vocab_size=23, d_model=32, n_layers=2, n_heads=4, d_head=8, d_ff=48)
LENGTHS = [150, 77, 9]           # rows of the batch
LOSS_FROM = [0, 5, 3]            # prompt masking per row
PROMPT_LENGTHS = [5, 40, 70]     # greedy decoding prompts
MAX_NEW, EOS = 24, 5
ADAMW = dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.1, grad_clip=1.0)
ABS_LEARNED_TABLE = 160

ENCODINGS = [
    ("nope", {"type": "nope"}),
    ("abs_sin", {"type": "abs_sin"}),
    ("abs_learned", {"type": "abs_learned", "max_positions": ABS_LEARNED_TABLE}),
    ("t5_bias", {"type": "t5_bias"}),
    ("alibi", {"type": "alibi"}),
    ("alibi_learned", {"type": "alibi_learned"}),
    ("rotary", {"type": "rotary"}),  # family default: t5 dh/4 interleaved, llama full half-split
    ("rotary_half_0.5", {"type": "rotary", "pairing": "half", "rotary_fraction": 0.5}),
    ("rotary_interleaved_full", {"type": "rotary", "pairing": "interleaved", "rotary_fraction": 1.0}),
    ("rotary_dim2_base500", {"type": "rotary", "rotary_dim": 2, "base": 500}),
]
# Beyond the two papers (README "Newer encodings and formats"); abacus reads the digit-place stream
# and is checked with supplied positions in test_parity_newer.py.
ENCODINGS += [
    ("fire", {"type": "fire"}),
    ("fire_w8_c0.5_L8", {"type": "fire", "width": 8, "init_c": 0.5, "init_threshold": 8.0}),
    ("kerple_log", {"type": "kerple", "variant": "log"}),
    ("kerple_power", {"type": "kerple", "variant": "power"}),
    ("xpos", {"type": "xpos"}),
    ("xpos_half_sb64", {"type": "xpos", "pairing": "half", "rotary_fraction": 0.5, "scale_base": 64.0}),
    ("rotary_pi2", {"type": "rotary", "scaling": "linear", "scaling_factor": 2.0}),
    ("rotary_ntk4", {"type": "rotary", "scaling": "ntk", "scaling_factor": 4.0, "rotary_fraction": 0.5}),
    ("rotary_yarn4", {"type": "rotary", "scaling": "yarn", "scaling_factor": 4.0,
                      "original_max_positions": 64}),
    # Transformer-XL's relative keys; a clamp below the rows' lengths so distances share it
    ("transformer_xl", {"type": "transformer_xl"}),
    ("transformer_xl_clamp40", {"type": "transformer_xl", "clamp_length": 40}),
]
CASES = [(fam, name, pe, {}) for fam in ("t5", "llama") for name, pe in ENCODINGS]
CASES += [
    # not a power of two heads (ALiBi slope rule, HD != D), and T5 buckets with 6 heads
    ("t5", "alibi_h6", {"type": "alibi"}, {"n_heads": 6}),
    ("llama", "alibi_learned_h6", {"type": "alibi_learned"}, {"n_heads": 6}),
    ("t5", "t5_bias_h6_b16_d40", {"type": "t5_bias", "num_buckets": 16, "max_distance": 40}, {"n_heads": 6}),
    # the configured dropout is switched off by `debug step` and `generate`
    ("t5", "abs_sin_dropout0.1", {"type": "abs_sin"}, {"dropout": 0.1}),
    # abs_sin's table scale: the family default (llama: its init std) and an explicit one
    ("llama", "abs_sin_scale0.5", {"type": "abs_sin", "scale": 0.5}, {}),
    # T5 v1.1's gated-gelu FFN (tanh GELU gate), as the upstream t5 layout's feed_forward_proj
    ("t5", "t5_bias_geglu", {"type": "t5_bias"}, {"ffn": "geglu"}),
    # the gpt2 variant: LayerNorm with bias, GELU, tied unscaled head
    ("gpt2", "nope", {"type": "nope"}, {}),
    ("gpt2", "abs_learned", {"type": "abs_learned", "max_positions": ABS_LEARNED_TABLE}, {}),
    ("gpt2", "alibi", {"type": "alibi"}, {}),
    ("gpt2", "rotary", {"type": "rotary"}, {}),
]
# BiPE: delimiters 3 and 7 of the 23 tokens, a table of 8 rows (long segments are clamped to
# its frozen last row); 6 heads for the x96 ALiBi slopes of a non-power-of-two head count.
BIPE = {"delimiters": [3, 7], "intra_size": 8}
CASES += [
    ("llama", "bipe_rope", {"type": "bipe_rope", **BIPE}, {}),
    ("llama", "bipe_alibi", {"type": "bipe_alibi", **BIPE}, {}),
    ("llama", "bipe_alibi_h6", {"type": "bipe_alibi", **BIPE}, {"n_heads": 6}),
    ("llama", "bipe_rope_base500_A1024", {"type": "bipe_rope", "delimiters": [3], "base": 500}, {}),
    # a clamp below the table's last row (BiPE's released code clamps at 1023 with larger tables)
    ("llama", "bipe_alibi_clamp5", {"type": "bipe_alibi", **BIPE, "intra_clamp": 5}, {}),
    ("t5", "bipe_rope", {"type": "bipe_rope", **BIPE}, {}),
    ("t5", "bipe_alibi", {"type": "bipe_alibi", **BIPE}, {}),
]


def case_id(c):
    return f"{c[0]}-{c[1]}"


def rel_err(a, b) -> float:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    den = np.max(np.abs(b)) if b.size else 0.0
    num = np.max(np.abs(a - b)) if a.size else 0.0
    return float(num / den) if den > 0 else float(num)


def run_lengen(binary, *args, check=True):
    p = subprocess.run([binary, *map(str, args)], capture_output=True, text=True, timeout=300)
    if check and p.returncode != 0:
        raise AssertionError(f"lengen {' '.join(map(str, args))} failed ({p.returncode}):\n"
                             f"{p.stdout}\n{p.stderr}")
    return p


def random_rows(seed, lengths, vocab):
    rng = random.Random(seed)
    return [[rng.randrange(vocab) for _ in range(n)] for n in lengths]


def make_checkpoint(binary, tmp_path, family, pe, extra, seed):
    cfg = {"model": {"family": family, **SIZES, "pe": pe, **extra}}
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    ckpt = tmp_path / "ckpt"
    run_lengen(binary, "init", "--config", tmp_path / "config.json", "--seed", seed, "--out", ckpt)
    return ckpt


def debug_step(binary, ckpt, tmp_path, batch):
    """`lengen debug step` on `batch` (the batch-file object): result.json, the gradients and
    the updated weights."""
    (tmp_path / "batch.json").write_text(json.dumps(batch))
    out = tmp_path / "step"
    run_lengen(binary, "debug", "step", "--checkpoint", ckpt, "--batch",
               tmp_path / "batch.json", "--out", out, "--threads", 1)
    res = json.loads((out / "result.json").read_text())
    return res, load_np(str(out / "grads.safetensors")), load_np(str(out / "updated.safetensors"))


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_parity(case, lengen_binary, tmp_path, parity_errors):
    family, name, pe, extra = case
    seed = zlib.crc32(case_id(case).encode()) % 100000
    ckpt = make_checkpoint(lengen_binary, tmp_path, family, pe, extra, seed)
    vocab = SIZES["vocab_size"]
    rows = random_rows(seed, LENGTHS, vocab)

    # --- lengen: one step on the batch
    res, grads, updated = debug_step(lengen_binary, ckpt, tmp_path,
                                     {"rows": rows, "loss_from": LOSS_FROM, "adamw": ADAMW})

    # --- reference
    model = ref.LengenReference.from_checkpoint(str(ckpt))
    names = [n for n, _ in model.named_parameters()]
    assert sorted(names) == sorted(grads), "parameter names differ from the checkpoint's"
    loss, logprobs, logits = ref.loss_and_logprobs(model, rows, LOSS_FROM)
    model.zero_grad()
    loss.backward()

    err = {}
    worst = {}  # quantity -> (error, tensor)

    def note(q, e, what):
        err[q] = max(err.get(q, 0.0), e)
        if e >= worst.get(q, (-1, ""))[0]:
            worst[q] = (e, what)

    # (a) logits and per-token log-probs of every row
    for b in range(len(rows)):
        note("logits", rel_err(res["logits"][b], logits[b].detach().numpy()), f"row {b}")
        note("logprobs", rel_err(res["logprobs"][b], logprobs[b].detach().numpy()), f"row {b}")
    # (b) the loss
    note("loss", abs(res["loss"] - loss.item()) / abs(loss.item()), "loss")
    # (c) every gradient, and the global norm clipping sees
    params = dict(model.named_parameters())
    for n, p in params.items():
        note("grads", rel_err(grads[n], p.grad.numpy()), n)
    ref_norm = torch.sqrt(sum((p.grad.double() ** 2).sum() for p in params.values())).item()
    note("grads", abs(res["grad_norm"] - ref_norm) / ref_norm, "global grad norm")
    # (d) one AdamW step: clip_grad_norm_ then torch.optim.AdamW, weight decay on every tensor.
    # Asserted on lengen's own gradients loaded into the reference (so (d) checks clipping, decay
    # and the Adam update, and (c) the gradients): Adam's first step is lr * g / (|g| + eps), ill
    # conditioned where |g| is near eps = 1e-8, so fp32 noise of 1e-7 * max|g| in such a gradient
    # moves that weight by up to 2 lr. The end-to-end error (reference gradients) is recorded
    # too, as `updated_e2e`, and not asserted.
    def adamw_step(m):
        if ADAMW["grad_clip"] > 0:
            torch.nn.utils.clip_grad_norm_(m.parameters(), ADAMW["grad_clip"])
        torch.optim.AdamW(m.parameters(), lr=ADAMW["lr"], betas=(ADAMW["beta1"], ADAMW["beta2"]),
                          eps=ADAMW["eps"], weight_decay=ADAMW["weight_decay"],
                          foreach=False).step()

    adamw_step(model)
    for n, p in params.items():
        e2e = rel_err(updated[n], p.detach().numpy())
        err["updated_e2e"] = max(err.get("updated_e2e", 0.0), e2e)
    model_l = ref.LengenReference.from_checkpoint(str(ckpt))
    for n, p in model_l.named_parameters():
        p.grad = torch.from_numpy(grads[n].copy())
    adamw_step(model_l)
    for n, p in model_l.named_parameters():
        note("updated", rel_err(updated[n], p.detach().numpy()), n)

    # (e) greedy decoding: lengen's KV cache vs full recomputation (on the initial weights)
    model0 = ref.LengenReference.from_checkpoint(str(ckpt))
    prompts = random_rows(seed + 1, PROMPT_LENGTHS, vocab)
    (tmp_path / "prompts.json").write_text(json.dumps(prompts))
    gen = json.loads(run_lengen(lengen_binary, "generate", "--checkpoint", ckpt, "--prompts",
                                tmp_path / "prompts.json", "--max-new", MAX_NEW, "--eos", EOS,
                                "--threads", 1).stdout)["outputs"]
    expected, step_logits = ref.greedy_naive(model0, prompts, MAX_NEW, EOS)
    greedy = "equal"
    for b, (g, e) in enumerate(zip(gen, expected)):
        if g == e:
            continue
        # A difference is acceptable only at a near-tie of the reference's two candidates.
        t = next(i for i in range(min(len(g), len(e))) if g[i] != e[i])
        lg = step_logits[b][t]
        gap = abs(float(lg[g[t]] - lg[e[t]])) / float(lg.abs().max())
        if gap > TOL:
            greedy = f"DIFFERENT row {b} step {t}: {g} vs {e}"
            break
        greedy = f"near-tie row {b} step {t} (gap {gap:.1e})"
    err["greedy"] = greedy

    parity_errors[case_id(case)] = err
    bad = {q: worst[q] for q in worst if worst[q][0] > TOL}
    assert not bad, f"relative error above {TOL}: {bad}"
    assert not greedy.startswith("DIFFERENT"), greedy


@pytest.mark.parametrize("family", ["t5", "llama"])
def test_abs_learned_refuses_positions_beyond_its_table(family, lengen_binary, tmp_path):
    pe = {"type": "abs_learned", "max_positions": ABS_LEARNED_TABLE}
    ckpt = make_checkpoint(lengen_binary, tmp_path, family, pe, {}, 7)
    rows = random_rows(3, [ABS_LEARNED_TABLE + 1, 10], SIZES["vocab_size"])
    (tmp_path / "batch.json").write_text(json.dumps({"rows": rows}))
    p = run_lengen(lengen_binary, "debug", "step", "--checkpoint", ckpt, "--batch",
                   tmp_path / "batch.json", "--out", tmp_path / "out", check=False)
    assert p.returncode == 1, p.stderr
    assert "abs_learned" in p.stderr and f"table of {ABS_LEARNED_TABLE} positions" in p.stderr, p.stderr
    # Exactly the table's length is fine.
    rows[0] = rows[0][:ABS_LEARNED_TABLE]
    (tmp_path / "batch.json").write_text(json.dumps({"rows": rows}))
    run_lengen(lengen_binary, "debug", "step", "--checkpoint", ckpt, "--batch",
               tmp_path / "batch.json", "--out", tmp_path / "out")
    # Decoding past the table is refused too (the reference refuses such positions as well).
    (tmp_path / "prompts.json").write_text(json.dumps([rows[0][: ABS_LEARNED_TABLE - 2]]))
    p = run_lengen(lengen_binary, "generate", "--checkpoint", ckpt, "--prompts",
                   tmp_path / "prompts.json", "--max-new", 5, check=False)
    assert p.returncode == 1 and "outside the learned table" in p.stderr, p.stderr
    model = ref.LengenReference.from_checkpoint(str(ckpt))
    with pytest.raises(ValueError):
        model(torch.tensor([rows[0] + [1]]))


def test_debug_step_rejects_bad_batches(lengen_binary, tmp_path):
    ckpt = make_checkpoint(lengen_binary, tmp_path, "t5", {"type": "nope"}, {}, 1)
    cases = {
        '{"rows": [[1, 2, 99]]}': "outside the vocabulary",
        '{"rows": [[1]]}': "at least 2 tokens",
        '{"rows": [[1, 2]], "loss_from": [0, 1]}': "loss_from",
        '{"rows": [[1, 2]], "adamw": {"learning_rate": 1}}': "unknown key 'adamw.learning_rate'",
        '{"tokens": [[1, 2]]}': "rows",
    }
    for text, message in cases.items():
        (tmp_path / "b.json").write_text(text)
        p = run_lengen(lengen_binary, "debug", "step", "--checkpoint", ckpt, "--batch",
                       tmp_path / "b.json", "--out", tmp_path / "o", check=False)
        assert p.returncode == 1 and "lengen: error:" in p.stderr and message in p.stderr, (text, p.stderr)
