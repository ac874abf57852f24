"""Tests of gankit.viz: snapshots, time-lapse, loss curves, metrics reading and the HTML report."""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from gankit.viz import (
    list_snapshots,
    loss_curves,
    read_metrics,
    save_snapshot,
    timelapse,
    write_report,
)

STEPS = [100, 200, 300, 400]
CENTERS = np.array([[math.cos(a), math.sin(a)] for a in np.linspace(0, 2 * math.pi, 8, False)])


def _points(seed: int, n: int = 200) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (CENTERS[rng.integers(0, 8, n)] + 0.05 * rng.standard_normal((n, 2))).astype(np.float32)


def _make_run(root: Path) -> Path:
    run = root / "run"
    (run / "samples").mkdir(parents=True)
    cfg = {
        "model": {"name": "wgan_gp", "note": "<script>alert('x')</script>"},
        "data": {"name": "ring8", "n_modes": 8, "radius": 1.0, "std": 0.05},
        "train": {"steps": 400, "seed": 7},
    }
    (run / "config.yaml").write_text(yaml.safe_dump(cfg), encoding="utf-8")
    rows = []
    for s in range(0, 401, 10):
        rows.append(
            {
                "step": s,
                "time": s * 0.05,
                "loss/D": -1.0 + s / 400,
                "loss/G": 0.5 - s / 800,
                "loss/gp": 0.1,
                "wdist": 2.0 - s / 300,
            }
        )
    rows.append({"step": 200, "eval/modes": 5.0, "eval/hq_pct": 61.25, "eval/rev_kl": 0.875})
    rows.append({"step": 400, "eval/modes": 7.0, "eval/hq_pct": 87.5, "eval/rev_kl": 0.125})
    lines = [json.dumps(r) for r in rows] + ["", '{"step": 410, "time": 20.5, "loss/D"']
    (run / "metrics.jsonl").write_text("\n".join(lines), encoding="utf-8")
    for i, s in enumerate(STEPS):
        np.save(run / "samples" / f"step_{s:07d}.npy", _points(i))
    (run / "data.json").write_text(json.dumps({"centers": CENTERS.tolist(), "std": 0.05}))
    return run


def _png_ok(path: Path) -> tuple[int, int]:
    with Image.open(path) as im:
        assert im.format == "PNG"
        im.load()
        assert im.width > 0 and im.height > 0
        return im.size


def test_save_snapshot_points(tmp_path):
    pts = _points(0)
    pts[0] = [1e6, -1e6]  # an outlier must not break the picture
    save_snapshot(pts, tmp_path / "a.png", title="step 1")
    save_snapshot(torch.from_numpy(pts), tmp_path / "sub" / "b.png", centers=CENTERS)
    _png_ok(tmp_path / "a.png")
    _png_ok(tmp_path / "sub" / "b.png")


def test_save_snapshot_images(tmp_path):
    imgs = torch.rand(80, 3, 8, 8) * 2 - 1
    save_snapshot(imgs, tmp_path / "rgb.png", title="step 5")
    save_snapshot(np.zeros((10, 1, 4, 4), np.float32), tmp_path / "grey.png")
    for name in ("rgb.png", "grey.png"):
        _png_ok(tmp_path / name)
    with pytest.raises(ValueError):
        save_snapshot(np.zeros((10, 5, 4, 4), np.float32), tmp_path / "bad.png")
    assert not (tmp_path / "bad.png").exists()


def test_save_snapshot_points_of_any_width(tmp_path):
    """A user's points of 1 or 5 dimensions still get a picture (first two coordinates)."""
    save_snapshot(np.random.default_rng(0).normal(size=(50, 1)), tmp_path / "one.png")
    save_snapshot(np.random.default_rng(0).normal(size=(50, 5)), tmp_path / "five.png")
    _png_ok(tmp_path / "one.png")
    _png_ok(tmp_path / "five.png")


