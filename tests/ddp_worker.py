"""Run by tests/test_distributed.py under `torchrun --nproc_per_node 2`: a few distributed runs
in one process group; each process saves its final weights beside the run for comparison."""

import sys
from pathlib import Path

import torch

from gankit import api
from gankit.registry import MODELS
from gankit.training.distributed import setup
from tests.conftest import TRAIN_TINY, VECTOR_TINY, model_case


def run(out: Path, model: str, data: str, overrides: list[str], resume_to: int = 0):
    trainer = api.train(None, model, data, overrides, out)
    if resume_to:
        trainer = api.resume(out, steps=resume_to)
    # the weights; buffers (batch-norm statistics, CycleGAN's pool of fakes) are per process
    weights = {k: p.detach() for k, p in trainer.model.nets.named_parameters()}
    torch.save(weights, out / f"nets_rank{trainer.ranks.rank}.pt")


def main(root: Path) -> None:
    setup("cpu")
    torch.set_num_threads(1)
    steps = ["train.steps=6", "train.ckpt_every=3", "train.device=cpu"]
    for name in MODELS.names():
        data, tiny = model_case(name)
        run(root / name, name, data, tiny + steps)
    # the equivalence and resume runs: an MLP GAN (no batch norm) at global batch 32
    gan = VECTOR_TINY + TRAIN_TINY + ["train.device=cpu", "train.ckpt_every=5"]
    run(root / "gan-straight", "gan", "ring", gan + ["train.steps=20"])
    run(root / "gan-resumed", "gan", "ring", gan + ["train.steps=10"], resume_to=20)
    run(root / "unrolled-straight", "unrolled", "ring", gan + ["train.steps=10"])


if __name__ == "__main__":
    main(Path(sys.argv[1]))
