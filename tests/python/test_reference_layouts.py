"""The exported reference layouts (SPEC 7), read by the PyTorch reference under their own
names and config fields, give lengen's log-probs.

The loaders below build the reference model from the reference config fields alone
(`T5Config`-style for the length-generalization layout, `LlamaConfig` + `rpe_type` for BiPE's)
and map the reference tensor names themselves; the `lengen_config` key that exports carry for
exact round trips is ignored, so the check does not lean on lengen's own bookkeeping.
"""
from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from lengen_ref import LengenReference, RefConfig, loss_and_logprobs
from test_parity import rel_err, run_lengen

SIZES = {"vocab_size": 29, "d_model": 32, "n_layers": 2, "n_heads": 4, "d_head": 8, "d_ff": 48}
ROWS = [[3, 17, 5, 9, 1, 22, 4, 8, 13, 2] * 5, [7, 7, 1, 28, 0, 5], [11, 2, 2, 19]]

T5_PE = {"none": "nope", "abs_sinusoid": "abs_sin", "abs_learned": "abs_learned",
         "t5_relative_bias": "t5_bias", "alibi": "alibi", "alibi_learned": "alibi_learned",
         "rotary": "rotary"}


def t5_reference(directory) -> LengenReference:
    cfg = json.loads((directory / "config.json").read_text())
    pe = {"type": T5_PE[cfg["position_encoding_type"]]}
    if pe["type"] == "t5_bias":
        pe.update(num_buckets=cfg["relative_attention_num_buckets"],
                  max_distance=cfg["relative_attention_max_distance"])
    if pe["type"] == "abs_learned":
        pe["max_positions"] = 2048  # the reference's fixed table size
    if pe["type"] == "rotary":  # the reference: int(0.25 * d_kv) dims, GPT-J pairs, base 1e4
        pe.update(rotary_dim=int(0.25 * cfg["d_kv"]), pairing="interleaved", base=10000.0)
    ffn = {"relu": "relu", "gelu": "gelu", "gated-silu": "swiglu"}[cfg["feed_forward_proj"]]
    tied = cfg.get("tie_word_embeddings", True)
    c = RefConfig(family="t5", vocab_size=cfg["vocab_size"], d_model=cfg["d_model"],
                  n_layers=cfg["num_layers"], n_heads=cfg["num_heads"], d_head=cfg["d_kv"],
                  d_ff=cfg["d_ff"], norm="rmsnorm", norm_eps=cfg["layer_norm_epsilon"], ffn=ffn,
                  qk_scale="none", tie_embeddings=tied, output_scale=tied, pe=pe)
    rename = [
        (r"^shared\.weight$", "model.embed_tokens.weight"),
        (r"^decoder\.block\.(\d+)\.layer\.0\.SelfAttention\.([qkvo])\.weight$",
         r"model.layers.\1.self_attn.\2_proj.weight"),
        (r"^decoder\.block\.0\.layer\.0\.SelfAttention\.relative_attention_bias\.weight$",
         "model.pe.t5_bias.weight"),
        (r"^decoder\.block\.(\d+)\.layer\.0\.layer_norm\.weight$",
         r"model.layers.\1.input_layernorm.weight"),
        (r"^decoder\.block\.(\d+)\.layer\.2\.DenseReluDense\.wi\.weight$",
         r"model.layers.\1.mlp.up_proj.weight"),
        (r"^decoder\.block\.(\d+)\.layer\.2\.DenseReluDense\.wi_0\.weight$",
         r"model.layers.\1.mlp.gate_proj.weight"),
        (r"^decoder\.block\.(\d+)\.layer\.2\.DenseReluDense\.wi_1\.weight$",
         r"model.layers.\1.mlp.up_proj.weight"),
        (r"^decoder\.block\.(\d+)\.layer\.2\.DenseReluDense\.wo\.weight$",
         r"model.layers.\1.mlp.down_proj.weight"),
        (r"^decoder\.block\.(\d+)\.layer\.2\.layer_norm\.weight$",
         r"model.layers.\1.post_attention_layernorm.weight"),
        (r"^decoder\.final_layer_norm\.weight$", "model.norm.weight"),
        (r"^decoder\.wpe\.weight$", "model.pe.abs_learned.weight"),
        (r"^decoder\.learned_logslopes$", "model.pe.alibi.log_slopes"),
        (r"^lm_head\.weight$", "lm_head.weight"),
    ]
    return load_renamed(c, directory, rename)


