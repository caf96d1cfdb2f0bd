"""lengen from Python: the C++ library in-process (no subprocess), results as pandas DataFrames.

    import lengen
    cmp = lengen.compare(encodings=["nope", "rotary"], set={"train.steps": 500})
    cmp.table                      # ID / OOD accuracy and accuracy per test length (%)
    cmp.per_length.pivot(index="length", columns="encoding", values="accuracy").plot()

Every function mirrors a command of the `lengen` CLI and writes the same run directories, so a
run started here can be resumed, evaluated or reported from the command line and vice versa.
Errors in configs, data or arguments raise lengen.Error (a ValueError) naming the file or key.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
# Installed with `pip install .`, the presets (models/tiny, tasks/...) live beside the module.
if (_HERE / "configs").is_dir():
    os.environ.setdefault("LENGEN_CONFIG_DIR", str(_HERE / "configs"))
# OpenMP threads wait passively, as in the lengen command (README "The engine"), unless a policy
# was chosen; libgomp reads this when _core loads it.
if "GOMP_SPINCOUNT" not in os.environ:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from . import _core  # noqa: E402

Error = _core.Error
__version__ = _core.version()

DEFAULT_ENCODINGS = ("nope", "t5_bias", "alibi", "rotary", "abs_sin")


def _pandas():
    try:
        import pandas
    except ImportError as e:  # pragma: no cover - the message is the point
        raise ImportError("lengen's tables are pandas DataFrames: pip install pandas") from e
    return pandas


def _sets(overrides) -> list[str]:
    """{"train.steps": 500} or ["train.steps=500"] -> the CLI's --set strings."""
    if overrides is None:
        return []
    if isinstance(overrides, dict):
        return [f"{k}={v if isinstance(v, str) else json.dumps(v)}" for k, v in overrides.items()]
    if isinstance(overrides, str):
        return [overrides]
    return [str(s) for s in overrides]


def _config_list(config) -> str:
    return config if isinstance(config, str) else ",".join(config)


def set_threads(n: int) -> None:
    """OpenMP threads of the calls that follow (default: lengen's, see thread_budget())."""
    _core.set_threads(int(n))


def threads() -> int:
    return _core.threads()


def thread_budget() -> tuple[int, str]:
    """The default thread count and why (affinity mask, cgroup quota, SLURM_CPUS_PER_TASK)."""
    return _core.thread_budget()


def presets() -> list[str]:
    return _core.presets()


def config(config="models/tiny,tasks/copy_cmc_tr20_ts40", set=None) -> dict:
    """The run config that `lengen train --config CONFIG --set ...` would use."""
    return json.loads(_core.config_json(_config_list(config), _sets(set)))


def make_dataset(task: str, split: str = "", out: str | os.PathLike = "data", *, train_size=0,
                 test_size=0, seed=0, scratchpad="", source="") -> dict:
    """`lengen data make`: generates (or, with source=DIR, imports) a task's split into `out`."""
    return json.loads(_core.make_dataset(task, split, os.fspath(out), int(train_size),
                                         int(test_size), int(seed), scratchpad, os.fspath(source)))


def load_dataset(path: str | os.PathLike):
    """A dataset directory (data make's, or a run's data/) as one DataFrame with a `split`
    column and the JSONL fields (source, target, length, category, ...)."""
    pd = _pandas()
    frames = []
    for split in ("train", "validation", "test"):
        f = Path(path) / f"{split}.jsonl"
        if f.exists():
            df = pd.read_json(f, lines=True, dtype=False)
            df.insert(0, "split", split)
            frames.append(df)
    if not frames:
        raise Error(f"{path}: no train/validation/test.jsonl here (is it a dataset directory?)")
    return pd.concat(frames, ignore_index=True)


def _printer(label: str):
    def show(step, total, loss, tokens_per_s):
        end = "\n" if step == total else ""
        print(f"\r{label}step {step}/{total}  loss {loss:.4f}  {tokens_per_s:,.0f} tok/s",
              end=end, file=sys.stderr, flush=True)
    return show


