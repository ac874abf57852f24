"""Image-to-image nets: pix2pix's U-Net and PatchGAN (Isola et al. 2017) and CycleGAN's ResNet
generator (Zhu et al. 2017, after Johnson et al. 2016); all fully convolutional."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

NORMS = ("batch", "instance")


def norm_layer(kind: str, channels: int) -> nn.Module:
    """Batch norm (pix2pix) or instance norm without running statistics (CycleGAN), so a net
    normalises each image by itself at test time as in training."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    raise ValueError(f"norm must be one of {NORMS}, got {kind!r}")


def init_weights(net: nn.Module) -> nn.Module:
    """N(0, 0.02) convolutions and N(1, 0.02) norm scales, as both papers' code."""
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
    return net


class UNetBlock(nn.Module):
    """One level of the U-Net: down (conv 4x4 stride 2), the inner levels, up (transposed conv),
    and the skip: the output is [input, up] concatenated along channels (not at the outermost
    level, which maps to the image)."""

    def __init__(
        self,
        outer: int,
        inner: int,
        sub: nn.Module | None,
        norm: str,
        dropout: float = 0.0,
        in_channels: int | None = None,
        outermost: bool = False,
    ):
        super().__init__()
        self.outermost = outermost
        innermost = sub is None
        down = [nn.Conv2d(in_channels or outer, inner, 4, 2, 1, bias=False)]
        if not outermost:  # the first layer has no norm (pix2pix appendix 6.1.1)
            down = [nn.LeakyReLU(0.2, inplace=True), *down]
            if not innermost:  # nor the 1x1 bottleneck, which batch norm would zero out
                down.append(norm_layer(norm, inner))
        up_in = inner if innermost else 2 * inner
        up = [nn.ReLU(inplace=True), nn.ConvTranspose2d(up_in, outer, 4, 2, 1, bias=outermost)]
        if outermost:
            up.append(nn.Tanh())
        else:
            up.append(norm_layer(norm, outer))
            if dropout:
                up.append(nn.Dropout(dropout))  # pix2pix's only noise: dropout, also at test time
        self.model = nn.Sequential(*down, *([sub] if sub is not None else []), *up)

    def forward(self, x: Tensor) -> Tensor:
        y = self.model(x)
        return y if self.outermost else torch.cat([x, y], 1)


class UNetGenerator(nn.Module):
    """pix2pix's G: an encoder-decoder with skip connections between mirrored layers, so
    low-level detail (edges, positions) passes straight across, [N, C_in, H, W] -> [N, C_out, H, W]
    in [-1, 1]. `n_down` halvings (8 for 256x256); H and W must be multiples of 2^n_down.

    Widths follow the paper: 64, 128, 256, then 512 for the rest; dropout 0.5 in the decoder
    layers of the three levels next to the bottleneck (as the authors' code at 256x256; kept
    at smaller sizes too, where it is the only noise G has)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        n_down: int,
        width: int = 64,
        norm: str = "batch",
        dropout: float = 0.5,
    ):
        super().__init__()
        if n_down < 2:
            raise ValueError(f"a U-Net needs at least 2 halvings, got {n_down}")
        widths = [min(width * 2**j, width * 8) for j in range(n_down)]  # level j's output
        block = UNetBlock(widths[-2], widths[-1], None, norm)  # innermost: to 1x1 and back
        for j in range(n_down - 2, 0, -1):
            drop = dropout if n_down - 2 - j < 3 else 0.0  # the three levels next to it
            block = UNetBlock(widths[j - 1], widths[j], block, norm, drop)
        self.net = UNetBlock(
            out_channels, widths[0], block, norm, in_channels=in_channels, outermost=True
        )
        self.multiple = 2**n_down
        init_weights(self)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class PatchDiscriminator(nn.Module):
    """PatchGAN: a grid of real/fake logits, one per overlapping patch, [N, C, H, W] ->
    [N, 1, H', W']. With 3 strided layers each logit sees 70x70 pixels (the paper's default);
    `n_layers` sets the patch size (`receptive_field`)."""

    def __init__(self, in_channels: int, width: int = 64, n_layers: int = 3, norm: str = "batch"):
        super().__init__()
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, width, 4, 2, 1),
            nn.LeakyReLU(0.2, inplace=True),
        ]
        c = width
        for i in range(1, n_layers + 1):
            c_next = width * min(2**i, 8)
            stride = 2 if i < n_layers else 1
            layers += [
                nn.Conv2d(c, c_next, 4, stride, 1, bias=False),
                norm_layer(norm, c_next),
                nn.LeakyReLU(0.2, inplace=True),
            ]
            c = c_next
        layers.append(nn.Conv2d(c, 1, 4, 1, 1))
        self.net = nn.Sequential(*layers)
        self.n_layers = n_layers
        init_weights(self)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


def receptive_field(n_layers: int) -> int:
    """Pixels seen by one PatchGAN logit: 16, 34, 70, 142, 286 for n_layers 1..5."""
    strides = [2] * n_layers + [1, 1]  # n_layers stride-2 convs (first incl.), then two of 1
    field = 1
    for s in reversed(strides):  # back from one output pixel through 4x4 kernels
        field = (field - 1) * s + 4
    return field


class ResnetBlock(nn.Module):
    """x + F(x), F = reflection-padded 3x3 conv, norm, ReLU, 3x3 conv, norm."""

    def __init__(self, channels: int, norm: str):
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, bias=False),
            norm_layer(norm, channels),
            nn.ReLU(inplace=True),
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, bias=False),
            norm_layer(norm, channels),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """CycleGAN's G: c7s1-64, two stride-2 downs, `blocks` residual blocks (6 for 128x128,
    9 for 256x256), two ups, c7s1-C_out, tanh. H and W must be multiples of 4."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        blocks: int = 9,
        width: int = 64,
        norm: str = "instance",
    ):
        super().__init__()
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(in_channels, width, 7, bias=False),
            norm_layer(norm, width),
            nn.ReLU(inplace=True),
        ]
        c = width
        for _ in range(2):
            layers += [
                nn.Conv2d(c, 2 * c, 3, 2, 1, bias=False),
                norm_layer(norm, 2 * c),
                nn.ReLU(inplace=True),
            ]
            c *= 2
        layers += [ResnetBlock(c, norm) for _ in range(blocks)]
        for _ in range(2):
            layers += [
                nn.ConvTranspose2d(c, c // 2, 3, 2, 1, output_padding=1, bias=False),
                norm_layer(norm, c // 2),
                nn.ReLU(inplace=True),
            ]
            c //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(c, out_channels, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.multiple = 4
        init_weights(self)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


def halvings(size: int) -> int:
    """The U-Net depth that takes a side of `size` (a power of two) down to 1 pixel."""
    return int(math.log2(size))
