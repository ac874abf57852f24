"""Multi-layer perceptrons: the G and D of the original GAN (Goodfellow et al. 2014), and of the
conditional GAN (Mirza and Osindero 2014), with `MLPNets`, the options that build them."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from gankit.options import option


def mlp(
    in_dim: int,
    hidden: int,
    layers: int,
    out_dim: int,
    act: str = "relu",
    norm: bool = False,
    dropout: float = 0.0,
) -> nn.Sequential:
    """`layers` hidden layers of width `hidden`: [N, in_dim] -> [N, out_dim], linear output;
    with `norm`, batch norm before each activation; with `dropout`, dropout after it."""
    acts = {"relu": nn.ReLU, "leaky": lambda: nn.LeakyReLU(0.2), "tanh": nn.Tanh}
    mods: list[nn.Module] = []
    dim = in_dim
    for _ in range(layers):
        mods.append(nn.Linear(dim, hidden))
        mods += [nn.BatchNorm1d(hidden)] if norm else []
        mods.append(acts[act]())
        mods += [nn.Dropout(dropout)] if dropout else []
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
    """[z, onehot(y)] -> x [N, *data_shape] (Mirza and Osindero 2014); `norm`: batch norm in
    the hidden layers, with LeakyReLU (see ConditionalMLPNets)."""

    def __init__(self, z_dim, num_classes, data_shape, hidden, layers, norm=False):
        super().__init__()
        self.num_classes, self.data_shape = num_classes, tuple(data_shape)
        out = math.prod(self.data_shape)
        self.net = mlp(z_dim + num_classes, hidden, layers, out, "leaky" if norm else "relu", norm)
        self.out = nn.Tanh() if len(self.data_shape) == 3 else nn.Identity()

    def forward(self, z: Tensor, y: Tensor) -> Tensor:
        h = torch.cat([z, nn.functional.one_hot(y, self.num_classes).to(z.dtype)], dim=1)
        return self.out(self.net(h)).view(z.shape[0], *self.data_shape)


class ConditionalMLPDiscriminator(nn.Module):
    """[x, onehot(y)] -> one logit per sample [N] (Mirza and Osindero 2014), with dropout after
    each hidden layer as in the paper's D."""

    def __init__(self, num_classes, data_shape, hidden, layers, dropout=0.0):
        super().__init__()
        self.num_classes = num_classes
        in_dim = math.prod(data_shape) + num_classes
        self.net = mlp(in_dim, hidden, layers, 1, "leaky", dropout=dropout)

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
        """(G, D) for unlabelled data; the conditional nets are ConditionalMLPNets'."""
        return (
            VectorGenerator(self.z_dim, data_shape, self.g_hidden, self.g_layers),
            VectorDiscriminator(data_shape, self.d_hidden, self.d_layers, self.pack),
        )


@dataclass
class ConditionalMLPNets(MLPNets):
    """MLPNets fed the label one-hot (Mirza and Osindero 2014), with the two settings that made
    them learn MNIST: with a plain ReLU G and a D that sees the label as 10 of its 794 inputs,
    G ignored the label and collapsed to noise (class-acc 0.10 after 1,500 steps); batch norm +
    LeakyReLU in G and dropout in D (the paper's D has dropout) reached 0.76 after 5,000."""

    g_norm: bool = option(False)  # batch norm + LeakyReLU in G's hidden layers
    d_dropout: float = option(0.0, min=0.0, below=1.0)  # dropout after D's hidden layers

    def build_nets(self, data_shape: tuple[int, ...], num_classes: int) -> tuple[nn.Module, ...]:
        """(G, D): conditional nets when num_classes > 0, else MLPNets'."""
        if not num_classes:
            return super().build_nets(data_shape, num_classes)
        g = ConditionalMLPGenerator(
            self.z_dim, num_classes, data_shape, self.g_hidden, self.g_layers, self.g_norm
        )
        d = ConditionalMLPDiscriminator(
            num_classes, data_shape, self.d_hidden, self.d_layers, self.d_dropout
        )
        return g, d
