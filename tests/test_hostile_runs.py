"""Hostile input to the commands that read a run folder or a config: damaged run folders
(sample, eval, export, report, resume), NaN/inf/huge config values in every registered config,
unsafe checkpoints and settings too large for memory. Each is one line and exit 2, or works;
nothing of the user's changes."""

from __future__ import annotations

import argparse
import dataclasses
import shutil
from pathlib import Path

import pytest
import torch

from gankit.cli import main
from gankit.config import TrainConfig, resolve_config
from gankit.errors import ConfigError
from gankit.registry import DATASETS, MODELS

from .conftest import TINY, TRAIN_TINY, cli
from .test_cli import snapshot

pytestmark = pytest.mark.hostile

SETS = [a for s in TINY for a in ("--set", s)]


def run(capsys, *args) -> tuple[int, str]:
    code, _, err = cli(capsys, *args)
    return code, err


def one_line_error(code: int, err: str) -> bool:
    return code == 2 and err.count("\n") == 1 and err.startswith("gankit: error: ")


@pytest.fixture(scope="module")
def good_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("hostile") / "run"
    with pytest.raises(SystemExit) as e:
        main(["train", "--steps", "10", "--out", str(out), *SETS])
    assert e.value.code == 0
    return out


def _checkpoint(run: Path) -> Path:
    return next((run / "checkpoints").glob("*.pt"))


def _unsafe(run: Path) -> None:
    state = torch.load(_checkpoint(run), weights_only=True)
    state["extra"] = argparse.Namespace(a=1)  # a class: loading it would run code
    torch.save(state, _checkpoint(run))


DAMAGE = {
    "config with nan": lambda r: (r / "config.yaml").write_text(
        (r / "config.yaml").read_text().replace("lr_g: ", "lr_g: .nan #", 1)
    ),
    "config with inf": lambda r: (r / "config.yaml").write_text(
        (r / "config.yaml").read_text().replace("beta1: ", "beta1: .inf #", 1)
    ),
    "empty config": lambda r: (r / "config.yaml").write_text(""),
    "binary config": lambda r: (r / "config.yaml").write_bytes(b"\xff\xfe\x00garbage\x00"),
    "config is a folder": lambda r: ((r / "config.yaml").unlink(), (r / "config.yaml").mkdir()),
    "zero-byte checkpoint": lambda r: _checkpoint(r).write_bytes(b""),
    "truncated checkpoint": lambda r: _checkpoint(r).write_bytes(_checkpoint(r).read_bytes()[:999]),
    "unsafe checkpoint": _unsafe,
    "checkpoints is a file": lambda r: (
        shutil.rmtree(r / "checkpoints"),
        (r / "checkpoints").write_text("x"),
    ),
    "garbled data.json": lambda r: (r / "data.json").write_bytes(b"{\x00not json"),
}
COMMANDS = {
    "sample": lambda r, tmp: ["sample", r, "--out", tmp / "s.png"],
    "eval": lambda r, tmp: ["eval", r, "--metric", "modes"],
    "export": lambda r, tmp: ["export", r, "--out", tmp / "exported"],
    "resume": lambda r, tmp: ["train", "--resume", r, "--steps", "12"],
    "nightmare": lambda r, tmp: ["nightmare", "--faces", r, "--n-faces", "1", "--out", tmp / "nm"],
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damaged_run_folders_are_one_line_errors_and_stay_as_they_were(
    good_run, tmp_path, capsys, damage
):
    """A damaged run folder never gives a traceback, and no command changes it further."""
    folder = tmp_path / "run with spaces é"  # unicode and spaces in the path too
    shutil.copytree(good_run, folder)
    DAMAGE[damage](folder)
    before = snapshot(folder)
    for name, argv in COMMANDS.items():
        if damage == "garbled data.json" and name == "resume":
            continue  # training describes its data afresh and writes data.json anew
        code, err = run(capsys, *argv(folder, tmp_path))
        assert one_line_error(code, err), (damage, name, code, err)  # noticed, not ignored
        assert snapshot(folder) == before, (damage, name)


def test_an_unsafe_checkpoint_names_the_class_it_refuses(good_run, tmp_path, capsys):
    folder = tmp_path / "run"
    shutil.copytree(good_run, folder)
    _unsafe(folder)
    code, err = run(capsys, "sample", folder)
    assert one_line_error(code, err)
    assert "argparse.Namespace" in err and "refused" in err


def _float_keys() -> list[str]:
    """section.field of every float field of every registered model and data config, and train."""
    keys = []
    for section, entries in (("model", MODELS.entries()), ("data", DATASETS.entries())):
        for entry in entries:
            for f in dataclasses.fields(entry.make_config()):
                if isinstance(getattr(entry.make_config(), f.name), float):
                    keys.append((entry.name, section, f.name))
    for f in dataclasses.fields(TrainConfig):
        if isinstance(getattr(TrainConfig(), f.name), float):
            keys.append(("", "train", f.name))
    return keys


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", ".nan", "1e999"])
def test_no_float_option_takes_nan_or_inf(value):
    keys = _float_keys()
    assert len(keys) > 40  # every registered config is covered, not a sample
    for name, section, field in keys:
        args = (
            {"model": name} if section == "model" else {"data": name} if section == "data" else {}
        )
        with pytest.raises(ConfigError, match=f"{section}.{field} must be a finite number"):
            resolve_config(None, overrides=[f"{section}.{field}={value}"], **args)


def test_running_out_of_memory_is_one_line_naming_the_setting(tmp_path, capsys, monkeypatch):
    from gankit.training.trainer import Trainer

    def fit(self):
        raise RuntimeError(
            "[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't allocate "
            "memory: you tried to allocate 102400000000 bytes. Error code 12"
        )

    monkeypatch.setattr(Trainer, "fit", fit)
    code, err = run(capsys, "train", "--out", tmp_path / "r", *SETS)
    assert one_line_error(code, err)
    assert "out of memory" in err and "95.4 GiB" in err and "train.batch_size" in err


def test_a_bug_that_is_not_memory_stays_a_traceback(tmp_path, monkeypatch):
    from gankit.training.trainer import Trainer

    monkeypatch.setattr(Trainer, "fit", lambda self: (_ for _ in ()).throw(RuntimeError("bug")))
    with pytest.raises(RuntimeError, match="bug"):
        main(["train", "--out", str(tmp_path / "r"), *SETS])


def test_translation_models_default_to_the_papers_batch_of_one():
    for model in ("pix2pix", "cyclegan"):
        assert resolve_config(None, model).train.batch_size == 1
        assert resolve_config(None, model, overrides=["train.batch_size=8"]).train.batch_size == 8
    assert resolve_config("edges2digits-pix2pix").train.batch_size == 32  # a preset's own
    assert resolve_config(None, "dcgan").train.batch_size == TrainConfig().batch_size


def test_the_checkpoint_size_said_before_training_is_the_size_written(tmp_path, capsys):
    from gankit import api

    out = tmp_path / "r"
    sets = TRAIN_TINY + ["train.ckpt_every=2", "train.steps=2"]  # default widths: MBs
    trainer = api.prepare(None, "dcgan", "digits", sets, out)
    said = trainer.checkpoint_bytes()  # what `gankit train` prints before the first step
    trainer.fit()
    written = _checkpoint(out).stat().st_size
    assert abs(said - written) <= 0.1 * written, (said, written)
