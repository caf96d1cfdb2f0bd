"""`lengen debug tensors` reads files written by torch.save (the zip format and the legacy one),
sharded checkpoints through their *.index.json (torch shards and safetensors shards), and
reports the values torch holds: dtype, shape, and the fp64 sum and sum of squares of each
tensor. A pickle that would run code is refused, naming the global, and runs nothing.

Needs torch (tests/python/requirements.txt) and LENGEN_BINARY = the built `lengen` executable.
"""
from __future__ import annotations

import collections
import json
import math
import os
import subprocess

import pytest

torch = pytest.importorskip("torch")

DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
          torch.float64: "F64", torch.int64: "I64", torch.int32: "I32", torch.uint8: "U8",
          torch.bool: "BOOL"}


def run(binary, *args):
    return subprocess.run([binary, *map(str, args)], capture_output=True, text=True)


def lengen_tensors(binary, path):
    result = run(binary, "debug", "tensors", "--json", path)
    assert result.returncode == 0, result.stderr
    return {t["name"]: t for t in json.loads(result.stdout)["tensors"]}


def expect_same(got, state):
    assert sorted(got) == sorted(state)
    for name, t in state.items():
        g = got[name]
        assert g["dtype"] == DTYPES[t.dtype], name
        assert g["shape"] == list(t.shape), name
        v = t.double()
        for key, want in (("sum", v.sum().item()), ("sum_sq", (v * v).sum().item())):
            assert math.isclose(g[key], want, rel_tol=1e-9, abs_tol=1e-9), (name, key, g[key], want)


def state_dict():
    gen = torch.Generator().manual_seed(0)
    base = torch.randn(6, 5, generator=gen)
    shared = torch.randn(40, generator=gen)
    sd = collections.OrderedDict()
    sd["embed.weight"] = base
    sd["lm_head.weight"] = base  # tied: the same storage twice
    sd["transposed"] = base.t()  # a non-contiguous view
    sd["column"] = base[:, 2]  # strided, offset view
    sd["slice"] = shared[7:19].view(3, 4)  # an offset into a bigger storage
    sd["half"] = torch.randn(3, 4, generator=gen).half()
    sd["bf16"] = torch.randn(2, 3, generator=gen).bfloat16()
    sd["f64"] = torch.randn(5, generator=gen, dtype=torch.float64)
    sd["ids"] = torch.arange(-3, 9, dtype=torch.int64).view(3, 4)
    sd["i32"] = torch.tensor([1, -2, 3], dtype=torch.int32)
    sd["mask"] = torch.tensor([True, False, True])
    sd["bytes"] = torch.tensor([0, 7, 255], dtype=torch.uint8)
    sd["scalar"] = torch.tensor(2.5)
    sd["empty"] = torch.zeros(0, 3)
    sd["param"] = torch.nn.Parameter(torch.ones(2, 2))
    return sd


@pytest.mark.parametrize("zip_format,protocol", [(True, 2), (False, 2), (True, 4), (True, 5)],
                         ids=["zip", "legacy", "zip_protocol4", "zip_protocol5"])
def test_torch_save_files(lengen_binary, tmp_path, zip_format, protocol):
    sd = state_dict()
    path = tmp_path / "pytorch_model.bin"
    torch.save(sd, path, _use_new_zipfile_serialization=zip_format, pickle_protocol=protocol)
    expect_same(lengen_tensors(lengen_binary, path), sd)
    # The checkpoint directory finds pytorch_model.bin.
    expect_same(lengen_tensors(lengen_binary, tmp_path), sd)


def test_module_state_dict_with_metadata(lengen_binary, tmp_path):
    # A module's state_dict carries `_metadata` (pickled with BUILD) and registered buffers.
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.LayerNorm(3), torch.nn.BatchNorm1d(3))
    model.register_buffer("alibi", torch.linspace(0, 1, 8).view(1, 2, 4))
    sd = model.state_dict()
    torch.save(sd, tmp_path / "m.bin")
    expect_same(lengen_tensors(lengen_binary, tmp_path / "m.bin"), sd)


def test_sharded_torch_checkpoint(lengen_binary, tmp_path):
    sd = state_dict()
    names = list(sd)
    shards = {"pytorch_model-00001-of-00002.bin": names[:7],
              "pytorch_model-00002-of-00002.bin": names[7:]}
    weight_map = {}
    for shard, keys in shards.items():
        torch.save({k: sd[k] for k in keys}, tmp_path / shard)
        weight_map.update({k: shard for k in keys})
    (tmp_path / "pytorch_model.bin.index.json").write_text(
        json.dumps({"metadata": {"total_size": 0}, "weight_map": weight_map}))
    expect_same(lengen_tensors(lengen_binary, tmp_path), sd)
    expect_same(lengen_tensors(lengen_binary, tmp_path / "pytorch_model.bin.index.json"), sd)


def test_sharded_safetensors_checkpoint(lengen_binary, tmp_path):
    st = pytest.importorskip("safetensors.torch")
    sd = {k: v.detach().contiguous().clone() for k, v in state_dict().items()}
    names = sorted(sd)
    weight_map = {}
    for i, keys in enumerate((names[:5], names[5:])):
        shard = f"model-0000{i + 1}-of-00002.safetensors"
        st.save_file({k: sd[k] for k in keys}, str(tmp_path / shard))
        weight_map.update({k: shard for k in keys})
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps({"weight_map": weight_map}))
    expect_same(lengen_tensors(lengen_binary, tmp_path), sd)


def test_shards_outside_the_directory_are_refused(lengen_binary, tmp_path):
    inner = tmp_path / "ckpt"
    inner.mkdir()
    torch.save({"w": torch.ones(2)}, tmp_path / "outside.bin")
    (inner / "pytorch_model.bin.index.json").write_text(
        json.dumps({"weight_map": {"w": "../outside.bin"}}))
    result = run(lengen_binary, "debug", "tensors", inner)
    assert result.returncode != 0
    assert "not a file name inside the index's directory" in result.stderr


class RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("zip_format", [True, False], ids=["zip", "legacy"])
def test_malicious_pickle_is_refused_and_runs_nothing(lengen_binary, tmp_path, zip_format):
    marker = tmp_path / "pwned"
    path = tmp_path / "pytorch_model.bin"
    torch.save({"w": torch.ones(2), "evil": RunsCode(marker)}, path,
               _use_new_zipfile_serialization=zip_format)
    result = run(lengen_binary, "debug", "tensors", path)
    assert result.returncode != 0
    assert "forbidden global" in result.stderr and "system" in result.stderr, result.stderr
    assert str(path) in result.stderr
    assert not marker.exists()


def test_non_state_dict_objects_are_refused(lengen_binary, tmp_path):
    path = tmp_path / "x.bin"
    torch.save([torch.ones(2)], path)
    result = run(lengen_binary, "debug", "tensors", path)
    assert result.returncode != 0
    assert "not a state dict" in result.stderr
