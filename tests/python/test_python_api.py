"""The Python API (`import lengen`, python/lengen over the pybind11 module) used as a notebook
uses it: compare's table reproduced through the API (the same numbers as the CLI's report,
the same runs bit for bit), a dataset, a training run with progress, per-length DataFrames, a
model's scores, attention and greedy output beside the CLI's, clear errors, and an interrupted
run resumed.

CTest passes LENGEN_PYTHON_PATH (build/python, where the build puts the package) when the
module is built (scripts/test.sh builds it: -DLENGEN_PYTHON_MODULE=ON)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

if not os.environ.get("LENGEN_PYTHON_PATH"):
    pytest.skip("the lengen Python module was not built (LENGEN_PYTHON_PATH unset; configure "
                "with -DLENGEN_PYTHON_MODULE=ON)", allow_module_level=True)
sys.path.insert(0, os.environ["LENGEN_PYTHON_PATH"])

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import lengen  # noqa: E402

# A budget that trains in seconds (the e2e flows' tiny budget, a few more steps).
BUDGET = {"model.d_model": 32, "model.d_head": 8, "model.d_ff": 64, "train.steps": 40,
          "train.batch_size": 8, "train.log_every": 10, "train.checkpoint_every": 10,
          "data.train_size": 400, "data.test_size": 40, "eval.validation_examples": 16,
          "eval.max_per_length": 2}
CONFIG = "models/tiny,tasks/copy_cmc_tr20_ts40"


def cli(binary, *args):
    r = subprocess.run([binary, *map(str, args)], capture_output=True, text=True,
                       env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def set_args():
    return [a for k, v in BUDGET.items() for a in ("--set", f"{k}={v}")]


@pytest.fixture(autouse=True)
def one_thread():
    lengen.set_threads(1)  # as the CLI runs below: results depend on the thread count


def test_compare_through_the_api_reproduces_the_cli_table(tmp_path, lengen_binary):
    # Parity (one answer bit): at this budget the accuracies are far from 0 and 100%, so the
    # table's numbers say something.
    task = ["--task", "parity", "--split", "len_tr8_ts16"]
    cli(lengen_binary, "compare", *task, "--pe", "nope,rotary", "--seeds", "0,1", "--jobs", "1",
        "--out", tmp_path / "cli", *set_args(), "--set", "eval.max_per_length=4")
    cmp = lengen.compare("parity", "len_tr8_ts16", encodings=["nope", "rotary"], seeds=[0, 1],
                         set={**BUDGET, "eval.max_per_length": 4}, out=tmp_path / "api", jobs=1)
    # The table of results.csv, number for number (the CSV rounds to 0.1 %).
    csv = pd.read_csv(tmp_path / "cli" / "report" / "results.csv").set_index("encoding")
    assert list(cmp.table.index) == list(csv.index) == ["nope", "rotary"]
    lengths = [int(c) for c in csv.columns[3:]]
    assert lengths == list(range(9, 17))
    assert [c for c in cmp.table.columns if isinstance(c, int)] == lengths
    assert 0 < cmp.table.loc["nope", "OOD acc"] < 100
    for enc in csv.index:
        assert cmp.table.loc[enc, "runs"] == csv.loc[enc, "seeds"] == 2
        for col, ours in [("ID acc", "ID acc"), ("OOD acc", "OOD acc")] + [(str(n), n) for n in lengths]:
            mean = float(str(csv.loc[enc, col]).split("±")[0])
            assert round(cmp.table.loc[enc, ours], 1) == pytest.approx(mean, abs=1e-9), (enc, col)
    # The same runs: the report's JSON and every run's training and per-length results equal.
    cli_summary = json.loads((tmp_path / "cli" / "report" / "summary.json").read_text())
    assert cmp.summary == cli_summary["encodings"]
    assert cmp.summary[0]["accuracy_by_length"]["12"]["runs"] == 2
    for enc in ("nope", "rotary"):
        for seed in (0, 1):
            a = lengen.results(tmp_path / "api" / enc / f"seed{seed}")
            c = lengen.results(tmp_path / "cli" / enc / f"seed{seed}")
            for key in ("final_loss", "best_step", "best_validation_subset_accuracy"):
                assert a["training"][key] == c["training"][key], (enc, seed, key)
            assert a["test"] == c["test"] and a["validation"] == c["validation"], (enc, seed)
    # Long form for plotting: every (encoding, length) of the report.
    assert set(cmp.per_length.encoding) == {"nope", "rotary"}
    assert cmp.per_length.length.max() == 16 and cmp.per_length.accuracy.between(0, 1).all()
    assert "nope" in repr(cmp)


def test_a_notebook_session(tmp_path, lengen_binary):
    info = lengen.make_dataset("copy", "cmc_tr20_ts40", tmp_path / "data", train_size=200,
                               test_size=40, seed=3)
    data = lengen.load_dataset(tmp_path / "data")
    assert info["seed"] == 3 and (data.split == "train").sum() == info["counts"]["train"] == 200
    assert (data.split == "test").sum() == info["counts"]["test"]
    assert data[data.split == "test"].length.min() == 21

    seen = []
    r = lengen.train(CONFIG, tmp_path / "run", set=BUDGET,
                     progress=lambda *a: seen.append(a))
    assert [s[0] for s in seen] == [10, 20, 30, 40] and all(s[1] == 40 for s in seen)
    assert r == lengen.results(tmp_path / "run")
    table = lengen.per_length(tmp_path / "run")
    test = table[table.split == "test"]
    assert list(test.length) == list(range(21, 41))
    for _, row in test.iterrows():
        assert row.accuracy == r["test"]["per_length"][str(row.length)]["accuracy"]
    again = lengen.evaluate(tmp_path / "run", splits=["test"])
    assert again["test"]["per_length"] == r["test"]["per_length"]

    m = lengen.Model(tmp_path / "run")
    assert m.num_parameters > 0 and m.config["d_model"] == 32
    rows = [m.encode("<bos> Copy: a b c <sep>"), m.encode("<bos> Copy:")]
    lp = m.score(rows)
    assert lp.dtype == np.float32 and lp.shape == (2, len(rows[0]) - 1)
    assert (lp[0] < 0).all() and (lp[1, len(rows[1]) - 1:] == 0).all()
    ref = json.loads(cli(lengen_binary, "score", "--checkpoint", tmp_path / "run" / "best",
                         "--tokens", " ".join(map(str, rows[0]))))
    np.testing.assert_allclose(lp[0], ref["logprobs"], rtol=1e-6, atol=1e-6)
    att = m.attention(rows)
    L, H = m.config["n_layers"], m.config["n_heads"]
    assert att.shape == (L, 2, H, len(rows[0]), len(rows[0]))
    np.testing.assert_allclose(att[:, 0].sum(-1), 1, atol=1e-5)
    assert (np.triu(att[:, 0], k=1) == 0).all()
    out = m.generate(rows[:1], max_new=4)
    (tmp_path / "prompts.json").write_text(json.dumps([rows[0]]))
    ref = json.loads(cli(lengen_binary, "generate", "--checkpoint", tmp_path / "run" / "best",
                         "--prompts", tmp_path / "prompts.json", "--max-new", 4))
    assert out == ref["outputs"]
    assert isinstance(m.decode(out[0]), str)


def test_models_built_saved_loaded_and_their_weights_as_numpy(tmp_path, lengen_binary):
    keys = {**lengen.config("models/tiny")["model"], "vocab_size": 20, "d_model": 32,
            "d_head": 8, "d_ff": 64, "pe": "alibi"}
    m = lengen.Model.create(keys, seed=5)
    w = m.weights()
    assert sum(a.size for a in w.values()) == m.num_parameters
    assert all(a.dtype == np.float32 for a in w.values())
    emb = [n for n in w if "embed" in n]
    assert emb and w[emb[0]].shape == (20, 32) and w[emb[0]].std() > 0
    m.save(tmp_path / "ckpt")
    again = lengen.Model(tmp_path / "ckpt")
    for name, a in again.weights().items():
        np.testing.assert_array_equal(a, w[name])
    # The command sees the same checkpoint: its tensors' sums match.
    listing = json.loads(cli(lengen_binary, "debug", "tensors", tmp_path / "ckpt", "--json"))
    for t in listing["tensors"]:
        assert t["sum"] == pytest.approx(float(w[t["name"]].astype(np.float64).sum()), rel=1e-9, abs=1e-9)
    rows = [[1, 5, 6, 7]]
    np.testing.assert_array_equal(again.score(rows), m.score(rows))
    with pytest.raises(lengen.Error, match="vocab_size"):
        lengen.Model.create({**keys, "vocab_size": 0})


def test_a_sweep_through_the_api(tmp_path):
    grid = {"name": "api", "base": ["models/tiny"],
            "config": {"model": {"d_model": 32, "d_head": 8, "d_ff": 64},
                       "train": {"steps": 20, "batch_size": 8, "log_every": 10},
                       "data": {"train_size": 200, "test_size": 40},
                       "eval": {"validation_examples": 16, "max_per_length": 2}},
            "axes": {"task": ["parity_len_tr8_ts16"], "pe": ["nope", "alibi"], "seed": [0]}}
    (tmp_path / "grid.json").write_text(json.dumps(grid))
    done = lengen.sweep(tmp_path / "grid.json", jobs=1, out=tmp_path / "sweep")
    assert (done["total"], done["succeeded"], done["failed"]) == (2, 2, 0), done
    runs = sorted((tmp_path / "sweep").glob("parity_len_tr8_ts16/*/seed0"))
    table = lengen.per_length(runs)
    assert set(table.encoding) == {"nope", "alibi"}
    assert sorted(table[table.split == "test"].length.unique()) == list(range(9, 17))
    again = lengen.sweep(tmp_path / "grid.json", out=tmp_path / "sweep")
    assert (again["skipped"], again["succeeded"]) == (2, 0), again


def test_errors_name_the_key_or_value(tmp_path):
    with pytest.raises(lengen.Error, match="stepz"):
        lengen.train(CONFIG, tmp_path / "bad", set={**BUDGET, "train.stepz": 3})
    with pytest.raises(lengen.Error, match="nosuchtask"):
        lengen.make_dataset("nosuchtask", "", tmp_path / "d")
    lengen.train(CONFIG, tmp_path / "run", set={**BUDGET, "train.steps": 10}, progress=False)
    m = lengen.Model(tmp_path / "run")
    with pytest.raises(lengen.Error, match="outside the vocabulary"):
        m.score([[1, 10**6]])
    with pytest.raises(lengen.Error, match="no-such-word"):
        m.encode("Copy: no-such-word")
    assert isinstance(lengen.Error("x"), ValueError)


def test_an_exception_in_the_progress_callback_stops_and_the_run_resumes(tmp_path):
    class Stop(Exception):
        pass

    def stop_at_20(step, total, loss, tokens_per_s):
        if step >= 20:
            raise Stop

    with pytest.raises(Stop):
        lengen.train(CONFIG, tmp_path / "cut", set=BUDGET, progress=stop_at_20)
    assert not (tmp_path / "cut" / "results.json").exists()
    resumed = lengen.train(CONFIG, tmp_path / "cut", set=BUDGET, progress=False)
    whole = lengen.train(CONFIG, tmp_path / "whole", set=BUDGET, progress=False)
    assert resumed["training"]["final_loss"] == whole["training"]["final_loss"]
    assert resumed["test"] == whole["test"]
