"""Sampling tokens from softmaxes: shared by the SeqGAN models and the oracle data set."""

from __future__ import annotations

import torch
from torch import Tensor


def draw(logits: Tensor, u: Tensor) -> Tensor:
    """Token ids [N] from logits [N, V] by inverse CDF at uniforms u [N]: the same u gives the
    same tokens (and it is ten times faster than torch.multinomial on a CPU)."""
    cdf = torch.softmax(logits, dim=1).cumsum(1)
    return torch.searchsorted(cdf, u[:, None] * cdf[:, -1:])[:, 0].clamp_(max=cdf.shape[1] - 1)
