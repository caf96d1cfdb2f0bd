"""Shared set-up of the Python test suite (run by CTest as `python_parity`, see CMakeLists.txt).

- The lengen executable comes from the environment variable LENGEN_BINARY (CTest sets it);
  without it, build/lengen of the source tree is tried.
- The parity suite records the largest relative error per (case, quantity) through the
  `parity_errors` fixture; at the end of the session a table is printed and written to
  <pytest basetemp>/parity_errors.{json,md} (and to $LENGEN_PARITY_REPORT.{json,md} if set).
"""
from __future__ import annotations

import json
import os
import pathlib

import pytest
import torch

torch.set_num_threads(int(os.environ.get("LENGEN_TORCH_THREADS", "1")))
torch.use_deterministic_algorithms(True)

REPO = pathlib.Path(__file__).resolve().parents[2]
_ERRORS = pytest.StashKey[dict]()
_BASETEMP = pytest.StashKey[pathlib.Path]()
QUANTITIES = ["logits", "logprobs", "loss", "grads", "updated", "updated_e2e", "greedy"]


@pytest.fixture(scope="session")
def lengen_binary() -> str:
    path = os.environ.get("LENGEN_BINARY") or str(REPO / "build" / "lengen")
    if not os.access(path, os.X_OK):
        pytest.fail(f"lengen executable not found at {path}: set LENGEN_BINARY")
    return path


@pytest.fixture(scope="session")
def parity_errors(pytestconfig, tmp_path_factory) -> dict:
    pytestconfig.stash[_BASETEMP] = tmp_path_factory.getbasetemp()
    return pytestconfig.stash.setdefault(_ERRORS, {})


def _markdown(errors: dict) -> str:
    lines = ["| case | " + " | ".join(QUANTITIES) + " |",
             "|---|" + "---|" * len(QUANTITIES)]
    for case in sorted(errors):
        row = errors[case]
        cells = []
        for q in QUANTITIES:
            v = row.get(q)
            cells.append("" if v is None else (v if isinstance(v, str) else f"{v:.1e}"))
        lines.append(f"| {case} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    errors = config.stash.get(_ERRORS, None)
    if not errors:
        return
    md = _markdown(errors)
    targets = [config.stash[_BASETEMP] / "parity_errors"]
    if os.environ.get("LENGEN_PARITY_REPORT"):
        targets.append(pathlib.Path(os.environ["LENGEN_PARITY_REPORT"]))
    for t in targets:
        t.parent.mkdir(parents=True, exist_ok=True)
        t.with_suffix(".json").write_text(json.dumps(errors, indent=1, sort_keys=True) + "\n")
        t.with_suffix(".md").write_text(md)
    terminalreporter.section("lengen vs PyTorch reference: max relative error "
                             "max|lengen - ref| / max|ref| per tensor (largest over tensors)")
    terminalreporter.write(md)
    terminalreporter.write_line(f"written to {targets[0]}.json/.md")
