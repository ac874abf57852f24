"""The Trainer: run folders, exact resume, checkpoints, snapshots, metrics."""

import json
import os
import signal
import socket

import numpy as np
import pytest
import torch

from gankit import api
from gankit.config import resolve_config
from gankit.errors import CheckpointError, ConfigError, RunError
from gankit.training.checkpoint import list_checkpoints, load_checkpoint
from gankit.training.run import RunDir
from gankit.training.trainer import Trainer, TrainingDiverged, TrainingStopped

from .conftest import IMAGE_TINY, TINY, TRAIN_TINY, leave_stale_marker


def train(tmp_path, name="run", model="gan", steps=20, extra=()):
    return api.train(None, model, "ring", TINY + [f"train.steps={steps}", *extra], tmp_path / name)


def rows(run_dir):
    out = []
    for line in (run_dir / "metrics.jsonl").read_text().splitlines():
        row = json.loads(line)
        row.pop("time")
        out.append(row)
    return out


def test_resume_is_exact_with_ema_and_a_schedule(tmp_path, model="gan"):
    """A run that dies after step 10 and resumes gives the uninterrupted run's state bit for bit,
    G_ema and the lr schedule included (tests/test_contract.py checks every model without)."""
    EXTRA = ["train.ema=0.9", "model.lr_decay_start=0.3"]  # EMA and a scheduler must resume too
    straight = train(tmp_path, "a", model, steps=20, extra=EXTRA)
    train(tmp_path, "b", model, steps=20, extra=EXTRA)
    (tmp_path / "b" / "checkpoints" / "step_0000020.pt").unlink()  # as if killed after step 10
    resumed = api.resume(tmp_path / "b")
    assert resumed.step == 20
    a, b = straight.state_dict(), resumed.state_dict()
    for key, value in a["nets"].items():
        assert torch.equal(value, b["nets"][key]), key
    for name, opt in a["optimizers"].items():
        for pid, st in opt["state"].items():
            for k, v in st.items():
                assert torch.equal(
                    torch.as_tensor(v), torch.as_tensor(b["optimizers"][name]["state"][pid][k])
                )
    assert a["schedulers"] == b["schedulers"] and a["schedulers"]
    assert torch.equal(a["data"]["generator"], b["data"]["generator"])
    assert torch.equal(a["rng"]["torch"], b["rng"]["torch"])
    losses = [[r for r in rows(tmp_path / n) if "loss/D" in r] for n in ("a", "b")]
    assert losses[0] == losses[1] and len(losses[0]) == 4


def test_resume_to_more_steps_updates_the_config(tmp_path):
    train(tmp_path, "a", steps=10)
    assert api.resume(tmp_path / "a", steps=20).step == 20
    assert RunDir.open(tmp_path / "a").load_config().train.steps == 20


def test_resume_drops_rows_logged_after_the_checkpoint(tmp_path):
    train(tmp_path, "a", steps=20)
    run = RunDir(tmp_path / "a")
    ckpts = list_checkpoints(run.checkpoints)
    ckpts[-1].unlink()  # as if the process died after logging past step 10
    with open(run.metrics, "a") as f:
        f.write('{"step": 19, "loss/D"')  # and left a half line
    api.resume(tmp_path / "a")
    steps = [r["step"] for r in rows(tmp_path / "a") if "loss/D" in r]
    assert steps == sorted(set(steps)) == [5, 10, 15, 20]


def test_keeps_the_last_k_checkpoints(tmp_path):
    train(tmp_path, steps=20, extra=["train.ckpt_every=5", "train.keep_last=2"])
    names = [p.name for p in list_checkpoints(tmp_path / "run" / "checkpoints")]
    assert names == ["step_0000015.pt", "step_0000020.pt"]


def test_failed_write_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    train(tmp_path, steps=10)
    run = RunDir(tmp_path / "run")
    good = list_checkpoints(run.checkpoints)[-1].read_bytes()

    def full_disk(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", full_disk)
    with pytest.raises(CheckpointError, match="No space left"):
        api.resume(run.path, steps=20)
    assert list_checkpoints(run.checkpoints)[-1].read_bytes() == good
    assert not list(run.checkpoints.glob("*.tmp"))


def test_truncated_checkpoint_is_a_clear_error(tmp_path):
    train(tmp_path, steps=10)
    path = list_checkpoints(tmp_path / "run" / "checkpoints")[-1]
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(CheckpointError, match="truncated or not a gankit checkpoint"):
        api.resume(tmp_path / "run", steps=20)


def test_foreign_and_malicious_checkpoints_are_refused(tmp_path):
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(2)}, foreign)
    with pytest.raises(CheckpointError, match="not a gankit checkpoint"):
        load_checkpoint(foreign)

    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    evil = tmp_path / "evil.pt"
    torch.save({"format": "gankit-checkpoint", "x": Exploit()}, evil, pickle_protocol=2)
    with pytest.raises(CheckpointError):
        load_checkpoint(evil)
    assert not marker.exists()


