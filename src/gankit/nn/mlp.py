"""Multi-layer perceptrons: the G and D of the original GAN (Goodfellow et al. 2014), and of the
conditional GAN (Mirza and Osindero 2014), with `MLPNets`, the options that build them."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from gankit.options import option


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


class ConditionalMLPGenerator(nn.Module):
    """[z, onehot(y)] -> x [N, *data_shape] (Mirza and Osindero 2014)."""

    def __init__(self, z_dim, num_classes, data_shape, hidden, layers):
        super().__init__()
        self.num_classes, self.data_shape = num_classes, tuple(data_shape)
        self.net = mlp(z_dim + num_classes, hidden, layers, math.prod(self.data_shape), "relu")
        self.out = nn.Tanh() if len(self.data_shape) == 3 else nn.Identity()

    def forward(self, z: Tensor, y: Tensor) -> Tensor:
        h = torch.cat([z, nn.functional.one_hot(y, self.num_classes).to(z.dtype)], dim=1)
        return self.out(self.net(h)).view(z.shape[0], *self.data_shape)


class ConditionalMLPDiscriminator(nn.Module):
    """[x, onehot(y)] -> one logit per sample [N] (Mirza and Osindero 2014)."""

    def __init__(self, num_classes, data_shape, hidden, layers):
        super().__init__()
        self.num_classes = num_classes
        self.net = mlp(math.prod(data_shape) + num_classes, hidden, layers, 1, "leaky")

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        onehot = nn.functional.one_hot(y, self.num_classes).to(x.dtype)
        return self.net(torch.cat([x.flatten(1), onehot], dim=1)).squeeze(1)


@dataclass
class MLPNets:
    """The MLP family's options (a config part): they fit any data shape."""

    z_dim: int = option(16, min=1)
    g_hidden: int = option(256, min=1)
    g_layers: int = option(3, min=0)
    d_hidden: int = option(256, min=1)
    d_layers: int = option(3, min=0)
    pack: int = option(1, min=1)  # PacGAN (Lin et al. 2018): D judges this many samples at once

    def build_nets(self, data_shape: tuple[int, ...], num_classes: int) -> tuple[nn.Module, ...]:
        """(G, D); conditional nets, fed the label one-hot, when num_classes > 0."""
        if num_classes:
            return (
                ConditionalMLPGenerator(
                    self.z_dim, num_classes, data_shape, self.g_hidden, self.g_layers
                ),
                ConditionalMLPDiscriminator(num_classes, data_shape, self.d_hidden, self.d_layers),
            )
        return (
            VectorGenerator(self.z_dim, data_shape, self.g_hidden, self.g_layers),
            VectorDiscriminator(data_shape, self.d_hidden, self.d_layers, self.pack),
        )
