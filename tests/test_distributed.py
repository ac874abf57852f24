"""Data-parallel training under torchrun (gloo, 2 CPU processes), for every registered model."""

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


@pytest.fixture(scope="module")
def ddp_runs(tmp_path_factory):
    """One torchrun launch (2 processes) runs every model, then the GAN runs compared below."""
    root = tmp_path_factory.mktemp("ddp")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2"]
    cmd += ["--standalone", "tests/ddp_worker.py", str(root)]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return root


def nets(path: Path) -> dict:
    return torch.load(path, weights_only=True)


@pytest.mark.parametrize("name", MODELS.names())
def test_every_model_trains_in_step_on_two_processes(ddp_runs, name):
    run = ddp_runs / name
    a, b = nets(run / "nets_rank0.pt"), nets(run / "nets_rank1.pt")
    for key in a:  # averaged gradients keep the processes' weights identical
        assert torch.allclose(a[key], b[key], atol=1e-6), key
    # checkpoints and logs are written once, by the main process
    assert [p.name for p in list_checkpoints(run / "checkpoints")] == [
        "step_0000003.pt",
        "step_0000006.pt",
    ]
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "loss/G" in r] == [3, 5, 6]  # log_every 5, ckpt_every 3
    saved = load_checkpoint(run / "checkpoints" / "step_0000006.pt")["nets"]
    assert all(torch.equal(saved[k], a[k]) for k in a)


@pytest.mark.parametrize("model, steps", [("gan", 20), ("unrolled", 10)])
def test_two_processes_at_half_batch_equal_one_at_full_batch(ddp_runs, tmp_path, model, steps):
    """Unrolled GAN included: its look-ahead D steps average their gradients differentiably."""
    one = api.train(
        None, model, "ring", VECTOR_TINY + TRAIN_TINY + [f"train.steps={steps}"], tmp_path / "one"
    )
    two = nets(ddp_runs / f"{model}-straight" / "nets_rank0.pt")
    for key, value in one.model.nets.state_dict().items():
        assert torch.allclose(value, two[key], atol=1e-5), key


def test_resume_under_ddp_equals_the_uninterrupted_run(ddp_runs):
    straight = nets(ddp_runs / "gan-straight" / "nets_rank0.pt")
    resumed = nets(ddp_runs / "gan-resumed" / "nets_rank0.pt")
    assert all(torch.equal(straight[k], resumed[k]) for k in straight)


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
