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
         "rotary": "rotary", "rotary_rerun": "rotary", "new_rotary": "rotary",
         "transformer_xl_relative_encoding": "transformer_xl"}


def t5_reference(directory) -> LengenReference:
    cfg = json.loads((directory / "config.json").read_text())
    pe = {"type": T5_PE[cfg["position_encoding_type"]]}
    if pe["type"] == "t5_bias":  # transformers 4.16.2's compute_bias: max distance always 128
        pe.update(num_buckets=cfg["relative_attention_num_buckets"], max_distance=128)
    if pe["type"] == "abs_learned":
        pe["max_positions"] = 2048  # the reference's fixed table size
    if pe["type"] == "rotary":  # the reference: int(0.25 * d_kv) dims, GPT-J pairs, base 1e4
        pe.update(rotary_dim=int(0.25 * cfg["d_kv"]), pairing="interleaved", base=10000.0)
    ffn = {"relu": "relu", "gated-gelu": "geglu"}[cfg["feed_forward_proj"]]  # what 4.16.2 builds
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
        # Transformer-XL: per block W_r, u = r_w_bias (with the keys), v = r_r_bias (with W_r e)
        (r"^decoder\.block\.(\d+)\.layer\.0\.SelfAttention\.r\.weight$",
         r"model.pe.transformer_xl.\1.r_weight"),
        (r"^decoder\.block\.(\d+)\.layer\.0\.SelfAttention\.r_w_bias$",
         r"model.pe.transformer_xl.\1.content_bias"),
        (r"^decoder\.block\.(\d+)\.layer\.0\.SelfAttention\.r_r_bias$",
         r"model.pe.transformer_xl.\1.position_bias"),
        (r"^lm_head\.weight$", "lm_head.weight"),
    ]
    return load_renamed(c, directory, rename)


def llama_reference(directory) -> LengenReference:
    """BiPE's code (transformers 4.31): head_dim = hidden / heads, RoPE base 10000 for its own
    classes, segments ended by ids 13 and 869, intra-segment index clamped at 1023."""
    cfg = json.loads((directory / "config.json").read_text())
    assert cfg["num_key_value_heads"] == cfg["num_attention_heads"]
    rpe = cfg["rpe_type"]
    head_dim = cfg["hidden_size"] // cfg["num_attention_heads"]
    if rpe == "rope":  # plain LlamaForCausalLM: current transformers read these two
        head_dim = cfg.get("head_dim", head_dim)
    bipe = {"delimiters": [d for d in (13, 869) if d < cfg["vocab_size"]],
            "intra_size": cfg.get("train_scale", 1024),
            "intra_clamp": min(1023, cfg.get("train_scale", 1024) - 1)}
    pe = {"rope": {"type": "rotary", "rotary_fraction": 1.0, "pairing": "half",
                   "base": float(cfg.get("rope_theta", 10000.0))},
          "alibi": {"type": "alibi"},
          "bipe_rope": {"type": "bipe_rope", "base": 10000.0, **bipe},
          "bipe_alibi": {"type": "bipe_alibi", **bipe}}[rpe]
    c = RefConfig(family="llama", vocab_size=cfg["vocab_size"], d_model=cfg["hidden_size"],
                  n_layers=cfg["num_hidden_layers"], n_heads=cfg["num_attention_heads"],
                  d_head=head_dim, d_ff=cfg["intermediate_size"], norm="rmsnorm",
                  norm_eps=cfg["rms_norm_eps"], ffn="swiglu", qk_scale="inv_sqrt_dh",
                  tie_embeddings=False, output_scale=False, pe=pe)
    # Llama names are lengen's; BiPE's intra-segment table is model.embeds.0
    return load_renamed(c, directory, [(r"^model\.embeds\.0\.weight$", "model.pe.bipe.intra.weight"),
                                       (r"^(.*)$", r"\1")])