def test_timelapse_points_and_images(tmp_path):
    snaps = [(s, _points(i, 100)) for i, s in enumerate([10, 20, 30, 40, 50])]
    timelapse(snaps, tmp_path / "g.png", tmp_path / "g.gif", centers=CENTERS, max_panels=3)
    _png_ok(tmp_path / "g.png")
    with Image.open(tmp_path / "g.gif") as gif:
        assert gif.format == "GIF"
        assert gif.n_frames == len(snaps)
        assert gif.info.get("loop") == 0

    img_snaps = [(s, np.random.default_rng(s).uniform(-1, 1, (9, 1, 6, 6))) for s in (1, 2, 3)]
    timelapse(img_snaps, tmp_path / "i.png", tmp_path / "i.gif")
    _png_ok(tmp_path / "i.png")
    with Image.open(tmp_path / "i.gif") as gif:
        assert gif.n_frames == 3


def test_read_metrics_skips_corrupt_lines(tmp_path):
    run = _make_run(tmp_path)
    rows = read_metrics(run / "metrics.jsonl")
    assert len(rows) == 41 + 2
    assert rows[0]["step"] == 0 and rows[-1]["eval/modes"] == 7.0
    assert all(r["step"] != 410 for r in rows)
    assert read_metrics(tmp_path / "missing.jsonl") == []
    (tmp_path / "empty.jsonl").write_text("")
    assert read_metrics(tmp_path / "empty.jsonl") == []


def test_list_snapshots_sorted(tmp_path):
    run = _make_run(tmp_path)
    np.save(run / "samples" / "step_0000050.npy", _points(9))
    (run / "samples" / "notes.npy").write_bytes(b"")
    assert [s for s, _ in list_snapshots(run)] == [50, *STEPS]
    assert list_snapshots(tmp_path / "nowhere") == []


def test_loss_curves(tmp_path):
    assert loss_curves([], tmp_path / "l.png") is False
    assert loss_curves([{"step": 1, "eval/modes": 3.0}], tmp_path / "l.png") is False
    assert not (tmp_path / "l.png").exists()
    rows = read_metrics(_make_run(tmp_path) / "metrics.jsonl")
    assert loss_curves(rows, tmp_path / "l.png") is True
    _png_ok(tmp_path / "l.png")


def test_write_report_full_run(tmp_path):
    run = _make_run(tmp_path)
    out = write_report(run)
    assert out == run / "report.html"
    page = out.read_text(encoding="utf-8")
    assert "wgan_gp" in page and "ring8" in page
    for value in ("87.5", "0.125", "61.25", "0.875"):  # latest and history eval tables
        assert value in page
    assert "data:image/png;base64," in page
    assert "data:image/gif;base64," in page
    assert "<script" not in page
    assert "&lt;script&gt;" in page
    assert not re.search(r'(src|href)="(https?:)?//', page)  # nothing fetched from outside
    assert (run / "timelapse.png").is_file() and (run / "timelapse.gif").is_file()
    with Image.open(run / "timelapse.gif") as gif:
        assert gif.n_frames == len(STEPS)
    assert (run / "samples" / f"step_{STEPS[-1]:07d}.png").is_file()

    # a new snapshot makes the time-lapse stale: it is drawn again with one more frame
    newer = run / "samples" / "step_0000500.npy"
    np.save(newer, _points(5))
    stamp = (run / "timelapse.gif").stat().st_mtime + 5
    os.utime(newer, (stamp, stamp))
    write_report(run)
    with Image.open(run / "timelapse.gif") as gif:
        assert gif.n_frames == len(STEPS) + 1


def test_write_report_empty_run(tmp_path):
    run = tmp_path / "empty"
    run.mkdir()
    (run / "config.yaml").write_text("model:\n  name: dcgan\ndata:\n  name: mnist\n")
    page = write_report(run).read_text(encoding="utf-8")
    assert "dcgan" in page and "mnist" in page
    assert "No samples yet" in page
    assert "No evaluation yet" in page
    assert "data:image" not in page
