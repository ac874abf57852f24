"""Data-parallel training under torchrun (gloo, 2 CPU processes): the GAN runs in the fast suite
(one launch), every registered model in the slow one."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gankit import api
from gankit.registry import MODELS
from gankit.training.checkpoint import list_checkpoints, load_checkpoint
from gankit.training.distributed import Ranks, shard

from .conftest import TRAIN_TINY, VECTOR_TINY

ROOT = Path(__file__).resolve().parent.parent


def torchrun_worker(root: Path, which: str) -> Path:
    """One torchrun launch (2 processes) of tests/ddp_worker.py; its runs land in root."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    cmd += ["tests/ddp_worker.py", str(root), which]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return root


@pytest.fixture(scope="module")
def gan_runs(tmp_path_factory):
    return torchrun_worker(tmp_path_factory.mktemp("ddp"), "core")


@pytest.fixture(scope="module")
def registry_runs(tmp_path_factory):
    return torchrun_worker(tmp_path_factory.mktemp("ddp-registry"), "registry")


def nets(path: Path) -> dict:
    return torch.load(path, weights_only=True)


def check_in_step(run: Path) -> None:
    """Identical weights on both processes; checkpoints and logs written once, by the main one."""
    a, b = nets(run / "nets_rank0.pt"), nets(run / "nets_rank1.pt")
    for key in a:  # averaged gradients keep the processes' weights identical
        assert torch.allclose(a[key], b[key], atol=1e-6), key
    assert [p.name for p in list_checkpoints(run / "checkpoints")] == [
        "step_0000003.pt",
        "step_0000006.pt",
    ]
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "loss/G" in r] == [3, 5, 6]  # log_every 5, ckpt_every 3
    saved = load_checkpoint(run / "checkpoints" / "step_0000006.pt")["nets"]
    assert all(torch.equal(saved[k], a[k]) for k in a)


def test_a_gan_trains_in_step_on_two_processes(gan_runs):
    check_in_step(gan_runs / "gan")


@pytest.mark.slow
@pytest.mark.parametrize("name", MODELS.names())
def test_every_model_trains_in_step_on_two_processes(registry_runs, name):
    check_in_step(registry_runs / name)


@pytest.mark.parametrize("model, steps", [("gan", 20), ("unrolled", 10)])
def test_two_processes_at_half_batch_equal_one_at_full_batch(gan_runs, tmp_path, model, steps):
    """Unrolled GAN included: its look-ahead D steps average their gradients differentiably."""
    one = api.train(
        None, model, "ring", VECTOR_TINY + TRAIN_TINY + [f"train.steps={steps}"], tmp_path / "one"
    )
    two = nets(gan_runs / f"{model}-straight" / "nets_rank0.pt")
    for key, value in one.model.nets.state_dict().items():
        assert torch.allclose(value, two[key], atol=1e-5), key


def test_resume_under_ddp_equals_the_uninterrupted_run(gan_runs):
    straight = nets(gan_runs / "gan-straight" / "nets_rank0.pt")
    resumed = nets(gan_runs / "gan-resumed" / "nets_rank0.pt")
    assert all(torch.equal(straight[k], resumed[k]) for k in straight)


def test_the_command_line_under_torchrun_trains_and_one_process_speaks(gan_runs):
    said = [(gan_runs / f"cli_rank{r}.out").read_text() for r in (0, 1)]
    assert said[0].count("run folder:") == 1 and said[0].endswith("exit 0\n"), said[0]
    assert said[1] == "exit 0\n"  # nothing but the exit code the worker noted
    assert load_checkpoint(list_checkpoints(gan_runs / "cli" / "checkpoints")[-1])["step"] == 4


def test_leaving_the_group_ends_its_threads_while_python_is_alive(gan_runs):
    """A gloo thread that outlives `_leave` (atexit) frees the last collective's tensors during
    the interpreter's teardown, where taking the GIL aborts the process: SIGABRT at exit, now and
    then. torch._dynamo (imported by Adam, after setup) binds the group as a default argument;
    the group must go all the same."""
    if not (gan_runs / "threads_rank0.txt").exists():
        pytest.skip("the worker reads thread names from Linux's /proc")
    for rank in (0, 1):
        names = (gan_runs / f"threads_rank{rank}.txt").read_text().split()
        assert not [n for n in names if "gloo" in n], names


def test_nproc_hands_the_command_line_to_torchrun(monkeypatch):
    """`gankit train --nproc 2 ...` runs torchrun with the same arguments but --nproc, and exits
    with its code (the slow test below runs it for real)."""
    from gankit.cli import main

    calls = []

    def torchrun(cmd, **kwargs):
        calls.append(cmd)
        return subprocess.CompletedProcess(cmd, 3)

    monkeypatch.delenv("WORLD_SIZE", raising=False)
    monkeypatch.setattr(subprocess, "run", torchrun)
    with pytest.raises(SystemExit) as e:
        main(["train", "--model", "gan", "--nproc", "2", "--steps", "6", "--set=train.seed=1"])
    assert e.value.code == 3
    assert calls == [
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
        + ["-m", "gankit", "train", "--model", "gan", "--steps", "6", "--set=train.seed=1"]
    ]


def test_shard_takes_the_same_slice_of_every_chunk():
    x = torch.arange(12)  # 2 chunks (D updates) of a global batch of 6
    assert shard(x, 2, Ranks(0, 3)).tolist() == [0, 1, 6, 7]
    assert shard(x, 2, Ranks(2, 3)).tolist() == [4, 5, 10, 11]
    assert shard(x, 2, Ranks()).tolist() == x.tolist()


def test_global_batch_must_split_over_processes():
    from gankit.errors import ConfigError
    from gankit.training.distributed import check_batch

    check_batch(Ranks(0, 2), 32)
    with pytest.raises(ConfigError, match="multiple of 3"):
        check_batch(Ranks(1, 3), 32)


@pytest.mark.slow
def test_nproc_shortcut_runs_torchrun(tmp_path, capfd):
    from gankit.cli import main

    out = tmp_path / "run"
    args = ["train", "--model", "gan", "--data", "ring", "--nproc", "2", "--steps", "6"]
    args += ["--out", str(out), *[f"--set={o}" for o in VECTOR_TINY + TRAIN_TINY]]
    with pytest.raises(SystemExit) as e:
        main(args)
    assert e.value.code == 0, capfd.readouterr().err[-6000:]
    assert capfd.readouterr().out.count("run folder:") == 1  # one process speaks
    assert load_checkpoint(list_checkpoints(out / "checkpoints")[-1])["step"] == 6


def test_sync_bn_needs_cuda():
    from gankit.engine import sync_batchnorm
    from gankit.errors import ConfigError

    net = torch.nn.Sequential(torch.nn.BatchNorm2d(3))
    assert sync_batchnorm(net, Ranks(), torch.device("cpu")) is net  # one process: nothing to sync
    with pytest.raises(ConfigError, match="needs CUDA"):
        sync_batchnorm(net, Ranks(0, 2), torch.device("cpu"))
