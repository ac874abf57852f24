"""What a batch of real data is, for data sources and models alike (a low module: both use it)."""

from __future__ import annotations

import torch
from torch import Tensor

# x [n, *shape], or (x, y) with y int64 class labels [n] when the data set has classes
Batch = Tensor | tuple[Tensor, Tensor]


def split_batch(batch: Batch) -> tuple[Tensor, Tensor | None]:
    """(x, labels) of a batch; labels are None for data without classes."""
    if isinstance(batch, (tuple, list)):
        return batch[0], batch[1]
    return batch, None


def move_batch(batch: Batch, device: torch.device) -> Batch:
    if isinstance(batch, (tuple, list)):
        return tuple(t.to(device, non_blocking=True) for t in batch)
    return batch.to(device, non_blocking=True)
