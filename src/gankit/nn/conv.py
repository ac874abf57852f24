"""Convolutional G and D of DCGAN (Radford et al. 2016), with optional class conditioning, and
`ConvNets`, the options that build them."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm

from gankit.errors import ConfigError
from gankit.options import option

NORMS = ("batch", "instance", "layer", "none")


def dcgan_layout(img_size: int) -> tuple[int, int]:
    """(base, k): img_size = base * 2**k with base in 3..7, so G grows base x base k times.

    28 -> (7, 2), 32 -> (4, 3), 64 -> (4, 4), 128 -> (4, 5).
    """
    base, k = img_size, 0
    while base > 7 and base % 2 == 0:
        base, k = base // 2, k + 1
    if not 3 <= base <= 7 or k < 1:
        raise ConfigError(
            f"the DCGAN nets need an image size base * 2^k with base 3..7 and k >= 1 "
            f"(e.g. 28, 32, 48, 64, 128), got {img_size}; set data.img_size to one of these"
        )
    return base, k


def norm_layer(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if kind == "layer":  # normalises each sample on its own: safe for gradient penalties
        return nn.GroupNorm(1, channels)
    return nn.Identity()


def dcgan_init(module: nn.Module) -> None:
    """N(0, 0.02) weights and N(1, 0.02) norm scales, as in the DCGAN paper."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)
        elif (
            isinstance(m, (nn.BatchNorm2d, nn.GroupNorm, nn.InstanceNorm2d))
            and m.weight is not None
        ):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


class DCGANGenerator(nn.Module):
    """z [N, z_dim] -> x [N, C, S, S] in [-1, 1]: transposed convs with BN and ReLU, tanh out.

    With num_classes > 0 a learned label embedding is joined to z (G(z, y)).
    """

    def __init__(
        self, z_dim: int, img_channels: int, img_size: int, channels: int, num_classes: int = 0
    ):
        super().__init__()
        base, k = dcgan_layout(img_size)
        width = channels * 2 ** (k - 1)
        self.embed = nn.Embedding(num_classes, z_dim) if num_classes else None
        in_dim = 2 * z_dim if num_classes else z_dim
        mods: list[nn.Module] = [
            nn.ConvTranspose2d(in_dim, width, base, 1, 0, bias=False),  # [N, width, base, base]
            nn.BatchNorm2d(width),
            nn.ReLU(True),
        ]
        for _ in range(k - 1):
            mods += [
                nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(width // 2),
                nn.ReLU(True),
            ]
            width //= 2
        mods += [nn.ConvTranspose2d(width, img_channels, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*mods)
        dcgan_init(self)

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        if self.embed is not None:
            z = torch.cat([z, self.embed(y)], dim=1)
        return self.net(z[:, :, None, None])


class DCGANDiscriminator(nn.Module):
    """x [N, C, S, S] -> one score per sample [N / pack]: strided convs with LeakyReLU 0.2.

    norm: batch (DCGAN), layer or instance (WGAN-GP critics: no batch statistics), or none.
    spectral: spectral normalisation of every layer (Miyato et al. 2018).
    pack: PacGAN, D judges `pack` samples stacked along channels (Lin et al. 2018).
    num_classes > 0: projection discriminator, score + <embed(y), h(x)> (Miyato & Koyama 2018).
    """

    def __init__(
        self,
        img_channels: int,
        img_size: int,
        channels: int,
        norm: str = "batch",
        spectral: bool = False,
        pack: int = 1,
        num_classes: int = 0,
    ):
        super().__init__()
        base, k = dcgan_layout(img_size)
        sn = spectral_norm if spectral else (lambda m: m)
        self.pack = pack
        width = channels
        mods: list[nn.Module] = [
            sn(nn.Conv2d(img_channels * pack, width, 4, 2, 1)),  # no norm on the input layer
            nn.LeakyReLU(0.2, True),
        ]
        for _ in range(k - 1):
            mods += [
                sn(nn.Conv2d(width, width * 2, 4, 2, 1, bias=norm == "none")),
                norm_layer(norm, width * 2),
                nn.LeakyReLU(0.2, True),
            ]
            width *= 2
        self.features = nn.Sequential(*mods)  # [N, width, base, base]
        self.out = sn(nn.Conv2d(width, 1, base, 1, 0))
        self.embed = sn(nn.Embedding(num_classes, width)) if num_classes else None
        dcgan_init(self)

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        if self.pack > 1:
            x = x.reshape(x.shape[0] // self.pack, -1, *x.shape[2:])
        h = self.features(x)
        score = self.out(h).flatten()
        if self.embed is not None:
            score = score + (self.embed(y) * h.sum(dim=(2, 3))).sum(dim=1)
        return score


def image_size(model: str, data_shape: tuple[int, ...]) -> tuple[int, int]:
    """(channels, size) of square image data; a clear error for anything else."""
    if len(data_shape) != 3 or data_shape[1] != data_shape[2]:
        raise ConfigError(
            f"model {model} needs square images [C, S, S], but the data gives samples of shape "
            f"{list(data_shape)}; use an image data set (see `gankit list datasets`)"
        )
    return data_shape[0], data_shape[1]


@dataclass
class ConvNets:
    """The DCGAN family's options (a config part)."""

    z_dim: int = option(100, min=1)
    g_channels: int = option(64, min=1)  # G's width at full resolution; doubles at each halving
    d_channels: int = option(64, min=1)  # D's width at its first layer
    d_norm: str = option("batch", choices=NORMS)
    spectral_norm: bool = False  # on every D layer (Miyato et al. 2018)
    pack: int = option(1, min=1)  # PacGAN: D judges this many samples at once (Lin et al. 2018)

    def build_nets(self, data_shape: tuple[int, ...], num_classes: int) -> tuple[nn.Module, ...]:
        """(G, D) for square images; with num_classes > 0, G(z, y) and a projection D."""
        channels, size = image_size(self.name, data_shape)
        G = DCGANGenerator(self.z_dim, channels, size, self.g_channels, num_classes)
        D = DCGANDiscriminator(
            channels, size, self.d_channels, self.d_norm, self.spectral_norm, self.pack,
            num_classes,
        )  # fmt: skip
        return G, D