def load_state(directory) -> dict:
    """The weights of a checkpoint directory: model.safetensors, or torch.save's
    pytorch_model.bin (sharded through pytorch_model.bin.index.json)."""
    if (directory / "model.safetensors").exists():
        return load_file(str(directory / "model.safetensors"))
    index = directory / "pytorch_model.bin.index.json"
    files = sorted(set(json.loads(index.read_text())["weight_map"].values())) if index.exists() \
        else ["pytorch_model.bin"]
    state = {}
    for f in files:
        state.update(torch.load(directory / f, weights_only=True))
    return state


# What the upstream models hold beside the weights lengen's model has: recomputed buffers,
# HF T5's unused cross-attention and embedding alias, block 0's relative bias table under other
# encodings. The reference model rebuilds the buffers itself.
UNUSED = [r"^decoder\.block\.\d+\.layer\.1\.", r"^decoder\.embed_tokens\.weight$", r"^decoder\.alibi$",
          r"^decoder\.fixed_rotary_embedding\.", r"^decoder\.wpe\.embed\.weight$",
          r"^model\.layers\.\d+\.self_attn\.alibi$", r"\.SelfAttention\.pos_emb\.inv_freq$"]


def load_renamed(c: RefConfig, directory, rename) -> LengenReference:
    model = LengenReference(c)
    state = {}
    unused = UNUSED + ([] if c.pe["type"] == "t5_bias" else [r"relative_attention_bias"])
    for name, tensor in load_state(directory).items():
        if any(re.search(u, name) for u in unused):
            continue
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


CASES = [  # (layout, family, pe options[, other model keys])
    ("t5", "t5", {"type": "nope"}),
    ("t5", "t5", {"type": "t5_bias"}, {"ffn": "geglu"}),
    ("t5", "t5", {"type": "abs_sin"}),
    ("t5", "t5", {"type": "abs_learned"}),
    ("t5", "t5", {"type": "t5_bias"}),
    ("t5", "t5", {"type": "alibi"}),
    ("t5", "t5", {"type": "alibi_learned"}),
    ("t5", "t5", {"type": "rotary"}),
    ("t5", "t5", {"type": "transformer_xl"}),
    ("llama", "llama", {"type": "rotary", "base": 500}),
    ("llama", "llama", {"type": "alibi"}),
    ("llama", "llama", {"type": "bipe_rope", "delimiters": [13]}),
    ("llama", "llama", {"type": "bipe_alibi", "delimiters": [13], "intra_size": 2048, "intra_clamp": 1023}),
]


def case_id(c):
    return f"{c[0]}-{c[2]['type']}" + "".join(f"-{k}_{v}" for k, v in (c[3] if len(c) > 3 else {}).items())


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_reference_reads_the_exported_layout(case, lengen_binary, tmp_path, parity_errors):
    layout, family, pe = case[:3]
    extra = case[3] if len(case) > 3 else {}
    (tmp_path / "c.json").write_text(json.dumps({"model": {"family": family, **SIZES, "pe": pe, **extra}}))
    native, exported = tmp_path / "native", tmp_path / layout
    run_lengen(lengen_binary, "init", "--config", tmp_path / "c.json", "--seed", 7, "--out", native)
    run_lengen(lengen_binary, "convert", "--from", "native", "--to", layout, native, exported)
    ref = t5_reference(exported) if layout == "t5" else llama_reference(exported)
    with torch.no_grad():
        _, ref_rows, _ = loss_and_logprobs(ref, ROWS)
    ours = lengen_logprobs(lengen_binary, native, tmp_path)
    err = max(rel_err(a, b.numpy()) for a, b in zip(ours, ref_rows))
    parity_errors.setdefault(case_id(case).replace(f"{layout}-", f"{layout}-layout-", 1), {})["logprobs"] = err
    assert err <= 1e-4, err


# Models the reference code would compute differently: refused, or exported with --allow-lossy,
# which names what differs; the reference then computes something else (checked), and importing
# that export back gives what the reference computes.
LOSSY = [
    ("t5", "t5", {"type": "t5_bias", "num_buckets": 8, "max_distance": 8}, "pe.max_distance 8"),
    ("t5", "t5", {"type": "transformer_xl", "clamp_length": 3}, "pe.clamp_length 3"),
    ("llama", "llama", {"type": "bipe_alibi", "delimiters": [3, 7], "intra_size": 8}, "pe.delimiters"),
]