def test_run_folder_contents(tmp_path):
    trainer = train(tmp_path, steps=20)
    run = tmp_path / "run"
    assert (run / "config.yaml").is_file() and (run / "data.json").is_file()
    snaps = sorted(p.name for p in (run / "samples").glob("*.npy"))
    assert snaps == ["step_0000010.npy", "step_0000020.npy"]
    assert (run / "samples" / "step_0000020.png").stat().st_size > 0
    x = np.load(run / "samples" / "step_0000020.npy")
    assert x.shape == (200, 2)
    # the last snapshot is the final model on the fixed noise
    np.testing.assert_array_equal(x, trainer.model.sample(z=trainer.out.fixed_z).numpy())
    evals = [r for r in rows(run) if "eval/modes" in r]
    assert [r["step"] for r in evals] == [10, 20]  # 2-D runs are scored at every snapshot
    assert 0 <= evals[-1]["eval/hq_pct"] <= 100


def test_save_load_round_trip_gives_identical_samples(tmp_path):
    trainer = train(tmp_path, steps=10, extra=["train.ema=0.9"])
    z = trainer.model.noise(50, torch.Generator().manual_seed(5))
    loaded = api.load(tmp_path / "run")
    assert "G_ema" in loaded.nets
    assert torch.equal(loaded.sample(z=z), trainer.model.sample(z=z))
    assert torch.equal(api.sample(tmp_path / "run", 50, seed=5), trainer.model.sample(z=z))


def test_existing_run_is_never_overwritten(tmp_path):
    train(tmp_path, steps=10)
    before = (tmp_path / "run" / "config.yaml").read_text()
    with pytest.raises(RunError, match="already holds a run.*--resume"):
        train(tmp_path, steps=5)
    assert (tmp_path / "run" / "config.yaml").read_text() == before


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_finishes_the_step_then_checkpoints(tmp_path, monkeypatch, sig):
    """Ctrl-C or SIGTERM in the middle of step 13 completes it, checkpoints, and stops; resuming
    then gives the uninterrupted run's weights exactly."""
    straight = train(tmp_path, "a", steps=20)
    cfg = resolve_config(model="gan", data="ring", overrides=TINY + ["train.steps=20"])
    trainer = Trainer(cfg, RunDir.create(tmp_path / "b", cfg))
    real_step = trainer.model.train_step

    def step(batch, i):
        if i == 12:
            os.kill(os.getpid(), sig)  # arrives mid-step
        return real_step(batch, i)

    monkeypatch.setattr(trainer.model, "train_step", step)
    with pytest.raises(TrainingStopped):
        trainer.fit()
    assert list_checkpoints(tmp_path / "b" / "checkpoints")[-1].name == "step_0000013.pt"
    resumed = api.resume(tmp_path / "b")
    for key, value in straight.state_dict()["nets"].items():
        assert torch.equal(value, resumed.state_dict()["nets"][key]), key


def watched_trainer(tmp_path, monkeypatch, fail_at=None, error=None):
    """(trainer, what its run's live_trainer() says at each step); `error` is raised at step
    `fail_at`."""
    cfg = resolve_config(model="gan", data="ring", overrides=TINY + ["train.steps=10"])
    trainer = Trainer(cfg, RunDir.create(tmp_path / "run", cfg))
    seen, real_step = [], trainer.model.train_step

    def step(batch, i):
        seen.append(trainer.run.live_trainer())
        if i == fail_at:
            raise error
        return real_step(batch, i)

    monkeypatch.setattr(trainer.model, "train_step", step)
    return trainer, seen


def test_a_run_says_it_is_training_until_training_ends(tmp_path, monkeypatch):
    trainer, seen = watched_trainer(tmp_path, monkeypatch)
    trainer.fit()
    assert len(seen) == 10
    assert all(s["pid"] == os.getpid() and s["host"] == socket.gethostname() for s in seen)
    assert not (tmp_path / "run" / "training.json").exists()


