"""Data-parallel training on torch.distributed, launched by torchrun: joining the group, batch
sharding and agreement between processes (the engine, gankit.engine, averages the gradients).

Processes start from the same seed and draw the same global batch and noise, each keeping its own
slice, so N processes at batch B/N follow the 1-process run at batch B.
"""

from __future__ import annotations

import atexit
import os

import torch
import torch.distributed as dist
from torch import Tensor

from gankit.batch import Batch, move_batch
from gankit.engine import SINGLE, Ranks
from gankit.errors import ConfigError


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


def local_batch(batch: Batch, chunks: int, ranks: Ranks, device, channels_last: bool) -> Batch:
    """This process's share of a global batch of `chunks` consecutive batches, on `device`
    (images in channels-last layout when asked)."""
    parts = batch if isinstance(batch, tuple | list) else (batch,)
    parts = [shard(x, chunks, ranks) for x in parts]
    if channels_last and parts[0].dim() == 4:
        parts[0] = parts[0].contiguous(memory_format=torch.channels_last)
    return move_batch(tuple(parts) if isinstance(batch, tuple | list) else parts[0], device)


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
