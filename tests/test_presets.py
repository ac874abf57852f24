"""Every registered preset trains on a fresh machine: from a clean checkout, with HOME an empty
folder and no other environment variable (no PATH, no GANKIT_*), in an empty working folder.

Each preset runs for one step (`train.time_limit` ends it after the first step; `train.steps`,
on which schedules such as ProGAN's growth depend, is kept), then ends as a real run does: final
evaluation, pictures, checkpoint and report. The presets are trained by two child processes (one
per core, the imports paid once each), which write one JSON line per preset.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gankit.config import list_presets, resolve_config
from gankit.training.checkpoint import list_checkpoints
from gankit.training.run import RunDir

pytestmark = pytest.mark.slow

PRESETS = sorted(list_presets())
# The only overrides: end after the first step, small evaluation, no progress bar, no TensorBoard
FEW_STEPS = [
    "train.time_limit=0.001",
    "train.n_samples=64",
    "train.progress=false",
    "train.tensorboard=false",
]
# Presets that are templates for the user's own files get a small folder of generated ones, as
# the README's `gankit train progan --data ./my_photos` does
NEEDS_PHOTOS = {"progan"}
# Work a preset does before its first step, shrunk: the CyCADA classifiers' 500 batches each
# took about two minutes of a loaded machine, and are tested in tests/test_translation.py
BEFORE_THE_FIRST_STEP = {"mnist-usps-cycada": ["model.semantic_steps=2"]}
CHILD_TIMEOUT = 1200  # seconds for one child's half of the presets (about 60 s on a quiet machine)

# argv: results file, overrides as JSON, preset names. One JSON line per preset:
# name, ok, error (GankitError's message, or the traceback's end for anything else), steps,
# run folder, wall seconds. One intra-op thread each: the two children share two cores.
DRIVER = r"""
import json, sys, time, traceback
from pathlib import Path

import torch

torch.set_num_threads(1)
from gankit import api
from gankit.errors import GankitError

results, overrides, extra, names = sys.argv[1], *map(json.loads, sys.argv[2:4]), sys.argv[4:]
for name in names:
    start = time.perf_counter()
    run = str(Path("runs", name).resolve())
    row = {"name": name, "ok": False, "error": "", "steps": 0, "run": run}
    try:
        sets = overrides + extra.get(name, [])
        row.update(ok=True, steps=api.train(name, overrides=sets, out=run).step)
    except GankitError as e:
        row["error"] = " ".join(str(e).split())
    except BaseException as e:  # a bug: keep going, so one preset does not hide the others
        row["error"] = "".join(traceback.format_exception(e)[-4:])
    row["wall"] = round(time.perf_counter() - start, 2)
    with open(results, "a") as f:
        f.write(json.dumps(row) + "\n")
"""


def write_photos(folder: Path, n: int, size: int) -> Path:
    """n colour JPEGs of size x size with gradients and noise: enough to stand in for photos."""
    import numpy as np
    from PIL import Image

    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:size, 0:size]
    for k in range(n):
        rgb = np.stack([x * (k + 1), y * 3, (x + y) * (k % 5 + 1)], -1) % 256
        noisy = (0.8 * rgb + rng.integers(0, 51, rgb.shape)).astype(np.uint8)
        Image.fromarray(noisy).save(folder / f"photo{k}.jpg")
    return folder


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict[str, dict]:
    """Trains every preset in two child processes at once (alternate names each); the rows by
    preset name. Each child has its own empty HOME and working folder, and nothing else."""
    base = tmp_path_factory.mktemp("presets")
    photos = write_photos(base / "photos", n=8, size=80)
    extra = {name: [f"data.path={photos}"] for name in NEEDS_PHOTOS} | BEFORE_THE_FIRST_STEP
    children = []
    for k, names in enumerate((PRESETS[0::2], PRESETS[1::2])):
        home, cwd = base / f"home{k}", base / f"cwd{k}"
        home.mkdir()
        cwd.mkdir()
        results, log = base / f"results{k}.jsonl", base / f"child{k}.log"
        argv = [sys.executable, "-c", DRIVER, str(results), json.dumps(FEW_STEPS)]
        argv += [json.dumps(extra), *names]
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                argv, env={"HOME": str(home)}, cwd=cwd, stdout=out, stderr=subprocess.STDOUT
            )
        children.append((proc, names, results, log))
    rows: dict[str, dict] = {}
    for proc, names, results, log in children:
        try:
            proc.wait(timeout=CHILD_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        lines = results.read_text().splitlines() if results.exists() else []
        rows.update((row["name"], row) for row in map(json.loads, lines))
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
        for name in names:  # those the child never reached: it crashed or ran out of time
            rows.setdefault(name, {"ok": False, "error": f"exit {proc.returncode}, log:\n{tail}"})
    return rows


@pytest.mark.parametrize("name", PRESETS)
def test_preset_trains_a_step_on_a_fresh_machine(trained, name):
    row = trained[name]
    assert row["ok"], f"{name} failed to train: {row['error']}"
    assert row["steps"] >= 1, f"{name} ended at step {row['steps']}"
    run = RunDir.open(Path(row["run"]))
    preset = resolve_config(name)
    assert run.load_config().train.steps == preset.train.steps  # the preset's own schedule
    assert list_checkpoints(run.checkpoints), f"{name} wrote no checkpoint"
    rows = [json.loads(line) for line in run.metrics.read_text().splitlines()]
    assert any(r.get("step", 0) >= 1 for r in rows), f"{name}'s metrics.jsonl has no step"
    if preset.train.report:
        assert (run.path / "report.html").is_file(), f"{name} wrote no report.html"