@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt(), TrainingStopped()])
def test_a_run_that_fails_or_is_stopped_is_no_longer_training(tmp_path, monkeypatch, error):
    trainer, seen = watched_trainer(tmp_path, monkeypatch, fail_at=3, error=error)
    with pytest.raises(type(error)):
        trainer.fit()
    assert len(seen) == 4 and all(seen)
    assert not (tmp_path / "run" / "training.json").exists()


def test_a_marker_is_live_only_while_its_process_runs_on_this_host(tmp_path):
    run = RunDir(tmp_path)
    assert run.live_trainer() is None  # no marker
    leave_stale_marker(tmp_path)  # a killed trainer's: its process is gone
    marker = json.loads(run.training_marker.read_text())
    assert marker["host"] == socket.gethostname() and run.live_trainer() is None
    alive = {**marker, "pid": os.getpid()}
    run.training_marker.write_text(json.dumps(alive))
    assert run.live_trainer() == alive
    for stale in ({**alive, "host": f"not-{marker['host']}"}, {**alive, "pid": 2**40}, [1]):
        run.training_marker.write_text(json.dumps(stale))
        assert run.live_trainer() is None, stale
    run.training_marker.write_text('{"pid": 1')  # half written
    assert run.live_trainer() is None


def test_non_finite_loss_stops_with_a_clear_error(tmp_path, monkeypatch):
    cfg = resolve_config(model="gan", overrides=TINY + ["train.steps=20"])
    trainer = Trainer(cfg, RunDir.create(tmp_path / "run", cfg))
    monkeypatch.setattr(
        trainer.model, "train_step", lambda b, i: {"loss/D": torch.tensor(float("nan"))}
    )
    with pytest.raises(TrainingDiverged, match="loss/D became non-finite by step 5"):
        trainer.fit()


def test_bf16_autocast_trains(tmp_path):
    trainer = train(tmp_path, steps=10, extra=["train.precision=bf16"])
    assert trainer.step == 10


def test_progress_bar_fills_with_time_under_a_time_limit():
    from gankit.training.progress import ProgressBar

    with ProgressBar(1000, 0, True, time_limit=10.0) as bar:
        bar.update(3, {"loss/D": 1.0}, elapsed=4.0)
        task = bar._progress.tasks[0]
        assert (task.total, task.completed, task.fields["where"]) == (10.0, 4.0, "step 3, 4/10 s")
    with ProgressBar(1000, 0, True) as bar:
        bar.update(3)
        assert bar._progress.tasks[0].fields["where"] == "3/1000"


# ------------------------------------------------------------------ precision and threads


@pytest.fixture
def cpu_with(monkeypatch):
    """Pretends the CPU reports these /proc/cpuinfo flags (the detection is cached per process)."""
    from gankit.training import hardware

    def pretend(*flags):
        monkeypatch.setattr(hardware, "cpu_flags", lambda: set(flags))
        hardware.native_bf16.cache_clear()

    yield pretend
    hardware.native_bf16.cache_clear()


@pytest.mark.parametrize(
    "flags, native",
    [
        (("avx2", "fma"), False),  # AMD Zen 3 and most laptops: bf16 would be emulated, ~10x slower
        (("avx512f", "avx512bw"), False),  # AVX-512 without bf16 instructions
        (("avx512f", "avx512_bf16"), True),  # AMD Zen 4, Intel Cooper Lake
        (("amx_tile", "amx_bf16"), True),  # Intel Sapphire Rapids and later
    ],
)
def test_auto_precision_is_bf16_only_for_conv_models_on_native_bf16_cpus(
    tmp_path, cpu_with, flags, native
):
    cpu_with(*flags)
    conv = api.prepare(None, "dcgan", "digits", [*IMAGE_TINY, *TRAIN_TINY], tmp_path / "conv")
    assert conv.cfg.train.precision == ("bf16" if native else "fp32")
    assert conv.precision_reason.startswith("auto: ")
    # recorded in the run: a resumed run keeps the choice, whatever machine it resumes on
    assert RunDir.open(tmp_path / "conv").load_config().train.precision == conv.cfg.train.precision
    mlp = api.prepare(None, "gan", "ring", TINY, tmp_path / "mlp")
    assert mlp.cfg.train.precision == "fp32"


def test_explicit_precision_is_kept_on_any_cpu(tmp_path, cpu_with):
    cpu_with("avx2")
    trainer = api.prepare(None, "gan", "ring", [*TINY, "train.precision=bf16"], tmp_path / "r")
    assert trainer.cfg.train.precision == "bf16" and trainer.precision_reason == "as configured"