@pytest.mark.parametrize("case", LOSSY, ids=[f"{c[0]}-{c[2]['type']}" for c in LOSSY])
def test_lossy_exports_say_what_the_reference_computes(case, lengen_binary, tmp_path):
    layout, family, pe, needle = case
    (tmp_path / "c.json").write_text(json.dumps({"model": {"family": family, **SIZES, "pe": pe}}))
    native, exported, back = tmp_path / "native", tmp_path / layout, tmp_path / "back"
    run_lengen(lengen_binary, "init", "--config", tmp_path / "c.json", "--seed", 7, "--out", native)
    refused = run_lengen(lengen_binary, "convert", "--from", "native", "--to", layout, native,
                         exported, check=False)
    assert refused.returncode != 0 and needle in refused.stderr and "--allow-lossy" in refused.stderr
    assert not exported.exists()
    lossy = run_lengen(lengen_binary, "convert", "--allow-lossy", "--from", "native", "--to", layout,
                       native, exported)
    assert "note: lossy export: " + needle in lossy.stderr, lossy.stderr
    ref = t5_reference(exported) if layout == "t5" else llama_reference(exported)
    with torch.no_grad():
        _, ref_rows, _ = loss_and_logprobs(ref, ROWS)
    ours = lengen_logprobs(lengen_binary, native, tmp_path)
    assert max(rel_err(a, b.numpy()) for a, b in zip(ours, ref_rows)) > 1e-3  # really differs
    run_lengen(lengen_binary, "convert", "--from", layout, "--to", "native", exported, back)
    imported = lengen_logprobs(lengen_binary, back, tmp_path)
    assert max(rel_err(a, b.numpy()) for a, b in zip(imported, ref_rows)) <= 1e-4


def rel_shift(x: torch.Tensor) -> torch.Tensor:
    """Transformer-XL's shift (Dai et al. 2019, appendix B): row i of x [B, H, Q, K], indexed
    by the descending distances K-1 .. 0, moved left by Q-1-i, so that column j holds distance
    i - j (for j <= i; entries above the diagonal are junk the mask hides)."""
    B, H, Q, K = x.shape
    padded = torch.cat([torch.zeros(B, H, Q, 1), x], dim=3).view(B, H, K + 1, Q)
    return padded[:, :, 1:].reshape(B, H, Q, K)


def test_transformer_xl_reference_indexes_distances_as_the_shift_does():
    """The reference's distance lookup (lengen_ref.PE.xl_scores) equals the shift formulation
    of the length-generalization code (distances arange(T-1, -1, -1) clamped, then rel_shift)
    on every causal entry."""
    torch.manual_seed(0)
    T, clamp = 12, 7
    c = RefConfig(family="t5", vocab_size=5, d_model=16, n_layers=1, n_heads=2, d_head=4,
                  d_ff=8, norm="rmsnorm", norm_eps=1e-6, ffn="relu", qk_scale="none",
                  tie_embeddings=True, output_scale=True,
                  pe={"type": "transformer_xl", "clamp_length": clamp})
    model = LengenReference(c)
    for p in model.parameters():
        torch.nn.init.normal_(p)
    pe, t = model.model.pe, model.model.pe.transformer_xl[0]
    q, k = torch.randn(3, 2, T, 4), torch.randn(3, 2, T, 4)
    ours = pe.xl_scores(q, k, torch.arange(T), 0, 1.0)
    from lengen_ref import sinusoid_table
    dist = torch.arange(T - 1, -1, -1).clamp(max=clamp)
    r = (sinusoid_table(clamp + 1, 16)[dist] @ t.r_weight.t()).view(T, 2, 4)
    ac = (q + t.content_bias[None, :, None]) @ k.transpose(-1, -2)
    bd = rel_shift(torch.einsum("bhid,jhd->bhij", q + t.position_bias[None, :, None], r))
    causal = torch.ones(T, T, dtype=torch.bool).tril()
    assert torch.allclose(ours[..., causal], (ac + bd)[..., causal], atol=1e-5)
