"""Nothing lost: kill -9 and resume, Ctrl-C twice, non-finite losses and weights, bad folders."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from gankit import api
from gankit.cli import main
from gankit.config import resolve_config
from gankit.training.checkpoint import list_checkpoints, load_checkpoint
from gankit.training.run import RunDir
from gankit.training.trainer import Trainer, TrainingDiverged

from .conftest import TINY

ROOT = Path(__file__).resolve().parent.parent


def trainer_for(tmp_path, steps=20, extra=()):
    cfg = resolve_config(
        model="gan", data="ring", overrides=TINY + [f"train.steps={steps}", *extra]
    )
    return Trainer(cfg, RunDir.create(tmp_path / "run", cfg))


def poison(trainer, monkeypatch, at_steps: set[int], weights=False, once=False):
    """Makes train_step produce a NaN loss (or NaN weights) at the given steps (`once`: only the
    first time each step is trained)."""
    real_step = trainer.model.train_step

    def step(batch, i):
        logs = real_step(batch, i)
        if i in at_steps:
            if once:
                at_steps.discard(i)
            if weights:
                with torch.no_grad():
                    next(trainer.model.nets["G"].parameters()).fill_(float("nan"))
            else:
                logs["loss/D"] = torch.tensor(float("nan"))
        return logs

    monkeypatch.setattr(trainer.model, "train_step", step)


def test_rollback_restores_the_last_good_checkpoint_and_goes_on(tmp_path, monkeypatch):
    trainer = trainer_for(tmp_path, extra=["train.on_nonfinite=rollback"])
    poison(trainer, monkeypatch, {12}, once=True)
    trainer.fit()
    assert trainer.step == 20 and trainer.rollbacks == 1
    rows = (tmp_path / "run" / "metrics.jsonl").read_text()
    assert '"event": "rollback from step 15' in rows  # noticed at the log of step 15
    for p in trainer.model.nets.parameters():
        assert p.isfinite().all()


def test_rollbacks_are_limited(tmp_path, monkeypatch):
    trainer = trainer_for(tmp_path, extra=["train.on_nonfinite=rollback", "train.max_rollbacks=2"])
    poison(trainer, monkeypatch, set(range(11, 20)))  # every repeat fails again
    with pytest.raises(TrainingDiverged):
        trainer.fit()
    assert trainer.rollbacks == 2


def test_nan_weights_never_replace_a_good_checkpoint(tmp_path, monkeypatch):
    trainer = trainer_for(tmp_path)
    poison(trainer, monkeypatch, {13}, weights=True)  # the losses may stay finite for a while
    with pytest.raises(TrainingDiverged, match="non-finite"):
        trainer.fit()
    names = [p.name for p in list_checkpoints(tmp_path / "run" / "checkpoints")]
    assert names == ["step_0000010.pt"]
    for value in load_checkpoint(tmp_path / "run" / "checkpoints" / names[0])["nets"].values():
        assert value.isfinite().all()


def test_second_ctrl_c_aborts_at_once(tmp_path, monkeypatch):
    trainer = trainer_for(tmp_path)
    real_step = trainer.model.train_step

    def step(batch, i):
        if i == 12:
            os.kill(os.getpid(), signal.SIGINT)  # the first asks for a clean stop ...
            os.kill(os.getpid(), signal.SIGINT)  # ... the second aborts
        return real_step(batch, i)

    monkeypatch.setattr(trainer.model, "train_step", step)
    with pytest.raises(KeyboardInterrupt) as info:
        trainer.fit()
    assert type(info.value) is KeyboardInterrupt  # not TrainingStopped: no checkpoint at 13
    assert list_checkpoints(tmp_path / "run" / "checkpoints")[-1].name == "step_0000010.pt"


def test_unwritable_output_folder_is_a_clear_error(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("mine")
    with pytest.raises(SystemExit) as e:
        main(["train", "--model", "gan", "--out", str(blocker / "run"), "--set", "steps=5"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "choose another --out" in err
    assert blocker.read_text() == "mine"


# `gankit train` whose checkpoint of step argv[1] stops half written: the child then touches the
# file argv[2] and waits there, so the test's SIGKILL lands mid-write every time
STOPS_MID_CHECKPOINT = """
import io, sys, time
from pathlib import Path
import torch
from gankit.cli import main

at, ready, real_save = int(sys.argv[1]), Path(sys.argv[2]), torch.save