def test_auto_channels_last_is_on_for_conv_models_on_cpu_and_recorded(tmp_path, monkeypatch):
    seen = []
    real_step = Trainer.next_batch

    def spy(self):
        seen.append(real_step(self))
        return seen[-1]

    monkeypatch.setattr(Trainer, "next_batch", spy)
    conv = api.train(None, "dcgan", "digits", [*IMAGE_TINY, *TRAIN_TINY, "train.steps=1"],
                     tmp_path / "conv")  # fmt: skip
    assert conv.cfg.train.channels_last == "true"
    assert RunDir.open(tmp_path / "conv").load_config().train.channels_last == "true"
    assert seen[0][0].is_contiguous(memory_format=torch.channels_last)
    nhwc = torch.channels_last
    kernels = [p for p in conv.model.nets["D"].parameters() if p.dim() == 4]
    assert kernels and all(p.is_contiguous(memory_format=nhwc) for p in kernels)
    mlp = api.prepare(None, "gan", "ring", TINY, tmp_path / "mlp")
    assert mlp.cfg.train.channels_last == "false"
    off = api.prepare(None, "dcgan", "digits", [*IMAGE_TINY, *TRAIN_TINY,
                      "train.channels_last=False"], tmp_path / "off")  # fmt: skip
    assert off.cfg.train.channels_last == "false" and not off.channels_last
    kernels = [p for p in off.model.nets["D"].parameters() if p.dim() == 4]
    assert not all(p.is_contiguous(memory_format=nhwc) for p in kernels)
    with pytest.raises(ConfigError, match="train.channels_last must be one of auto, true, false"):
        resolve_config(overrides=["train.channels_last=sometimes"])


def test_small_models_train_on_one_thread_and_the_callers_threads_come_back(tmp_path, monkeypatch):
    seen = []
    real_step = Trainer.next_batch

    def spy(self):
        seen.append(torch.get_num_threads())
        return real_step(self)

    monkeypatch.setattr(Trainer, "next_batch", spy)
    torch.set_num_threads(2)
    train(tmp_path, "mlp", steps=3)
    assert seen == [1, 1, 1] and torch.get_num_threads() == 2
    seen.clear()
    api.train(None, "dcgan", "digits", [*IMAGE_TINY, *TRAIN_TINY, "train.steps=2"], tmp_path / "c")
    assert seen == [2, 2]  # a conv model keeps the process's threads
    seen.clear()
    train(tmp_path, "explicit", steps=2, extra=["train.threads=2"])
    assert seen == [2, 2]
    with pytest.raises(ConfigError, match="train.threads must be at least 0"):
        resolve_config(overrides=["train.threads=-1"])


def test_end_of_run_work_shows_on_the_progress_bar(tmp_path, monkeypatch):
    from gankit.training.progress import ProgressBar

    notes = []
    monkeypatch.setattr(ProgressBar, "note", lambda self, text: notes.append(text))
    train(tmp_path, steps=3, extra=["train.report=true"])
    assert notes == ["evaluating modes ...", "drawing pictures", "writing report.html", "done"]


def test_evaluation_reports_the_images_it_has_featurised(tmp_path, monkeypatch):
    from gankit.metrics import evaluate, features

    monkeypatch.setenv(features.CACHE_ENV, str(tmp_path / "cache"))  # no cached real features

    sets = [*IMAGE_TINY, *TRAIN_TINY, "train.steps=2"]
    trainer = api.train(None, "dcgan", "mnist5k", sets, tmp_path / "r")
    heard = []
    evaluate(trainer.model, trainer.data, ["fid-classifier"], n=600, report=heard.append)
    # the reference split's 600 in batches of 500, then 600 generated in chunks of 250
    assert heard[0] == "fid-classifier ..."
    assert heard[1:] == [f"fid-classifier: {k} images" for k in (500, 600, 850, 1100, 1200)]


def test_metrics_default_to_the_data_sets_and_an_empty_list_scores_nothing(tmp_path):
    scored = train(tmp_path, "scored", steps=4)
    silent = train(tmp_path, "silent", steps=4, extra=["train.metrics=[]"])
    assert set(scored.results) == {"eval/modes", "eval/hq_pct", "eval/rev_kl"}  # modes: the default
    assert any(k.startswith("eval/") for r in rows(scored.run.path) for k in r)
    assert silent.results == {}
    assert not any(k.startswith("eval/") for r in rows(silent.run.path) for k in r)
