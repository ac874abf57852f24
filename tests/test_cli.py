"""The command line end to end on tiny settings, and every user mistake as one line, exit 2."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gankit.cli import main

from .conftest import TINY
from .conftest import cli as run

SETS = [a for s in TINY for a in ("--set", s)]


def snapshot(folder: Path) -> dict:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "run"
    with pytest.raises(SystemExit) as e:
        main(
            ["train", "--model", "gan", "--data", "ring", "--steps", "20", "--out", str(out), *SETS]
        )
    assert e.value.code == 0
    return out


def test_train_writes_a_complete_run(trained):
    for name in ("config.yaml", "metrics.jsonl", "data.json"):
        assert (trained / name).is_file()
    assert list((trained / "checkpoints").glob("step_*.pt"))
    assert list((trained / "samples").glob("step_*.png"))


def test_list(capsys):
    code, out, _ = run(capsys, "list")
    assert code == 0
    for word in (
        "models:",
        "unrolled",
        "wgan-gp",
        "datasets:",
        "grid",
        "presets:",
        "default",
        "modes",
    ):
        assert word in out
    code, out, _ = run(capsys, "list", "models")
    assert "gan" in out and "datasets:" not in out


def test_sample_formats(trained, capsys, tmp_path):
    for suffix in (".npy", ".csv", ".png"):
        out = tmp_path / f"s{suffix}"
        code, stdout, _ = run(capsys, "sample", trained, "--n", 30, "--out", out)
        assert code == 0 and out.stat().st_size > 0 and "wrote 30 samples" in stdout
    assert np.load(tmp_path / "s.npy").shape == (30, 2)
    np.testing.assert_allclose(
        np.loadtxt(tmp_path / "s.csv", delimiter=","),
        np.load(tmp_path / "s.npy"),
        rtol=1e-5,
        atol=1e-6,
    )


def test_eval_prints_and_appends(trained, capsys):
    before = (trained / "metrics.jsonl").read_text().splitlines()
    code, out, _ = run(capsys, "eval", trained, "--metric", "modes")
    assert code == 0
    result = json.loads(out)
    assert result["step"] == 20 and 0 <= result["eval/modes"] <= 8
    after = (trained / "metrics.jsonl").read_text().splitlines()
    assert (
        after[: len(before)] == before
        and json.loads(after[-1])["eval/modes"] == result["eval/modes"]
    )


def test_report(trained, capsys):
    code, out, _ = run(capsys, "report", trained)
    html = (trained / "report.html").read_text()
    assert code == 0 and "report.html" in out
    assert "gan" in html and "data:image/png;base64," in html and "data:image/gif;base64," in html


def test_resume_extends_a_run(tmp_path, capsys):
    out = tmp_path / "run"
    assert run(capsys, "train", "--steps", "10", "--out", out, *SETS)[0] == 0
    code, stdout, _ = run(capsys, "train", "--resume", out, "--steps", "20")
    assert code == 0 and "step 20" in stdout
    assert (out / "checkpoints" / "step_0000020.pt").exists()


def test_a_run_that_ended_at_its_time_limit_says_so_and_extends_with_a_new_limit(tmp_path, capsys):
    out = tmp_path / "run"
    limited = [*SETS, "--set", "train.time_limit=0.001", "--set", "train.ckpt_every=1"]
    assert run(capsys, "train", "--steps", "50", "--out", out, *limited)[0] == 0
    config = (out / "config.yaml").read_text()
    code, _, err = run(capsys, "train", "--resume", out, "--steps", "100")
    assert code == 2 and "trained its train.time_limit of 0.001 s already" in err
    assert err.count("\n") == 1 and (out / "config.yaml").read_text() == config  # untouched
    code, _, err = run(capsys, "train", "--resume", out, "--set", "model.lr_g=1")
    assert code == 2 and "drop --set model.lr_g=1" in err
    code, stdout, _ = run(capsys, "train", "--resume", out, "--set", "train.time_limit=0")
    assert code == 0 and "trained to step 50" in stdout  # no limit: on to train.steps


def test_user_points_file(tmp_path, capsys):
    points = tmp_path / "pts.csv"
    np.savetxt(points, np.random.default_rng(0).normal(size=(100, 2)), delimiter=",")
    code, out, err = run(
        capsys, "train", "--data", points, "--steps", "5", "--out", tmp_path / "r", *SETS
    )
    assert code == 0, err
    assert "points" in (tmp_path / "r" / "config.yaml").read_text()


@pytest.mark.parametrize(
    "args, words",
    [
        (["train", "--model", "nope"], ["unknown model 'nope'", "gankit list models"]),
        (["train", "--data", "nope"], ["unknown dataset 'nope'"]),
        (["train", "nope"], ["unknown preset 'nope'"]),
        (["train", "--set", "model.nope=1"], ["unknown config key 'model.nope'"]),
        (["train", "--set", "train.steps=many"], ["train.steps"]),
        (["train", "--set", "steps"], ["key=value"]),
        (["train", "--data", "missing.npy"], ["missing.npy"]),
        (["list", "things"], ["cannot list 'things'"]),
        (["sample", "not-a-run"], ["not a gankit run"]),
        (["eval", "not-a-run"], ["not a gankit run"]),
        (["report", "not-a-run"], ["not a gankit run"]),
        (["train", "--resume", "not-a-run"], ["not a gankit run"]),
    ],
)
def test_user_mistakes_are_one_line_and_exit_2(args, words, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(
        capsys, *args, *(SETS if args[0] == "train" and "--resume" not in args else [])
    )
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("gankit: error: "), err
    for word in words:
        assert word in err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_mistakes_about_a_run_leave_it_as_it_was(trained, capsys, tmp_path):
    before = snapshot(trained)
    existing = tmp_path / "exists.png"
    existing.write_bytes(b"mine")
    cases = [
        (["train", "--out", trained, *SETS], "already holds a run"),
        (["train", "--resume", trained, "--model", "wgan"], "drop --model"),
        (["eval", trained, "--metric", "nope"], "unknown metric 'nope'"),
        (["sample", trained, "--out", existing], "exists"),
        (["sample", trained, "--out", tmp_path / "x.txt"], "--out must end in"),
        (["sample", trained, "--n", "0"], "--n must be at least 1"),
    ]
    for args, words in cases:
        code, _, err = run(capsys, *args)
        assert code == 2 and words in err and err.count("\n") == 1, (args, err)
    assert snapshot(trained) == before
    assert existing.read_bytes() == b"mine"


def test_broken_checkpoint_is_a_clear_error(tmp_path, capsys):
    out = tmp_path / "run"
    assert run(capsys, "train", "--steps", "10", "--out", out, *SETS)[0] == 0
    (out / "checkpoints" / "step_0000010.pt").write_bytes(b"not a checkpoint")
    code, _, err = run(capsys, "sample", out)
    assert code == 2 and "truncated or not a gankit checkpoint" in err


def test_metric_that_does_not_fit_the_data(tmp_path, capsys):
    points = tmp_path / "pts.npy"
    np.save(points, np.zeros((10, 2), dtype=np.float32))
    out = tmp_path / "r"
    assert run(capsys, "train", "--data", points, "--steps", "5", "--out", out, *SETS)[0] == 0
    code, _, err = run(capsys, "eval", out, "--metric", "modes")
    assert code == 2 and "needs a Gaussian mixture" in err


def test_console_script_runs_as_a_module(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    result = subprocess.run(
        [sys.executable, "-m", "gankit", "train", "--model", "nope"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().startswith("gankit: error: unknown model")


def test_train_with_nothing_named_uses_the_default_preset(tmp_path, capsys):
    from gankit.config import load_preset

    out = tmp_path / "run"
    assert run(capsys, "train", "--steps", "5", "--out", out, *SETS)[0] == 0
    config = (out / "config.yaml").read_text()
    assert f"name: {load_preset('default')['model']['name']}" in config


def test_more_mistakes_fail_before_any_run_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cases = [
        (["train", "--set", "train.metrics=[nope]", *SETS], "unknown metric 'nope'"),
        (["train", "--data", "grid", "--set", "data.std=.inf", *SETS], "data.std"),
        (["train", "--set", "model.beta1=1.5", *SETS], "model.beta1"),
        (["train", "--set", "train.device=gpu", *SETS], "train.device"),
        (["train", "--model", "gan", "--set", "model.pack=3", *SETS], "multiple of model.pack"),
    ]
    for args, words in cases:
        code, _, err = run(capsys, *args)
        assert code == 2 and words in err and err.count("\n") == 1, (args, err)
    assert not (tmp_path / "runs").exists()


def test_resume_mistakes(trained, tmp_path, capsys):
    before = snapshot(trained)
    code, _, err = run(capsys, "train", "--resume", trained, "--steps", "5")
    assert code == 2 and "at step 20 already" in err
    assert run(capsys, "eval", trained, "--n", "0")[0] == 2
    assert snapshot(trained) == before
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.yaml").write_bytes(b"\xff\xfe garbage: [")
    code, _, err = run(capsys, "sample", broken)
    assert code == 2 and "cannot read config" in err


def test_runs_started_in_the_same_second_get_their_own_folders(tmp_path, capsys, monkeypatch):
    from datetime import datetime

    from gankit import api

    class Frozen(datetime):
        @classmethod
        def now(cls, tz=None):
            return cls(2026, 1, 2, 3, 4, 5)

    monkeypatch.setattr(api, "datetime", Frozen)
    monkeypatch.chdir(tmp_path)
    for _ in range(3):
        assert run(capsys, "train", "--model", "gan", "--data", "ring", "--steps", 2, *SETS)[0] == 0
    first = "gan-ring-20260102-030405"
    made = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert made == [first, f"{first}-2", f"{first}-3"]
