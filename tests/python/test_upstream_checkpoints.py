"""Checkpoints as the upstream code publishes them: `pytorch_model.bin` written by `torch.save`
(sharded too), holding the buffers the upstream models register (T5 `decoder.alibi`,
`decoder.fixed_rotary_embedding.embed.weight`, `decoder.wpe.embed.weight`; BiPE
`model.layers.{i}.self_attn.alibi`), the unused weights of HF T5 (cross-attention, block 0's
relative bias table, `decoder.embed_tokens`), and a config without lengen's own block.

For every `position_encoding_type` / `rpe_type` the import supports, the weights come from a
lengen model exported to the layout; the buffers are computed here the way the upstream code
computes them (fp32 torch ops, its slope and frequency formulas); `lengen convert` imports the
file and `lengen score` gives the log-probs of the PyTorch reference built from the file alone
(the upstream semantics of test_reference_layouts.py: T5 max distance 128, BiPE delimiters 13 /
869 and clamp 1023).
"""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from test_parity import rel_err, run_lengen
from test_reference_layouts import ROWS, SIZES, lengen_logprobs, llama_reference, t5_reference
from lengen_ref import loss_and_logprobs


def upstream_slopes(n: int) -> list[float]:
    """The ALiBi slopes of both upstream codes (Press et al.'s get_slopes)."""
    def power_of_2(m):
        start = 2 ** (-(2 ** -(math.log2(m) - 3)))
        return [start * start ** i for i in range(m)]
    if math.log2(n).is_integer():
        return power_of_2(n)
    p = 2 ** math.floor(math.log2(n))
    return power_of_2(p) + upstream_slopes(2 * p)[0::2][: n - p]


def alibi_buffer(heads: int, width: int, scale: float = 1.0) -> torch.Tensor:  # [H, 1, width]
    slopes = torch.Tensor([s * scale for s in upstream_slopes(heads)])
    return (slopes[:, None, None] * torch.arange(width)[None, None, :].expand(heads, -1, -1)).view(
        heads, 1, width)


def sinusoid_table(rows: int, dim: int) -> torch.Tensor:  # cat(sin, cos), fp32 as upstream
    inv_freq = 1.0 / (10000 ** (torch.arange(0, dim, 2).float() / dim))
    t = torch.arange(rows).type_as(inv_freq)
    x = torch.einsum("i,j->ij", t, inv_freq)
    return torch.cat([x.sin(), x.cos()], dim=-1)


def t5_upstream_state(state: dict, cfg: dict, pe_type: str) -> dict:
    H, D, dkv, L = cfg["num_heads"], cfg["d_model"], cfg["d_kv"], cfg["num_layers"]
    state = dict(state)
    state["decoder.embed_tokens.weight"] = state["shared.weight"]
    bias = "decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"
    state.setdefault(bias, torch.randn(cfg["relative_attention_num_buckets"], H))
    for l in range(L):
        p = f"decoder.block.{l}.layer.1."
        for w in "qkvo":
            state[p + f"EncDecAttention.{w}.weight"] = torch.randn(H * dkv, D) if w != "o" else torch.randn(D, H * dkv)
        state[p + "layer_norm.weight"] = torch.ones(D)
    if pe_type == "alibi":
        state["decoder.alibi"] = alibi_buffer(H, 2048)
    if pe_type == "abs_sinusoid":
        state["decoder.wpe.embed.weight"] = sinusoid_table(16384, D)
    if pe_type == "transformer_xl_relative_encoding":  # PositionalEmbedding's buffer, per block
        inv_freq = 1 / (10000 ** (torch.arange(0.0, D, 2.0) / D))
        for l in range(L):
            state[f"decoder.block.{l}.layer.0.SelfAttention.pos_emb.inv_freq"] = inv_freq.clone()
    if pe_type == "new_rotary":
        state["decoder.fixed_rotary_embedding.embed.weight"] = sinusoid_table(4096, int(dkv * 0.25))
    return state


def llama_upstream_state(state: dict, cfg: dict) -> dict:
    state = dict(state)
    if cfg["rpe_type"] in ("alibi", "bipe_alibi"):
        H, width = cfg["num_attention_heads"], cfg["max_position_embeddings"]
        buf = alibi_buffer(H, width, 96.0 if cfg["rpe_type"] == "bipe_alibi" else 1.0).view(1, H, 1, width)
        for l in range(cfg["num_hidden_layers"]):
            state[f"model.layers.{l}.self_attn.alibi"] = buf.clone()
    return state