def train(config, out: str | os.PathLike, set=None, *, evaluate=True, progress=True) -> dict:
    """`lengen train`: trains (resuming when `out` holds a checkpoint of the same config), then
    evaluates ID and OOD. `progress`: True prints a status line, a callable gets
    (step, total, loss, tokens_per_s), False is silent. Returns results.json's contents."""
    callback = _printer(f"{out}: ") if progress is True else (progress or None)
    text = _core.train(os.fspath(out), _config_list(config), _sets(set), bool(evaluate), True,
                       callback)
    return json.loads(text) if text else {}


def evaluate(run: str | os.PathLike, splits=("validation", "test"), *, checkpoint="", data="",
             max_per_length=-1, set=None, quiet=True) -> dict:
    """`lengen eval`: greedy-decodes a run's checkpoint on splits; accuracy per length."""
    return json.loads(_core.evaluate(os.fspath(run), list(splits), checkpoint, os.fspath(data),
                                     int(max_per_length), _sets(set), bool(quiet)))


def results(run: str | os.PathLike) -> dict:
    """A finished run's results.json."""
    f = Path(run) / "results.json"
    if not f.exists():
        raise Error(f"{f}: no such file (has the run finished?)")
    return json.loads(f.read_text())


def per_length(runs):
    """Exact match per length of finished runs (a run directory or a list of them), one row
    per (run, split, length): run, encoding, seed, split, length, accuracy, correct, total."""
    pd = _pandas()
    runs = [runs] if isinstance(runs, (str, os.PathLike)) else list(runs)
    rows = []
    for run in runs:
        r = results(run)
        for split in ("validation", "test"):
            for n, cell in sorted(r.get(split, {}).get("per_length", {}).items(), key=lambda kv: int(kv[0])):
                rows.append({"run": os.fspath(run), "encoding": r.get("encoding"),
                             "seed": r.get("train_seed"), "split": split, "length": int(n),
                             "accuracy": cell["accuracy"], "correct": cell["correct"],
                             "total": cell["total"]})
    return pd.DataFrame(rows, columns=["run", "encoding", "seed", "split", "length", "accuracy",
                                       "correct", "total"])


class Comparison:
    """What `lengen compare` reports: `table` (one row per encoding: runs, ID and OOD exact
    match, then one column per test length; percent, mean over seeds), `per_length` (long
    form: encoding, length, accuracy, std, runs; fractions), `summary` (the report's JSON),
    `text` (the terminal table) and `report_dir` (results.md/.csv, the plots)."""

    def __init__(self, report: dict):
        pd = _pandas()
        self.text = report["table_text"]
        self.report_dir = report["report_dir"]
        self.summary = report["summary"]
        self.budget_note = report.get("budget_note", "")
        long_rows, table_rows = [], []
        test_lengths = sorted({int(n) for run in self._runs() for n in
                               run.get("test", {}).get("per_length", {})})
        for e in self.summary:
            row = {"encoding": e["encoding"], "runs": e["runs"],
                   "ID acc": 100 * e["id_accuracy"]["mean"], "ID std": 100 * e["id_accuracy"]["std"],
                   "OOD acc": 100 * e["ood_accuracy"]["mean"], "OOD std": 100 * e["ood_accuracy"]["std"]}
            for n, s in sorted(e["accuracy_by_length"].items(), key=lambda kv: int(kv[0])):
                long_rows.append({"encoding": e["encoding"], "length": int(n), "accuracy": s["mean"],
                                  "std": s["std"], "runs": s["runs"]})
                if int(n) in test_lengths:
                    row[int(n)] = 100 * s["mean"]
            table_rows.append(row)
        self.table = pd.DataFrame(table_rows).set_index("encoding")
        self.per_length = pd.DataFrame(long_rows, columns=["encoding", "length", "accuracy", "std", "runs"])

    def _runs(self):
        f = Path(self.report_dir) / "summary.json"
        return json.loads(f.read_text()).get("runs", []) if f.exists() else []

    def __repr__(self):
        return self.text