def save(obj, f, *args, **kwargs):
    if not (isinstance(obj, dict) and obj.get("step") == at):
        return real_save(obj, f, *args, **kwargs)
    whole = io.BytesIO()
    real_save(obj, whole, *args, **kwargs)
    f.write(whole.getvalue()[: whole.tell() // 2])
    f.flush()
    ready.touch()
    time.sleep(600)


torch.save = save
main(sys.argv[3:])
"""


def test_kill_9_mid_checkpoint_then_resume_equals_the_uninterrupted_run(tmp_path, capsys):
    """SIGKILL while the checkpoint of step 30 is half written, then --resume: the final weights
    and the logged rows equal an uninterrupted run's bit for bit (deterministic CPU settings,
    one thread). While the child still trains, --resume is refused: two trainers would write
    one folder."""
    sets = [o for o in TINY if "every" not in o]
    sets += ["train.ckpt_every=10", "train.log_every=5", "train.sample_every=20"]
    run, ready = tmp_path / "killed", tmp_path / "half-written"
    args = ["train", "--model", "gan", "--data", "ring", "--steps", "40", "--out", str(run)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT / "src")}
    cmd = [sys.executable, "-c", STOPS_MID_CHECKPOINT, "30", str(ready), *args]
    cmd += [f"--set={o}" for o in sets]
    err = tmp_path / "child-stderr.txt"
    with open(err, "wb") as stderr:
        child = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
    try:  # the uninterrupted run trains here meanwhile
        straight = api.train(None, "gan", "ring", sets + ["train.steps=40"], tmp_path / "straight")
        deadline = time.monotonic() + 300  # generous: on busy cores the child starts slowly
        while not ready.exists():
            assert child.poll() is None, err.read_text()[-2000:]
            assert time.monotonic() < deadline, "the child never reached step 30's checkpoint"
            time.sleep(0.02)
        logged = (run / "metrics.jsonl").read_bytes()
        with pytest.raises(SystemExit) as e:
            main(["train", "--resume", str(run)])
        err = capsys.readouterr().err
        assert e.value.code == 2 and err.count("\n") == 1
        assert f"being trained right now by process {child.pid}" in err
        assert (run / "metrics.jsonl").read_bytes() == logged  # not truncated to step 20
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert RunDir(run).training_marker.exists() and RunDir(run).live_trainer() is None  # stale
    ckpts = run / "checkpoints"
    assert (ckpts / "step_0000030.pt.tmp").stat().st_size > 0  # killed mid-write ...
    assert list_checkpoints(ckpts)[-1].name == "step_0000020.pt"  # ... of step 30's checkpoint
    with pytest.raises(SystemExit) as e:
        main(["train", "--resume", str(run)])
    assert e.value.code == 0 and not RunDir(run).training_marker.exists()
    final = load_checkpoint(ckpts / "step_0000040.pt")["nets"]
    for key, value in straight.model.nets.state_dict().items():
        assert torch.equal(value, final[key]), key

    def rows(run_dir: Path) -> list[dict]:
        lines = (run_dir / "metrics.jsonl").read_text().splitlines()
        return [{k: v for k, v in json.loads(line).items() if k != "time"} for line in lines]

    assert rows(run) == rows(tmp_path / "straight")  # steps 25 and 30 logged once, not twice


def test_fp16_and_channels_last_train_and_resume(tmp_path):
    trainer = api.train(
        None,
        "dcgan",
        "digits",
        ["model.z_dim=8", "model.g_channels=8", "model.d_channels=8", *TINY[5:]]
        + ["train.steps=4", "train.precision=fp16", "train.channels_last=true"],
        tmp_path / "fp16",
    )
    assert set(trainer.model.engine.scalers) == {"G", "D"}
    state = load_checkpoint(list_checkpoints(tmp_path / "fp16" / "checkpoints")[-1])
    assert set(state["engine"]["scalers"]) == {"G", "D"}  # the loss scale resumes too
    assert api.resume(tmp_path / "fp16", steps=6).step == 6


def test_compile_option_compiles_the_trained_nets(tmp_path, monkeypatch):
    """torch.compile itself takes a minute here; the benchmark measures it, this checks wiring."""
    compiled = []
    monkeypatch.setattr(torch.nn.Module, "compile", lambda self, **kw: compiled.append(self))
    trainer = trainer_for(tmp_path, extra=["train.compile=true", "train.ema=0.9"])
    nets = trainer.model.nets
    assert compiled == [nets["G"], nets["D"]]  # not G_ema: it only samples


def test_export_is_safetensors_and_loads_back(tmp_path, capsys):
    trainer = api.train(
        None, "gan", "ring", TINY + ["train.steps=10", "train.ema=0.9"], tmp_path / "r"
    )
    with pytest.raises(SystemExit) as e:
        main(["export", str(tmp_path / "r"), "--out", str(tmp_path / "shared")])
    assert e.value.code == 0
    files = sorted(p.name for p in (tmp_path / "shared").iterdir())
    assert files == ["config.yaml", "data.json", "model.safetensors"]
    from safetensors.torch import load_file

    assert "G_ema.net.0.weight" in load_file(tmp_path / "shared" / "model.safetensors")
    z = trainer.model.noise(20, torch.Generator().manual_seed(3))
    assert torch.equal(api.load(tmp_path / "shared").sample(z=z), trainer.model.sample(z=z))
    with pytest.raises(SystemExit) as e:  # sampling and evaluation work from the export alone
        main(["sample", str(tmp_path / "shared"), "--n", "50", "--out", str(tmp_path / "s.npy")])
    assert e.value.code == 0 and (tmp_path / "s.npy").is_file()


@pytest.mark.parametrize(
    "args, words",
    [
        (["export", "{run}", "--out", "{run}"], "is not empty"),  # never over a folder with files
        (["train", "--resume", "{run}/export"], "is an export"),
    ],
)
def test_export_mistakes(tmp_path, capsys, args, words):
    api.train(None, "gan", "ring", TINY + ["train.steps=5"], tmp_path / "r")
    main_ok = ["export", str(tmp_path / "r")]
    with pytest.raises(SystemExit):
        main(main_ok)
    capsys.readouterr()
    with pytest.raises(SystemExit) as e:
        main([a.format(run=tmp_path / "r") for a in args])
    assert e.value.code == 2 and words in capsys.readouterr().err


def test_corrupt_export_is_a_clear_error(tmp_path):
    from gankit.errors import CheckpointError

    api.train(None, "gan", "ring", TINY + ["train.steps=5"], tmp_path / "r")
    out = api.export_run(tmp_path / "r")
    (out / "model.safetensors").write_bytes(b"\x00" * 40)
    with pytest.raises(CheckpointError, match="not a gankit export"):
        api.load(out)