def save_torch(directory, state: dict, shards: int) -> None:
    """pytorch_model.bin, or `shards` files with pytorch_model.bin.index.json."""
    (directory / "model.safetensors").unlink()
    if shards == 1:
        torch.save(state, directory / "pytorch_model.bin")
        return
    names = sorted(state)
    weight_map = {}
    for s in range(shards):
        file = f"pytorch_model-{s + 1:05d}-of-{shards:05d}.bin"
        part = {n: state[n] for n in names[s::shards]}
        torch.save(part, directory / file)
        weight_map.update({n: file for n in part})
    (directory / "pytorch_model.bin.index.json").write_text(
        json.dumps({"metadata": {"total_size": 0}, "weight_map": weight_map}))


CASES = [  # (layout, family, lengen pe, upstream type, shards)
    ("t5", "t5", {"type": "nope"}, "none", 1),
    ("t5", "t5", {"type": "abs_sin"}, "abs_sinusoid", 1),
    ("t5", "t5", {"type": "abs_learned"}, "abs_learned", 1),
    ("t5", "t5", {"type": "t5_bias"}, "t5_relative_bias", 2),
    ("t5", "t5", {"type": "alibi"}, "alibi", 1),
    ("t5", "t5", {"type": "alibi_learned"}, "alibi_learned", 1),
    ("t5", "t5", {"type": "rotary"}, "rotary", 1),
    ("t5", "t5", {"type": "rotary"}, "rotary_rerun", 1),
    ("t5", "t5", {"type": "rotary"}, "new_rotary", 3),
    ("t5", "t5", {"type": "transformer_xl"}, "transformer_xl_relative_encoding", 2),
    ("llama", "llama", {"type": "rotary"}, "rope", 1),
    ("llama", "llama", {"type": "alibi"}, "alibi", 2),
    ("llama", "llama", {"type": "bipe_rope", "delimiters": [13]}, "bipe_rope", 1),
    ("llama", "llama", {"type": "bipe_alibi", "delimiters": [13]}, "bipe_alibi", 1),
]


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{c[3]}-shards{c[4]}" for c in CASES])
def test_upstream_pytorch_checkpoint_imports_and_scores(case, lengen_binary, tmp_path, parity_errors):
    layout, family, pe, upstream, shards = case
    (tmp_path / "c.json").write_text(json.dumps({"model": {"family": family, **SIZES, "pe": pe}}))
    native, ref, back = tmp_path / "native", tmp_path / "upstream", tmp_path / "back"
    run_lengen(lengen_binary, "init", "--config", tmp_path / "c.json", "--seed", 11, "--out", native)
    run_lengen(lengen_binary, "convert", "--from", "native", "--to", layout, native, ref)
    cfg = json.loads((ref / "config.json").read_text())
    del cfg["lengen_config"]  # upstream configs carry none of lengen's bookkeeping
    state = load_file(str(ref / "model.safetensors"))
    if layout == "t5":
        cfg["position_encoding_type"] = upstream
        state = t5_upstream_state(state, cfg, upstream)
    else:
        state = llama_upstream_state(state, cfg)
    (ref / "config.json").write_text(json.dumps(cfg, indent=2))
    save_torch(ref, state, shards)

    run_lengen(lengen_binary, "convert", "--from", layout, "--to", "native", ref, back)
    ours = lengen_logprobs(lengen_binary, back, tmp_path)
    reference = t5_reference(ref) if layout == "t5" else llama_reference(ref)
    with torch.no_grad():
        _, ref_rows, _ = loss_and_logprobs(reference, ROWS)
    err = max(rel_err(a, b.numpy()) for a, b in zip(ours, ref_rows))
    parity_errors.setdefault(f"{layout}-upstream-{upstream}-bin", {})["logprobs"] = err
    assert err <= 1e-4, err
    # The weights came through unchanged: the import scores as the model it was exported from.
    original = lengen_logprobs(lengen_binary, native, tmp_path)
    assert max(rel_err(a, b) for a, b in zip(ours, original)) <= 1e-6


def test_edited_upstream_buffer_is_refused_naming_it(lengen_binary, tmp_path):
    (tmp_path / "c.json").write_text(json.dumps({"model": {"family": "t5", **SIZES, "pe": {"type": "alibi"}}}))
    native, ref = tmp_path / "native", tmp_path / "upstream"
    run_lengen(lengen_binary, "init", "--config", tmp_path / "c.json", "--seed", 3, "--out", native)
    run_lengen(lengen_binary, "convert", "--from", "native", "--to", "t5", native, ref)
    state = t5_upstream_state(load_file(str(ref / "model.safetensors")),
                              json.loads((ref / "config.json").read_text()), "alibi")
    state["decoder.alibi"] = state["decoder.alibi"] * 2  # slopes of another code version
    save_torch(ref, state, 1)
    p = run_lengen(lengen_binary, "convert", "--from", "t5", "--to", "native", ref, tmp_path / "out",
                   check=False)
    assert p.returncode != 0 and "buffer 'decoder.alibi'" in p.stderr, p.stderr
    assert not (tmp_path / "out").exists()
