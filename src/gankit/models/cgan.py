"""Conditional GANs: G(z, y) and D(x, y) (Mirza and Osindero 2014; projection D, Miyato 2018)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from gankit.errors import ConfigError
from gankit.models.dcgan import DCGAN, DCGANConfig
from gankit.models.gan import GAN, GANConfig
from gankit.nn.mlp import mlp
from gankit.registry import register_model


def _need_classes(model: str, num_classes: int) -> None:
    if num_classes < 2:
        raise ConfigError(
            f"model {model} draws samples by class and needs a data set with classes "
            "(mnist5k, digits, mnist, fashion-mnist, cifar10, or a folder with class "
            "sub-folders)"
        )


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
class CGANConfig(GANConfig):
    name: str = "cgan"
    z_dim: int = 100
    g_hidden: int = 512
    g_layers: int = 2
    d_hidden: int = 512
    d_layers: int = 2
    lr_g: float = 2e-4
    lr_d: float = 2e-4


@register_model("cgan", config=CGANConfig)
class CGAN(GAN):
    """Conditional GAN (Mirza and Osindero 2014): MLP G and D, the label joined to z and to x."""

    conditional = True

    def build_nets(self):
        cfg, k = self.cfg, self.num_classes
        _need_classes(cfg.name, k)
        if cfg.pack != 1:
            raise ConfigError("model.pack must be 1 for a conditional model")
        return (
            ConditionalMLPGenerator(cfg.z_dim, k, self.data_shape, cfg.g_hidden, cfg.g_layers),
            ConditionalMLPDiscriminator(k, self.data_shape, cfg.d_hidden, cfg.d_layers),
        )


@dataclass
class CDCGANConfig(DCGANConfig):
    name: str = "cdcgan"
    loss: str = "hinge"  # with spectral norm, the usual pairing for projection D (Miyato 2018)
    spectral_norm: bool = True
    d_norm: str = "none"


@register_model("cdcgan", config=CDCGANConfig)
class CDCGAN(DCGAN):
    """Conditional DCGAN: label embedding joined to z in G, projection discriminator."""

    conditional = True

    def build_nets(self):
        _need_classes(self.cfg.name, self.num_classes)
        if self.cfg.pack != 1:
            raise ConfigError("model.pack must be 1 for a conditional model")
        return super().build_nets()
