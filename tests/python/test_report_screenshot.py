"""`lengen report` renders in a real browser: headless Chromium (Debian package `chromium`)
screenshots the HTML page built from hand-made runs, and the test reads the PNG's pixels.

Checks: the screenshot has the window's size; the table header colour (#1f4e79) and the
highlighted best-cell colour (#c8e6c9) cover table-sized areas; the first two plot series
colours (#0072B2, #D55E00, gnuplot lines of the embedded accuracy-vs-length figure) are
present. The same page with its figures removed is the control: its plot colours must be (near)
absent, so the figure check fails when the pictures do not render.
"""
from __future__ import annotations

import json
import os
import pathlib
import re
import shutil
import struct
import subprocess
import zlib

import numpy as np
import pytest

WIDTH, HEIGHT = 1280, 2200
HEADER = (0x1F, 0x4E, 0x79)
BEST = (0xC8, 0xE6, 0xC9)
SERIES = [(0x00, 0x72, 0xB2), (0xD5, 0x5E, 0x00)]


def read_png(path: pathlib.Path) -> np.ndarray:
    """Decodes an 8-bit, non-interlaced RGB/RGBA PNG (what Chromium writes) to H x W x 3."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and interlace == 0 and colour in (2, 6), f"unsupported PNG {header}"
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    out = bytearray(height * stride)
    prev = bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        if kind == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif kind == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, prev))
        elif kind == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
        elif kind == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 255
        out[y * stride : (y + 1) * stride] = line
        prev = line
    return np.frombuffer(bytes(out), dtype=np.uint8).reshape(height, width, bpp)[:, :, :3]


def count_near(image: np.ndarray, rgb, tolerance: int = 24) -> int:
    diff = np.abs(image.astype(np.int32) - np.array(rgb, dtype=np.int32)).max(axis=2)
    return int((diff <= tolerance).sum())


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.fail("chromium not found: install the Debian package chromium (scripts/deps-debian-test.txt)")


def screenshot(page: pathlib.Path, png: pathlib.Path, home: pathlib.Path) -> np.ndarray:
    env = dict(os.environ, HOME=str(home))
    cmd = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
           "--no-first-run", "--disable-dev-shm-usage", f"--user-data-dir={home / 'profile'}",
           f"--window-size={WIDTH},{HEIGHT}", f"--screenshot={png}", page.as_uri()]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert png.exists(), f"chromium wrote no screenshot (exit {result.returncode}): {result.stderr[-2000:]}"
    return read_png(png)


def write_runs(root: pathlib.Path) -> None:
    """Two task splits x three encodings x two seeds with per-length accuracies."""
    curves = {"alibi": lambda n: 1.0 - 0.01 * n, "rotary": lambda n: 1.0 if n <= 20 else 0.05,
              "nope": lambda n: 0.8 if n <= 20 else 0.3}
    for task, split in (("copy", "cmc_tr20_ts40"), ("reverse", "mc_tr20_ts40")):
        for pe, curve in curves.items():
            for seed in (0, 1):
                acc = lambda n: max(0.0, min(1.0, curve(n) - 0.03 * seed))
                val = {str(n): {"accuracy": acc(n)} for n in range(4, 21)}
                test = {str(n): {"accuracy": acc(n)} for n in range(21, 41)}
                results = {"encoding": pe, "train_seed": seed,
                           "data": {"task": task, "split": split, "seed": 0},
                           "id_accuracy": float(np.mean([v["accuracy"] for v in val.values()])),
                           "ood_accuracy": float(np.mean([v["accuracy"] for v in test.values()])),
                           "validation": {"per_length": val}, "test": {"per_length": test}}
                run = root / task / pe / f"seed{seed}"
                run.mkdir(parents=True)
                (run / "results.json").write_text(json.dumps(results))


def test_report_renders_tables_and_figures_in_chromium(lengen_binary, tmp_path):
    runs, out = tmp_path / "runs", tmp_path / "report"
    write_runs(runs)
    subprocess.run([lengen_binary, "report", str(runs), "--out", str(out)], check=True, capture_output=True)
    page = out / "index.html"
    html = page.read_text()
    assert html.count("data:image/png;base64,") == 2, "one embedded figure per task split"

    image = screenshot(page, tmp_path / "shot.png", tmp_path)
    assert image.shape == (HEIGHT, WIDTH, 3)
    white = count_near(image, (255, 255, 255), 8)
    assert white < 0.97 * WIDTH * HEIGHT, "the page is (nearly) blank"
    assert count_near(image, HEADER, 6) > 3000, "no table header colour: the tables did not render"
    assert count_near(image, BEST, 6) > 1000, "no highlighted best cells"
    series = [count_near(image, rgb) for rgb in SERIES]
    assert min(series) > 300, f"plot line colours missing {series}: the figures did not render"

    # Control: without the figures the same check finds (almost) none of the line colours.
    bare = tmp_path / "bare.html"
    bare.write_text(re.sub(r"<figure>.*?</figure>", "", html, flags=re.S))
    control = screenshot(bare, tmp_path / "bare.png", tmp_path)
    assert count_near(control, HEADER, 6) > 3000
    assert max(count_near(control, rgb) for rgb in SERIES) < 0.1 * min(series)
