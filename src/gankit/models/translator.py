"""What the image translators (pix2pix, CycleGAN) share: they draw from inputs, not noise."""

from __future__ import annotations

import torch
from torch import Tensor

from gankit.errors import ConfigError, GankitError
from gankit.models.base import GANModel


class Translator(GANModel):
    """A model whose "noise" is an image to translate: snapshots feed it held-out (a, b)
    stacked along channels, `translate(x, direction)` maps your own images."""

    def noise(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        raise GankitError(
            f"{self.cfg.name} translates images rather than drawing them from noise: "
            "use `gankit translate RUN INPUT... --out DIR`"
        )

    def fixed_inputs(self, data, n: int, generator: torch.Generator | None = None) -> Tensor:
        """n held-out inputs of each domain (a, b), stacked along channels."""
        a, b = data.pairs(n, "test" if "test" in data.info().get("splits", []) else "train")
        k = min(len(a), len(b))
        return torch.cat([a[:k], b[:k]], 1).to(self.device)

    def split_inputs(self, z: Tensor | None, n: int | None) -> tuple[Tensor, Tensor]:
        """(a, b) of stacked inputs z; without z there is nothing to translate (an error)."""
        if z is None:
            self.noise(n or 0)
        return z[:, : self.channels[0]], z[:, self.channels[0] :]


def check_patch_size(size: int, d_layers: int) -> None:
    """A PatchGAN halves its input d_layers times, then two 4x4 convolutions take a pixel each:
    below 3 * 2**d_layers its last normalised layer has one pixel (or none), which instance
    and batch norm cannot train on."""
    need = 3 * 2**d_layers
    if size < need:
        raise ConfigError(
            f"model.d_layers={d_layers} needs images of at least {need}x{need} (the PatchGAN "
            f"halves them {d_layers} times), got {size}x{size}; raise data.img_size or lower "
            "model.d_layers"
        )


def as_channels(x: Tensor, channels: int) -> Tensor:
    """Grey shown as colour beside colour images (panels); x unchanged otherwise."""
    return x.expand(-1, channels, -1, -1) if x.shape[1] < channels else x
