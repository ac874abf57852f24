"""Layers of Progressive GAN (Karras et al. 2018): pixel norm, equalised LR, minibatch stddev."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

LRELU_GAIN = math.sqrt(2.0)  # He et al.'s gain, kept for leaky ReLU 0.2 as in the paper


class PixelNorm(nn.Module):
    """Divides each pixel's feature vector by its root mean square over channels:
    x / sqrt(mean_c(x^2) + eps), [N, C, ...] -> same shape. Stops G's signal magnitudes from
    escalating as G and D compete (the paper's replacement for batch norm in G)."""

    def __init__(self, eps: float = 1e-8):
        super().__init__()
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + self.eps)


class _Equalized(nn.Module):
    """Weights drawn from N(0, 1) and multiplied at every call by gain / sqrt(fan_in).

    The He constant lives in the forward pass, not in the initial weights, so every weight has
    the same dynamic range and Adam, which normalises its step by the gradient's scale, moves
    every layer at the same speed (the paper's "equalized learning rate")."""

    def __init__(self, shape: tuple[int, ...], gain: float):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(shape))
        self.bias = nn.Parameter(torch.zeros(shape[0]))
        self.scale = gain / math.sqrt(math.prod(shape[1:]))  # fan_in: all but the output dim


class EqualizedLinear(_Equalized):
    """[N, in] -> [N, out], y = x (scale W)^T + b."""

    def __init__(self, in_features: int, out_features: int, gain: float = LRELU_GAIN):
        super().__init__((out_features, in_features), gain)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight * self.scale, self.bias)


class EqualizedConv2d(_Equalized):
    """[N, in, H, W] -> [N, out, H', W'], a stride-1 conv with weights scale W."""

    def __init__(
        self, in_channels: int, out_channels: int, kernel: int, padding: int = 0, gain=LRELU_GAIN
    ):
        super().__init__((out_channels, in_channels, kernel, kernel), gain)
        self.padding = padding

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)


class MinibatchStd(nn.Module):
    """Appends the mean over features of their std within groups of `group` samples as one more
    channel, [N, C, H, W] -> [N, C + 1, H, W] (Karras et al. 2018): a collapsed G, whose samples
    all look alike, shows at once. Group member j of group i is sample i + j * N / group."""

    mixes_samples = True  # real and fake must go through D separately

    def __init__(self, group: int = 4, eps: float = 1e-8):
        super().__init__()
        self.group, self.eps = group, eps

    def forward(self, x: Tensor) -> Tensor:
        n, c, h, w = x.shape
        g = min(self.group, n)
        if g < 2 or n % g:  # no groups to compare: a constant feature
            return torch.cat([x, x.new_zeros(n, 1, h, w)], 1)
        var = x.view(g, -1, c, h, w).var(0, correction=0)  # [N / g, c, h, w]
        # eps inside the root: sqrt has an infinite gradient at 0 (identical samples)
        std = (var + self.eps).sqrt()
        feature = std.mean((1, 2, 3), keepdim=True).repeat(g, 1, h, w)  # [N, 1, h, w]
        return torch.cat([x, feature], 1)
