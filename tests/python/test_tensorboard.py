"""The TensorBoard event files of a training run (`<run>/tb/`) read by the real `tensorboard`
package: every scalar it reads back equals the figure of `metrics.jsonl` (training loss, learning
rate, gradient norm, tokens/s; each evaluation metric, per-length accuracy included), at the
same steps."""
from __future__ import annotations

import json

import numpy as np
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from test_parity import run_lengen

TINY = ["--set", "model.d_model=32", "--set", "model.d_head=8", "--set", "model.d_ff=64",
        "--set", "train.steps=12", "--set", "train.batch_size=4", "--set", "train.log_every=3",
        "--set", "train.eval_every=6", "--set", "data.train_size=200", "--set", "data.test_size=40",
        "--set", "eval.validation_examples=8", "--set", "eval.test_examples=8",
        "--set", "eval.max_per_length=2"]


def expected_scalars(metrics_path):
    """tag -> [(step, value)] from metrics.jsonl, as lengen maps its lines to scalars."""
    out = {}

    def add(tag, step, value):
        out.setdefault(tag, []).append((step, float(np.float32(value))))

    def flatten(prefix, v, step):
        if isinstance(v, bool) or isinstance(v, str):
            return
        if isinstance(v, (int, float)):
            add(prefix, step, v)
        elif isinstance(v, dict):
            for k, x in v.items():
                flatten(f"{prefix}/{k}", x, step)

    for line in metrics_path.read_text().splitlines():
        j = json.loads(line)
        for key in ("loss", "lr", "grad_norm", "tokens_per_s"):
            if key in j:
                add(f"train/{key}", j["step"], j[key])
        if "eval" in j:
            flatten("eval", j["eval"], j["step"])
    return out


def test_tensorboard_reads_the_run_metrics(lengen_binary, tmp_path):
    run = tmp_path / "run"
    run_lengen(lengen_binary, "train", "--threads", "1", "--config",
               "models/tiny,tasks/copy_cmc_tr20_ts40", *TINY, "--out", run)
    acc = EventAccumulator(str(run / "tb"))
    acc.Reload()
    want = expected_scalars(run / "metrics.jsonl")
    assert set(acc.Tags()["scalars"]) == set(want)
    for split in ("validation", "test"):  # per-length accuracy of both splits
        assert any(t.startswith(f"eval/{split}_accuracy_by_length/") for t in want), sorted(want)
    for tag, points in want.items():
        got = [(e.step, e.value) for e in acc.Scalars(tag)]
        assert got == points, tag
