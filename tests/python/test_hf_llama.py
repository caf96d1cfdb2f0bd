"""A lengen llama-family RoPE model, exported with `lengen convert --to llama`, loads unmodified in
Hugging Face transformers as LlamaForCausalLM and gives the same per-token log-probs as
`lengen score`; a checkpoint saved by transformers imports back.

Needs torch + transformers (tests/python/requirements.txt) and LENGEN_BINARY = the built
`lengen` executable.
"""

import json
import os
import subprocess

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

TOLERANCE = 1e-4
# Full-dimension half-split RoPE (the llama family's rotary default), a non-default base, and a
# head_dim that is not hidden_size / num_heads.
MODEL = {
    "family": "llama",
    "vocab_size": 50,
    "d_model": 64,
    "n_layers": 2,
    "n_heads": 4,
    "d_head": 24,
    "d_ff": 96,
    "init_std": 0.2,  # large enough for log-probs far from uniform
    "pe": {"type": "rotary", "base": 500.0},
}
TOKENS = [3, 17, 5, 42, 0, 9, 9, 31, 48, 2, 7, 11, 23, 1, 36, 14]


def lengen(*args):
    binary = os.environ.get("LENGEN_BINARY")
    if not binary:
        pytest.skip("LENGEN_BINARY is not set")
    result = subprocess.run([binary, *map(str, args)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout


def lengen_logprobs(checkpoint):
    out = json.loads(lengen("score", "--checkpoint", checkpoint,
                            "--tokens", ",".join(map(str, TOKENS))))
    return torch.tensor(out["logprobs"], dtype=torch.float64)


def hf_logprobs(model):
    with torch.no_grad():
        logits = model(torch.tensor([TOKENS])).logits[0].double()
    lp = torch.log_softmax(logits, dim=-1)
    return lp[torch.arange(len(TOKENS) - 1), torch.tensor(TOKENS[1:])]


def load_hf(directory):
    model, info = transformers.LlamaForCausalLM.from_pretrained(
        str(directory), attn_implementation="eager", output_loading_info=True)
    assert not info["missing_keys"], info
    assert not info["unexpected_keys"], info
    return model.float().eval()


@pytest.fixture
def native_and_hf(tmp_path):
    config = tmp_path / "model.json"
    config.write_text(json.dumps({"model": MODEL}))
    native, hf = tmp_path / "native", tmp_path / "hf"
    lengen("init", "--config", config, "--seed", 7, "--out", native)
    lengen("convert", "--from", "native", "--to", "llama", native, hf)
    return native, hf


def test_exported_llama_loads_in_transformers_with_the_same_logprobs(native_and_hf):
    native, hf = native_and_hf
    model = load_hf(hf)
    assert model.config.head_dim == MODEL["d_head"]
    assert not model.config.tie_word_embeddings
    expected = lengen_logprobs(native)
    got = hf_logprobs(model)
    assert got.shape == expected.shape
    err = (got - expected).abs().max().item()
    assert err <= TOLERANCE, f"max abs log-prob error {err}"
    # Not a vacuous match: the model is far from uniform.
    assert (expected - expected.mean()).abs().max().item() > 0.1


def test_checkpoint_saved_by_transformers_imports_back(native_and_hf, tmp_path):
    native, hf = native_and_hf
    saved, back = tmp_path / "saved", tmp_path / "back"
    load_hf(hf).save_pretrained(str(saved))
    lengen("convert", "--from", "llama", "--to", "native", saved, back)
    err = (lengen_logprobs(back) - lengen_logprobs(native)).abs().max().item()
    assert err == 0.0, f"max abs log-prob error {err}"