def compare(task="copy", split="rdc_tr20_ts40", encodings=DEFAULT_ENCODINGS, seeds=(0,), *,
            preset="tiny", config="", set=None, out="runs/compare", jobs=0, quiet=True) -> Comparison:
    """`lengen compare`: trains and evaluates each encoding with the same budget and seeds (runs
    already finished in `out` are reused) and returns the report."""
    return Comparison(json.loads(_core.compare(task, split, list(encodings), [int(s) for s in seeds],
                                               preset, _config_list(config) if config else "",
                                               _sets(set), os.fspath(out), int(jobs), bool(quiet))))


def sweep(file: str | os.PathLike, *, jobs=0, threads=0, out="", quiet=True) -> dict:
    """`lengen sweep run`: every run of a sweep file's grid not yet complete."""
    return json.loads(_core.sweep_run(os.fspath(file), int(jobs), int(threads), os.fspath(out),
                                      bool(quiet)))


class Model:
    """A checkpoint (a run directory's best/ or checkpoint/, or any checkpoint directory) for
    scoring, greedy decoding and attention maps, dropout off. Token ids in, numpy out; a run's
    vocabulary (vocab.json beside the weights) gives encode/decode of text."""

    def __init__(self, checkpoint: str | os.PathLike):
        path = Path(checkpoint)
        if (path / "best").is_dir():
            path = path / "best"
        self.path = path
        self._m = _core.Model(os.fspath(path))
        self.config = json.loads(self._m.config_json())
        vocab = path / "vocab.json"
        self.vocab = _core.Vocabulary.load(os.fspath(vocab)) if vocab.exists() else None

    @classmethod
    def create(cls, model: dict, seed: int = 0) -> "Model":
        """A new, randomly initialised model from model config keys (README "Model config
        keys"; vocab_size included), e.g. lengen.config("models/tiny")["model"] plus a
        vocab_size. save(dir) writes it as a checkpoint."""
        self = cls.__new__(cls)
        self.path, self.vocab = None, None
        self._m = _core.Model.create(json.dumps(model), int(seed))
        self.config = json.loads(self._m.config_json())
        return self

    def save(self, checkpoint: str | os.PathLike) -> None:
        self._m.save(os.fspath(checkpoint))

    def weights(self) -> dict:
        """Every parameter by its checkpoint name, as float32 numpy arrays (views into one host
        copy of the weights; writing to them does not change the model)."""
        import numpy as np
        return {name: np.asarray(t) for name, t in self._m.weights()}

    @property
    def num_parameters(self) -> int:
        return self._m.num_parameters()

    def _vocabulary(self):
        if self.vocab is None:
            raise Error(f"{self.path or 'this model'}: no vocab.json beside the weights; pass token ids")
        return self.vocab

    def encode(self, text: str) -> list[int]:
        """Text to ids by the run's vocabulary and lengen's word splitting (strict: an unknown
        word is an error naming it). Nothing is added: write <bos>/<sep> where the task has them."""
        return self._vocabulary().encode(text)

    def decode(self, ids, skip_specials: bool = True) -> str:
        return self._vocabulary().decode([int(i) for i in ids], skip_specials)

    def score(self, rows):
        """Log-probability of every token after the first: float32 [rows, longest - 1]."""
        import numpy as np
        return np.asarray(self._m.score([list(map(int, r)) for r in rows]))

    def generate(self, prompts, max_new: int, eos: int = -1) -> list[list[int]]:
        """Greedy continuation of each prompt (KV cache), up to max_new tokens or eos."""
        return self._m.generate([list(map(int, p)) for p in prompts], int(max_new), int(eos))

    def attention(self, rows):
        """Attention probabilities: float32 [layers, rows, heads, T, T] (rows padded to T)."""
        import numpy as np
        return np.asarray(self._m.attention([list(map(int, r)) for r in rows]))
