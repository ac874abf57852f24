"""The feed-forward style network of Johnson et al. 2016 with instance normalisation (Ulyanov
et al. 2016), and its file: safetensors weights with the settings and provenance as metadata."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import Tensor, nn

from gankit.errors import GankitError

FORMAT = "gankit-style-net-1"  # the metadata key `format`: a file of another kind is refused


def _conv(c_in: int, c_out: int, kernel: int, stride: int = 1, relu: bool = True) -> nn.Sequential:
    """Reflection-padded conv, instance norm (learned scale and shift), ReLU."""
    layers = [
        nn.ReflectionPad2d(kernel // 2),
        nn.Conv2d(c_in, c_out, kernel, stride),
        nn.InstanceNorm2d(c_out, affine=True),
    ]
    return nn.Sequential(*layers, nn.ReLU(inplace=True)) if relu else nn.Sequential(*layers)


class Residual(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.body = nn.Sequential(_conv(c, c, 3), _conv(c, c, 3, relu=False))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class Upsample(nn.Sequential):
    """Nearest 2x then a conv: no checkerboard, unlike a transposed conv (Odena et al. 2016)."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__(nn.Upsample(scale_factor=2, mode="nearest"), _conv(c_in, c_out, 3))


class StyleNet(nn.Module):
    """Images [N, 3, H, W] in [-1, 1] -> styled images of the same size in [-1, 1].

    Johnson et al.'s image transformation network: 9x9 conv, two stride-2 convs, `blocks`
    residual blocks, two upsamplings, 9x9 conv; `width` channels at full resolution (their 32),
    twice and four times that below. Any H, W: the input is reflection-padded to a multiple of
    4 and cropped back, so no seam or shift shows.
    """

    def __init__(self, width: int = 16, blocks: int = 5):
        super().__init__()
        self.settings = {"width": width, "blocks": blocks}
        w = width
        self.body = nn.Sequential(
            _conv(3, w, 9),
            _conv(w, 2 * w, 3, stride=2),
            _conv(2 * w, 4 * w, 3, stride=2),
            *(Residual(4 * w) for _ in range(blocks)),
            Upsample(4 * w, 2 * w),
            Upsample(2 * w, w),
            nn.ReflectionPad2d(4),
            nn.Conv2d(w, 3, 9),
        )

    def forward(self, x: Tensor) -> Tensor:
        h, w = x.shape[-2:]
        ph, pw = -h % 4, -w % 4
        if ph or pw:
            x = nn.functional.pad(x, (0, pw, 0, ph), mode="replicate")
        return torch.tanh(self.body(x))[..., :h, :w]


def save_style_net(net: StyleNet, path: Path, info: dict) -> None:
    """Writes the weights as safetensors; the settings (to rebuild the net) and `info` (how it
    was trained: style image, steps, seconds ...) go into its metadata as JSON."""
    from safetensors.torch import save_file

    meta = {"format": FORMAT, "settings": json.dumps(net.settings), "info": json.dumps(info)}
    state = {k: v.detach().contiguous() for k, v in net.state_dict().items()}
    save_file(state, str(path), metadata=meta)


def load_style_net(path: Path) -> tuple[StyleNet, dict]:
    """The style network of a file written by save_style_net, in eval mode, and its info."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    try:
        with safe_open(str(path), "pt") as f:
            meta = f.metadata() or {}
        if meta.get("format") != FORMAT:
            raise ValueError("not a gankit style network")
        net = StyleNet(**json.loads(meta["settings"]))
        net.load_state_dict(load_file(str(path)))
    except Exception as e:  # missing, truncated, foreign: one message says what to give
        reason = " ".join(str(e).split())[:200] or type(e).__name__
        raise GankitError(
            f"--style-net {path} cannot be read as a gankit style network ({reason}); give a "
            "style_net.safetensors that `gankit nightmare` wrote"
        ) from None
    return net.eval(), json.loads(meta.get("info", "{}"))
