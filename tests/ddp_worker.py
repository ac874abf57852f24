"""Run by tests/test_distributed.py under `torchrun --nproc_per_node 2`: a few distributed runs
in one process group; each process saves its final weights beside the run for comparison.

`ddp_worker.py ROOT core`: the GAN runs the fast tests compare, and one through the command line.
`ddp_worker.py ROOT registry`: every registered model (the slow tests).
"""

import contextlib
import os
import sys
from pathlib import Path

import torch

from gankit import api
from gankit.cli import main as cli
from gankit.registry import MODELS
from gankit.training import distributed
from tests.conftest import TRAIN_TINY, VECTOR_TINY, model_case

# 6 steps: checkpoints at 3 and 6, log rows at 3, 5 (log_every) and 6
STEPS = ["train.steps=6", "train.ckpt_every=3", "train.device=cpu"]


def run(out: Path, model: str, data: str, overrides: list[str], resume_to: int = 0):
    trainer = api.train(None, model, data, overrides, out)
    if resume_to:
        trainer = api.resume(out, steps=resume_to)
    # the weights; buffers (batch-norm statistics, CycleGAN's pool of fakes) are per process
    weights = {k: p.detach() for k, p in trainer.model.nets.named_parameters()}
    torch.save(weights, out / f"nets_rank{trainer.ranks.rank}.pt")


def core(root: Path, rank: int) -> None:
    """An MLP GAN (no batch norm) at global batch 32: in step, straight, stopped and resumed, the
    Unrolled GAN (its look-ahead D steps average differentiably), and `gankit train` with what
    each process printed (--nproc inside torchrun trains here, it does not launch again)."""
    run(root / "gan", "gan", "ring", VECTOR_TINY + TRAIN_TINY + STEPS)
    gan = VECTOR_TINY + TRAIN_TINY + ["train.device=cpu", "train.ckpt_every=5"]
    run(root / "gan-straight", "gan", "ring", gan + ["train.steps=20"])
    run(root / "gan-resumed", "gan", "ring", gan + ["train.steps=10"], resume_to=20)
    run(root / "unrolled-straight", "unrolled", "ring", gan + ["train.steps=10"])
    args = ["train", "--model", "gan", "--data", "ring", "--nproc", "2", "--steps", "4"]
    args += ["--out", str(root / "cli"), *[f"--set={o}" for o in gan]]
    with open(root / f"cli_rank{rank}.out", "w") as out, contextlib.redirect_stdout(out):
        try:
            cli(args)
        except SystemExit as e:
            print(f"exit {e.code}")
    # what atexit does; the threads left after it (torch._dynamo came after setup, at Adam)
    distributed._leave()
    tasks = Path("/proc/self/task")  # Linux: a folder per thread, with its name
    if tasks.is_dir():
        names = sorted((tasks / t / "comm").read_text().strip() for t in os.listdir(tasks))
        (root / f"threads_rank{rank}.txt").write_text("\n".join(names))


def registry(root: Path) -> None:
    for name in MODELS.names():
        data, tiny = model_case(name)
        run(root / name, name, data, tiny + STEPS)


if __name__ == "__main__":
    ranks = distributed.setup("cpu")
    torch.set_num_threads(1)
    root, which = Path(sys.argv[1]), sys.argv[2]
    if which == "core":
        core(root, ranks.rank)
    else:
        registry(root)
