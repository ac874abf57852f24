"""Shared fixtures: tiny settings so every end-to-end test runs in seconds on two CPU cores."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType

import pytest
import torch

from gankit.registry import MODELS

# the models' own tiny settings (ModelSpec.tiny), by the names the tests use
VECTOR_TINY = list(MODELS.entry("gan").spec.tiny)
IMAGE_TINY = list(MODELS.entry("dcgan").spec.tiny)
PROGAN_TINY = list(MODELS.entry("progan").spec.tiny)  # 4x4 for 2 steps, then 8x8 fading in
MUSIC_GAN_TINY = list(MODELS.entry("musegan").spec.tiny)
TRAIN_TINY = [
    "train.batch_size=32",
    "train.n_samples=200",
    "train.log_every=5",
    "train.sample_every=10",
    "train.ckpt_every=10",
    "train.progress=false",
    "train.tensorboard=false",
    "train.report=false",
]
TINY = VECTOR_TINY + TRAIN_TINY
TINY_TEXT = Path(__file__).parent / "data" / "tiny.txt"  # 20 short lines written for the tests
TEXT_DATA = [f"data.path={TINY_TEXT}", "data.max_len=12", "data.tokenizer=whitespace"]
TEXT_TINY = TEXT_DATA + list(MODELS.entry("seqgan").spec.tiny)


def course_runner() -> ModuleType:
    """docs/execute_course.py (a script, not part of the package) as a module: the tests run and
    check the notebooks with the very code that writes the site's executed copies."""
    path = Path(__file__).resolve().parents[1] / "docs" / "execute_course.py"
    spec = importlib.util.spec_from_file_location("execute_course", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tiny_jsb_json() -> Path:
    """A JSB-format JSON (train/valid/test pieces of [S, A, T, B] steps, -1 silent) of a few
    short made-up chorales, written once per session under the temp folder."""
    path = Path(tempfile.gettempdir()) / f"gankit-tests-{os.getuid()}" / "jsb-tiny.json"
    if not path.exists():
        chords = [[72, 67, 64, 48], [74, 65, 62, 50], [71, 67, 62, 43], [72, 64, 60, -1]]
        piece = [chord for chord in chords for _ in range(4)] * 3  # 48 steps, 3 bars
        splits = {"train": [piece, piece[8:] + piece[:8]], "valid": [piece], "test": [piece[4:]]}
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(splits))
        tmp.replace(path)
    return path


def tiny_unpaired_folder() -> Path:
    """trainA/ (grey squares) and trainB/ (grey discs), 6 each, with testA/ and testB/: written
    once per session under the temp folder."""
    from PIL import Image, ImageDraw

    root = Path(tempfile.gettempdir()) / f"gankit-tests-{os.getuid()}" / "unpaired"
    if not (root / "done").exists():
        for split, n in (("train", 6), ("test", 2)):
            for domain in ("A", "B"):
                (root / f"{split}{domain}").mkdir(parents=True, exist_ok=True)
                for i in range(n):
                    img = Image.new("RGB", (12, 12))
                    box = (2 + i % 3, 2, 9, 9 + i % 3)
                    draw = ImageDraw.Draw(img)
                    (draw.rectangle if domain == "A" else draw.ellipse)(box, fill=(200, 90, 40))
                    img.save(root / f"{split}{domain}" / f"{i}.png")
        (root / "done").touch()
    return root


def music_tiny() -> list[str]:
    """Tiny JSB data: 1-bar segments [1, 16, 48] of `tiny_jsb_json()`."""
    return [f"data.path={tiny_jsb_json()}", "data.bars=1"]


# tiny data of each kind of data a model declares (ModelSpec.data_kind)
KIND_DATA = {
    "points": lambda: ("ring", []),
    "image": lambda: ("digits", []),  # 8x8, with classes for conditional models
    "music": lambda: ("jsb-chorales", music_tiny()),
    "text": lambda: ("text", TEXT_DATA),
    "paired": lambda: ("edges2digits", ["data.img_size=16"]),
    "unpaired": lambda: (
        "unpaired-folder",
        [f"data.path={tiny_unpaired_folder()}", "data.img_size=8", "data.workers=0"],
    ),
}


def model_case(name: str) -> tuple[str, list[str]]:
    """(data set, tiny overrides) on which the registered model `name` trains in a second: the
    tiny data of its declared kind, its declared tiny settings and TRAIN_TINY."""
    from gankit.registry import MODELS

    spec = MODELS.entry(name).spec
    data, data_tiny = KIND_DATA[spec.data_kind]()
    return data, [*data_tiny, *spec.tiny, *TRAIN_TINY]


def tiny_model(name: str, data: str | None = None, extra=()):
    """(model, data source, config) of registered model `name` on its tiny case, seed 0."""
    from gankit.config import resolve_config
    from gankit.data import build_data
    from gankit.models import build_model

    case_data, tiny = model_case(name)
    cfg = resolve_config(model=name, data=data or case_data, overrides=[*tiny, *extra])
    torch.manual_seed(0)
    source = build_data(cfg.data, seed=0)
    info = source.info()
    model = build_model(cfg.model, source.shape, num_classes=source.num_classes, data_info=info)
    return model, source, cfg


@pytest.fixture(autouse=True, scope="session")
def _own_cache(tmp_path_factory):
    # real-data features are cached under GANKIT_CACHE: the tests' own folder, never the user's
    mp = pytest.MonkeyPatch()
    mp.setenv("GANKIT_CACHE", str(tmp_path_factory.mktemp("gankit-cache")))
    yield
    mp.undo()


@pytest.fixture(autouse=True)
def _one_thread():
    # Results must not depend on thread scheduling; one thread also keeps tests from contending.
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def cli(capsys, *args) -> tuple[int, str, str]:
    """`gankit ARGS` run in this process: (exit code, stdout, stderr)."""
    from gankit.cli import main

    with pytest.raises(SystemExit) as e:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    return e.value.code, out, err


# a trainer that dies without cleaning up: `gankit train` under kill -9, or a machine gone down
DIES_WHILE_TRAINING = """
import os, sys
from gankit.training.run import RunDir

with RunDir(sys.argv[1]).training():
    os._exit(0)  # at once: no finally runs
"""


def leave_stale_marker(run_dir: Path) -> None:
    """Leaves in `run_dir` the training.json of a trainer killed mid-run (its process is gone)."""
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = {**os.environ, "PYTHONPATH": src}
    subprocess.run([sys.executable, "-c", DIES_WHILE_TRAINING, str(run_dir)], env=env, check=True)


def sets(*overrides: str) -> list[str]:
    """--set arguments for each override."""
    return [a for s in overrides for a in ("--set", s)]


@pytest.fixture(scope="module")
def pix2pix_run(tmp_path_factory):
    """A tiny pix2pix run, trained two steps (for translate)."""
    from gankit import api

    data_name, tiny = model_case("pix2pix")
    out = tmp_path_factory.mktemp("p2p") / "run"
    api.train(None, "pix2pix", data_name, [*tiny, "train.steps=2"], out)
    return out
