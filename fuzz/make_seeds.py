#!/usr/bin/env python3
"""Writes the synthetic part of the seed corpora under fuzz/corpus/ (the files made with the
lengen binary itself, checkpoints, datasets and a tokenizer, come from fuzz/make_seeds.sh).
Seeds are small valid inputs: the fuzzer mutates them into invalid ones. The torch.save seeds
(torch_checkpoint, torch_pickle) need a Python with torch (the test venv,
~/.cache/lengen/venv/bin/python); without it they are left as they are."""
import collections
import io
import json
import os
import pickletools
import struct
import sys
import zipfile

SEP = b"\n--8<--\n"
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(target, name, data):
    os.makedirs(os.path.join(ROOT, target), exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(ROOT, target, name), "wb") as f:
        f.write(data)


def safetensors(tensors, metadata=None):
    """tensors: list of (name, dtype, shape, raw bytes)."""
    header, offset = {}, 0
    if metadata:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - (8 + len(h)) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(t[3] for t in tensors)


def f32(*values):
    return struct.pack("<%df" % len(values), *values)


def main():
    put("safetensors", "f32", safetensors(
        [("a.weight", "F32", [2, 2], f32(1, 2, 3, 4)), ("b", "F32", [3], f32(0.5, -1, 2))],
        {"format": "pt"}))
    put("safetensors", "dtypes", safetensors([
        ("h", "F16", [2], struct.pack("<2H", 0x3C00, 0xC000)),
        ("bf", "BF16", [2], struct.pack("<2H", 0x3F80, 0x4000)),
        ("d", "F64", [1, 2], struct.pack("<2d", 1.5, -2.25)),
        ("i", "I64", [1], struct.pack("<q", 7)),
        ("e", "F32", [0], b""),
    ]))
    put("safetensors", "empty", safetensors([]))

    run = {"data": {"task": "copy", "split": "cmc_tr20_ts40", "seed": 1, "train_size": 100},
           "model": {"family": "llama", "d_model": 16, "n_layers": 1, "n_heads": 2, "d_head": 8,
                     "d_ff": 32, "pe": {"type": "fire", "width": 8}},
           "train": {"steps": 10, "batch_size": 4, "lr": 0.001, "schedule": "cosine",
                     "warmup_fraction": 0.1, "no_decay": ["norm"]},
           "eval": {"batch_size": 8, "max_per_length": 3, "extra_tokens": 4}}
    put("config", "run_json", b"\x00" + json.dumps(run, indent=1).encode())
    put("config", "set_lines", b"\x01" + "\n".join([
        "model.d_model=16", "model.n_layers=1", "model.pe.type=alibi", "eval.extra_tokens=4",
        "train.steps=5", 'data.split="x"', "model.pe={\"type\": \"t5_bias\", \"num_buckets\": 8}",
        "eval.max_per_length=2"]).encode())
    put("config", "jsonnet", b"\x02" + b"local d = 16;\n{ data: { task: 'copy' }, model: "
        b"{ d_model: d, n_heads: 2, d_head: d / 2, pe: 'rotary' } + { n_layers: 1 }, "
        b"train: { steps: 3 } }")
    put("config", "model_json", b"\x03" + json.dumps({"model": {
        "family": "t5", "vocab_size": 12, "d_model": 8, "n_layers": 1, "n_heads": 2, "d_head": 4,
        "d_ff": 16, "norm_eps": 1e-6, "dropout": 0.1, "pe": {"type": "abs_learned",
                                                             "max_positions": 32}},
        "format": "lengen-checkpoint-1"}).encode())

    lines = [
        {"source": "a b c", "target": "a b c", "length": 3, "category": "3"},
        {"source": "1 2 + 3 4", "target": "0 4 6", "length": 2, "category": 2,
         "position_ids": [2, 1, 0, 2, 1, 3, 2, 1]},
        {"source": "x y", "target": "y x", "scratchpad": "y ; x"},
    ]
    put("jsonl", "lines", "\n".join(json.dumps(l) for l in lines) + "\n\n")
    vocab = {"format": "lengen-vocab-1",
             "words": ["<pad>", "<bos>", "<eos>", "<sep>", "<unk>", "a", "b", "c", "x", "y", ";"]}
    info = {"format": "lengen-dataset-1", "task": "copy", "split": "cmc_tr20_ts40", "seed": 3,
            "scratchpad": None, "counts": {"train": 3, "validation": 0, "test": 0}}
    put("dataset_dir", "full", "\n".join(json.dumps(l) for l in lines).encode() + SEP +
        json.dumps(vocab).encode() + SEP + json.dumps(info, indent=2).encode())
    put("dataset_dir", "no_vocab", json.dumps(lines[0]) + "\n")

    put("token_file", "text", b"\x00" + b"3 17 5\n1,2,3\n\n 40\t41\r\n")
    put("token_file", "binary", b"\x01" + struct.pack("<6i", 1, 2, 3, 999, 0, 17))

    sweep = {"name": "s", "out": "runs/x", "base": [], "config": {"train": {"steps": 5}},
             "axes": {"pe": ["nope", {"label": "rope_b500", "value": {"type": "rotary", "base": 500}}],
                      "seed": [0, 1], "train.lr": [0.001, 0.003], "scratchpad": ["", "i1_c1"]},
             "jobs": 2, "slurm": {"partition": "cpu", "time": "01:00:00"}}
    put("sweep", "json", b"\x00" + json.dumps(sweep).encode())
    put("sweep", "jsonnet", b"\x01" + b"{ name: 'q', axes: { pe: ['alibi', 't5_bias'], "
        b"'model.d_model': [16, 32] }, config: { data: { dir: 'd' } } }")

    T = 3
    probs = [1.0, 0.5, 0.5, 0.2, 0.3, 0.5]
    info = {"format": "lengen-attention", "version": 1, "n_layers": 1, "n_heads": 1,
            "encoding": "nope", "per_length": 1,
            "examples": [{"tensor": "example.0", "index": 0, "length": 1, "tokens": [1, 5, 3],
                          "words": ["<bos>", "a", "<sep>"],
                          "regions": {"prompt": [0, 2], "separator": [2, 3],
                                      "scratchpad": [3, 3], "answer": [3, 3]}}]}
    put("attention_capture", "one", json.dumps(info).encode() + SEP +
        safetensors([("example.0", "F32", [1, 1, T * (T + 1) // 2], f32(*probs))]))
    torch_seeds()


def torch_seeds():
    try:
        import torch
    except ImportError:
        print("make_seeds.py: no torch in this Python; torch_checkpoint/torch_pickle seeds kept")
        return
    base = torch.arange(6, dtype=torch.float32).view(2, 3)
    sd = collections.OrderedDict()
    sd["w"] = base
    sd["tied"] = base  # the same storage twice
    sd["wt"] = base.t()  # a strided view
    sd["row"] = base[1]  # an offset view
    sd["h"] = torch.tensor([1.0, -2.0], dtype=torch.float16)
    sd["bf"] = torch.tensor([0.5], dtype=torch.bfloat16)
    sd["d"] = torch.tensor([1.5], dtype=torch.float64)
    sd["ids"] = torch.arange(3)
    sd["mask"] = torch.tensor([True, False])
    module = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.LayerNorm(2)).state_dict()
    seeds = {"state_dict": sd, "module": module, "nested": {"model": {"a": torch.ones(2)}, "step": 3}}
    for name, obj in seeds.items():
        buf = io.BytesIO()
        torch.save(obj, buf)
        put("torch_checkpoint", name, buf.getvalue())
        with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as z:
            pkl = next(n for n in z.namelist() if n.endswith("/data.pkl"))
            put("torch_pickle", name, b"\x00" + z.read(pkl))
    buf = io.BytesIO()
    torch.save(sd, buf, _use_new_zipfile_serialization=False)
    legacy = buf.getvalue()
    put("torch_checkpoint", "legacy", legacy)
    # The legacy file's object pickle: the fourth, after the magic number, protocol and
    # system-info pickles (found by walking the opcodes, running nothing).
    ends = []
    f = io.BytesIO(legacy)
    for _ in range(4):
        for op, _arg, pos in pickletools.genops(f):
            pass
        ends.append(f.tell())
    put("torch_pickle", "legacy", b"\x01" + legacy[ends[2]:ends[3]])


if __name__ == "__main__":
    sys.exit(main())
