"""Parity with the PyTorch reference under supplied per-token positions: randomized position
subsets and coupled (repeating) position ids for the position-indexed encodings beyond the two
papers, and Abacus's digit-significance ids in the digit-place stream. `lengen debug step` reads the
positions from the batch file; the reference runs each row with the same ids. Logits, loss and
every gradient must agree to TOL (same metric as test_parity.py)."""
from __future__ import annotations

import random

import pytest
import torch

import lengen_ref as ref
from test_parity import SIZES, TOL, debug_step, make_checkpoint, rel_err

LENGTHS = [60, 33, 9]
LOSS_FROM = [0, 5, 3]


def randomized(n, rng, max_position=400):
    return sorted(rng.sample(range(max_position), n))


def coupled(n, rng):
    # three "numbers" whose digits share significance ids, after a random start offset
    start, third = rng.randrange(50), (n + 2) // 3
    return [start + (t % third) for t in range(n)]


def significance(n, rng):
    return [t % 7 for t in range(n)]


CASES = [
    ("llama", "fire", {"type": "fire"}, randomized),
    ("t5", "fire_coupled", {"type": "fire", "init_threshold": 16.0}, coupled),
    ("llama", "kerple_log", {"type": "kerple", "variant": "log"}, coupled),
    ("t5", "kerple_power", {"type": "kerple", "variant": "power"}, randomized),
    ("llama", "xpos", {"type": "xpos"}, randomized),
    ("llama", "rotary_yarn", {"type": "rotary", "scaling": "yarn", "scaling_factor": 2.0,
                              "original_max_positions": 64}, randomized),
    ("t5", "abs_learned_coupled", {"type": "abs_learned", "max_positions": 128}, coupled),
    ("llama", "abacus", {"type": "abacus", "max_positions": 8}, significance),
    ("t5", "abacus", {"type": "abacus", "max_positions": 8}, significance),
]


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_parity_with_supplied_positions(case, lengen_binary, tmp_path, parity_errors):
    family, name, pe, ids_of = case
    ckpt = make_checkpoint(lengen_binary, tmp_path, family, pe, {}, 4242)
    rng = random.Random(name)
    rows = [[rng.randrange(SIZES["vocab_size"]) for _ in range(n)] for n in LENGTHS]
    ids = [ids_of(n, rng) for n in LENGTHS]
    stream = "place" if pe["type"] == "abacus" else "pos"
    res, grads, _ = debug_step(lengen_binary, ckpt, tmp_path,
                               {"rows": rows, "loss_from": LOSS_FROM, stream: ids})

    model = ref.LengenReference.from_checkpoint(str(ckpt))
    nll, logits = [], []
    for b, r in enumerate(rows):
        t = torch.tensor(ids[b])
        lg = model(torch.tensor([r]), pos=None if stream == "place" else t,
                   intra=t if stream == "place" else None)[0]
        logits.append(lg)
        lp = torch.log_softmax(lg, -1)[: len(r) - 1].gather(1, torch.tensor(r[1:])[:, None])[:, 0]
        nll.append(-lp[LOSS_FROM[b]:])
    loss = torch.cat(nll).mean()
    model.zero_grad()
    loss.backward()

    err = {"logits": max(rel_err(res["logits"][b], logits[b].detach().numpy()) for b in range(3)),
           "loss": abs(res["loss"] - loss.item()) / abs(loss.item())}
    worst_grad = ("", 0.0)
    for n, p in model.named_parameters():
        e = rel_err(grads[n], p.grad.numpy())
        if e >= worst_grad[1]:
            worst_grad = (n, e)
    err["grads"] = worst_grad[1]
    parity_errors[f"positions-{family}-{name}"] = err
    assert err["logits"] < TOL and err["loss"] < TOL, err
    assert worst_grad[1] < TOL, worst_grad
    # The ids matter: the same rows at default positions give other logits.
    if stream == "pos":
        plain = model(torch.tensor([rows[0]]))[0].detach().numpy()
        assert rel_err(plain, logits[0].detach().numpy()) > 1e-3
