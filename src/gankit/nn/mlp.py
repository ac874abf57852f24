"""Multi-layer perceptrons: the G and D of the original GAN (Goodfellow et al. 2014)."""

from __future__ import annotations

import math

from torch import nn


def mlp(in_dim: int, hidden: int, layers: int, out_dim: int, act: str = "relu") -> nn.Sequential:
    """`layers` hidden layers of width `hidden`: [N, in_dim] -> [N, out_dim], linear output."""
    acts = {"relu": nn.ReLU, "leaky": lambda: nn.LeakyReLU(0.2), "tanh": nn.Tanh}
    mods: list[nn.Module] = []
    dim = in_dim
    for _ in range(layers):
        mods += [nn.Linear(dim, hidden), acts[act]()]
        dim = hidden
    mods.append(nn.Linear(dim, out_dim))
    return nn.Sequential(*mods)


class VectorGenerator(nn.Module):
    """z [N, z_dim] -> x [N, *data_shape]; works for 2-D points and flattened images alike."""

    def __init__(self, z_dim: int, data_shape: tuple[int, ...], hidden: int, layers: int):
        super().__init__()
        self.data_shape = tuple(data_shape)
        self.net = mlp(z_dim, hidden, layers, math.prod(self.data_shape), act="relu")

    def forward(self, z):
        return self.net(z).view(z.shape[0], *self.data_shape)


class VectorDiscriminator(nn.Module):
    """x [N, *data_shape] -> one logit (or critic score) per sample, shape [N].

    With pack = m > 1 (PacGAN, Lin et al. 2018) D judges m samples at once: [N, ...] ->
    [N / m] scores, so a generator that repeats itself is easier to tell apart from the data.
    """

    def __init__(self, data_shape: tuple[int, ...], hidden: int, layers: int, pack: int = 1):
        super().__init__()
        self.pack = pack
        self.net = mlp(pack * math.prod(data_shape), hidden, layers, 1, act="leaky")

    def forward(self, x):
        return self.net(x.reshape(x.shape[0] // self.pack, -1)).squeeze(1)