def llama_reference(directory) -> LengenReference:
    cfg = json.loads((directory / "config.json").read_text())
    assert cfg["num_key_value_heads"] == cfg["num_attention_heads"]
    pe = {"rope": {"type": "rotary", "rotary_fraction": 1.0, "pairing": "half",
                   "base": float(cfg["rope_theta"])},
          "alibi": {"type": "alibi"}}[cfg["rpe_type"]]
    c = RefConfig(family="llama", vocab_size=cfg["vocab_size"], d_model=cfg["hidden_size"],
                  n_layers=cfg["num_hidden_layers"], n_heads=cfg["num_attention_heads"],
                  d_head=cfg["head_dim"], d_ff=cfg["intermediate_size"], norm="rmsnorm",
                  norm_eps=cfg["rms_norm_eps"], ffn="swiglu", qk_scale="inv_sqrt_dh",
                  tie_embeddings=False, output_scale=False, pe=pe)
    return load_renamed(c, directory, [(r"^(.*)$", r"\1")])  # Llama names are lengen's


def load_renamed(c: RefConfig, directory, rename) -> LengenReference:
    model = LengenReference(c)
    state = {}
    for name, tensor in load_file(str(directory / "model.safetensors")).items():
        for pattern, target in rename:
            if re.match(pattern, name):
                state[re.sub(pattern, target, name)] = tensor
                break
        else:
            raise AssertionError(f"unexpected tensor {name} in the exported file")
    model.load_state_dict(state, strict=True)
    return model.float()


def lengen_logprobs(binary, ckpt, tmp_path):
    seqs = tmp_path / "seqs.txt"
    seqs.write_text("\n".join(" ".join(map(str, r)) for r in ROWS) + "\n")
    out = json.loads(run_lengen(binary, "score", "--checkpoint", ckpt, "--tokens-file", seqs).stdout)
    return [np.array(o["logprobs"]) for o in out]


CASES = [  # (layout, family, pe options)
    ("t5", "t5", {"type": "nope"}),
    ("t5", "t5", {"type": "abs_sin"}),
    ("t5", "t5", {"type": "abs_learned"}),
    ("t5", "t5", {"type": "t5_bias"}),
    ("t5", "t5", {"type": "alibi"}),
    ("t5", "t5", {"type": "alibi_learned"}),
    ("t5", "t5", {"type": "rotary"}),
    ("llama", "llama", {"type": "rotary", "base": 500}),
    ("llama", "llama", {"type": "alibi"}),
]


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{c[2]['type']}" for c in CASES])
def test_reference_reads_the_exported_layout(case, lengen_binary, tmp_path, parity_errors):
    layout, family, pe = case
    (tmp_path / "c.json").write_text(json.dumps({"model": {"family": family, **SIZES, "pe": pe}}))
    native, exported = tmp_path / "native", tmp_path / layout
    run_lengen(lengen_binary, "init", "--config", tmp_path / "c.json", "--seed", 7, "--out", native)
    run_lengen(lengen_binary, "convert", "--from", "native", "--to", layout, native, exported)
    ref = t5_reference(exported) if layout == "t5" else llama_reference(exported)
    with torch.no_grad():
        _, ref_rows, _ = loss_and_logprobs(ref, ROWS)
    ours = lengen_logprobs(lengen_binary, native, tmp_path)
    err = max(rel_err(a, b.numpy()) for a, b in zip(ours, ref_rows))
    parity_errors.setdefault(f"{layout}-layout-{pe['type']}", {})["logprobs"] = err
    assert err <= 1e-4, err
