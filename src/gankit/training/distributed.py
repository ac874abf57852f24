"""Data-parallel training on torch.distributed, launched by torchrun: ranks, gradient averaging,
batch sharding and agreement between processes.

Why not `DistributedDataParallel` around each net: a GAN runs D inside G's step with D frozen,
leaves parameters unused in one phase and differentiates through unrolled copies of D, all of
which fight DDP's bucketed backward hooks. Averaging the gradients of each optimizer's parameters
just before its step (as stylegan2-ada-pytorch does) is exact for every model, with one
all-reduce per update. Processes start from the same seed and draw the same global batch and
noise, each keeping its own slice, so N processes at batch B/N follow the 1-process run at batch B.
"""

from __future__ import annotations

import atexit
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import Tensor, nn

from gankit.errors import ConfigError


@dataclass(frozen=True)
class Ranks:
    """Where this process stands: rank of world; (0, 1) when not distributed."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


SINGLE = Ranks()


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def setup(device: str = "auto") -> Ranks:
    """Joins the process group torchrun describes in the environment (once per process).

    The backend follows the device: NCCL for CUDA, gloo for the CPU. Without torchrun: SINGLE.
    """
    if not launched_by_torchrun():
        return SINGLE
    ranks = Ranks(
        int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), int(os.environ["LOCAL_RANK"])
    )
    if not dist.is_initialized():
        cuda = device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())
        if cuda:
            torch.cuda.set_device(ranks.local_rank)
        # Imported before the group exists, on purpose: this module binds `group.WORLD` as a
        # default argument when first imported (torch._dynamo imports it, e.g. at the first Adam),
        # and a group bound there outlives `_leave` (see there).
        from torch.distributed.nn import functional  # noqa: F401

        dist.init_process_group("nccl" if cuda else "gloo")
        atexit.register(_leave)
    return ranks


def _leave() -> None:
    """Leaves the process group at exit, while the interpreter is still whole.

    Destroying the last reference to the group joins the backend's threads here. A group still
    referenced elsewhere lives on into the interpreter's teardown, where a gloo thread that frees
    the last collective's tensors needs the GIL and aborts the process ("terminate called
    without an active exception"); a process that just vanishes can also make a peer abort.
    """
    if dist.is_initialized():
        dist.destroy_process_group()


def device_for(ranks: Ranks, name: str) -> str:
    """Each process on its own GPU (cuda:LOCAL_RANK) when distributed on CUDA."""
    if ranks.enabled and name in ("auto", "cuda") and torch.cuda.is_available():
        return f"cuda:{ranks.local_rank}"
    return name


def check_batch(ranks: Ranks, batch_size: int) -> None:
    if batch_size % ranks.world:
        raise ConfigError(
            f"train.batch_size ({batch_size}) is the global batch and must split evenly over "
            f"{ranks.world} processes; choose a multiple of {ranks.world}"
        )


def shard(x: Tensor, chunks: int, ranks: Ranks) -> Tensor:
    """This rank's rows of a global batch made of `chunks` consecutive batches (one per D
    update): [chunks * B, ...] -> [chunks * B / world, ...], the same slice of every chunk."""
    if not ranks.enabled:
        return x
    per = x.shape[0] // chunks // ranks.world
    parts = x.reshape(chunks, ranks.world, per, *x.shape[1:])[:, ranks.rank]
    return parts.reshape(chunks * per, *x.shape[1:])


def average_gradients(params: list[Tensor], ranks: Ranks) -> None:
    """Averages .grad over processes in one flat all-reduce; parameters without a gradient are
    left alone (every process runs the same code, so the same ones are missing everywhere)."""
    if not ranks.enabled:
        return
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= ranks.world
    for g, new in zip(grads, flat.split([g.numel() for g in grads]), strict=True):
        g.copy_(new.view_as(g))


class _AllReduceSum(torch.autograd.Function):
    """Sum over processes; its gradient is again a sum over processes (itself differentiable,
    for the double backward of unrolled steps)."""

    @staticmethod
    def forward(ctx, x: Tensor) -> Tensor:
        y = x.clone()
        dist.all_reduce(y)
        return y

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:
        return _AllReduceSum.apply(grad)


def average_differentiable(tensors: list[Tensor], ranks: Ranks) -> list[Tensor]:
    """The mean over processes of each tensor, differentiable (for unrolled D steps)."""
    if not ranks.enabled:
        return tensors
    return [_AllReduceSum.apply(t) / ranks.world for t in tensors]


def mean_over_ranks(x: Tensor, ranks: Ranks) -> Tensor:
    """Averages a tensor of logged numbers over processes (a no-op for one process)."""
    if ranks.enabled:
        x = x.clone()
        dist.all_reduce(x)
        x /= ranks.world
    return x


def any_rank(flags: list[bool], ranks: Ranks, device: torch.device) -> list[bool]:
    """Each flag true on any process, so that all processes stop at the same step."""
    if not ranks.enabled:
        return flags
    t = torch.tensor(flags, dtype=torch.int32, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return [bool(v) for v in t.tolist()]


def broadcast_module(module: nn.Module, ranks: Ranks) -> None:
    """Copies rank 0's parameters and buffers to every process."""
    if not ranks.enabled:
        return
    for t in [*module.parameters(), *module.buffers()]:
        dist.broadcast(t.data, src=0)


def broadcast_object(obj, ranks: Ranks):
    """Rank 0's value of a picklable object (e.g. the run folder's name) on every process."""
    if not ranks.enabled:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def barrier(ranks: Ranks) -> None:
    if ranks.enabled:
        dist.barrier()


def sync_batchnorm(module: nn.Module, ranks: Ranks, device: torch.device) -> nn.Module:
    """Batch norm with statistics over the global batch (CUDA only, as SyncBatchNorm is)."""
    if not ranks.enabled:
        return module
    if device.type != "cuda":
        raise ConfigError(
            "train.sync_bn needs CUDA devices (torch's SyncBatchNorm does not run on the CPU); "
            "drop it: each process then normalises with its own batch's statistics"
        )
    return nn.SyncBatchNorm.convert_sync_batchnorm(module)
