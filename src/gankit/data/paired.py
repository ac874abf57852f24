"""Paired images for translation (pix2pix, Isola et al. 2017): an input A and a target B of the
same scene, kept in memory, shuffled, flipped and cropped together."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from gankit.data.images import (
    DEFAULT_ROOT,
    FashionMnistConfig,
    ImageSet,
    Mnist5kConfig,
    Split,
    _check_size,
)
from gankit.errors import ConfigError, DataError
from gankit.registry import DATASETS, register_dataset


class PairedSet(ImageSet):
    """A [N, C_a, H, W] and B [N, C_b, H, W] stacked along channels in one ImageSet, so one
    shuffle and one flip serve both; batches are (a, b) in [-1, 1], randomly cropped to `crop`
    with the same offset in both (pix2pix's jitter). Samples, and `shape`, are B's."""

    def __init__(self, cfg, seed: int, a: Split, b: Split, source: str, crop: int = 0):
        (a_train, a_test), (b_train, b_test) = a, b
        self.channels = (a_train.shape[1], b_train.shape[1])
        if a_train.shape[2:] != b_train.shape[2:]:
            raise DataError(
                f"A and B images differ in size ({list(a_train.shape[2:])} vs "
                f"{list(b_train.shape[2:])}); pairs must show the same scene at the same size"
            )
        test = None if a_test is None else (torch.cat([a_test, b_test], 1), None)
        super().__init__(cfg, seed, (torch.cat([a_train, b_train], 1), None), test, source=source)
        size = a_train.shape[-1]
        self.crop = crop or size
        if not 1 <= self.crop <= min(a_train.shape[-2:]):
            raise ConfigError(f"data.crop must be 0 (none) or 1..{size}, got {crop}")
        self.crop_generator = torch.Generator().manual_seed(seed + 7)  # saved with the state
        self.shape = (self.channels[1], self.crop, self.crop)
        self.extra = {
            "kind": "paired",
            "channels_a": self.channels[0],
            "channels_b": self.channels[1],
        }

    def split_pair(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return x[:, : self.channels[0]], x[:, self.channels[0] :]

    def batch(self, n: int) -> tuple[Tensor, Tensor]:
        """(a [n, C_a, crop, crop], b [n, C_b, crop, crop]) in [-1, 1]."""
        x = super().batch(n)
        h, w = x.shape[-2:]
        if self.crop < min(h, w):
            top, left = (
                int(torch.randint(d - self.crop + 1, (1,), generator=self.crop_generator))
                for d in (h, w)
            )
            x = x[..., top : top + self.crop, left : left + self.crop]
        return self.split_pair(x)

    def pairs(self, n: int, split: str = "test") -> tuple[Tensor, Tensor]:
        """The same n (a, b) pairs every call, centre-cropped: for pictures and metrics."""
        x = self._center(super().reference(n, split)[0])
        return self.split_pair(x)

    def reference(self, n: int, split: str = "train") -> tuple[Tensor, None]:
        """B images (the targets), for metrics that compare translations with real ones."""
        return self.pairs(n, split)[1], None

    def _center(self, x: Tensor) -> Tensor:
        h, w = x.shape[-2:]
        top, left = (h - self.crop) // 2, (w - self.crop) // 2
        return x[..., top : top + self.crop, left : left + self.crop]

    def info(self) -> dict:
        info = super().info()
        info["shape"] = list(self.shape)
        return info

    def state_dict(self) -> dict:
        return {**super().state_dict(), "crop": self.crop_generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.crop_generator.set_state(state["crop"])


def canny_edges(images: Tensor, sigma: float) -> Tensor:
    """Edge maps uint8 [N, 1, H, W] (255 on an edge) of grey images uint8 [N, 1, H, W], by
    scikit-image's Canny detector."""
    from skimage.feature import canny

    out = np.zeros(images.shape, dtype=np.uint8)
    for i, img in enumerate(images[:, 0].numpy()):
        out[i, 0] = canny(img / 255.0, sigma=sigma) * 255
    return torch.from_numpy(out)


@dataclass
class EdgesConfig:
    """Edges -> image pairs made from a grey image set (pix2pix's edges2shoes, in small)."""

    name: str = "edges2digits"
    img_size: int = 32  # side of both images: 28-pixel sets are padded (U-Nets want 2^k)
    crop: int = 0  # random crop side during training; 0 = none
    flip: bool = False  # random horizontal flips of both images
    sigma: float = 1.0  # Canny's Gaussian smoothing: larger = fewer, longer edges

    def validate(self) -> None:
        _check_size(self.img_size, "pad")
        if self.sigma <= 0:
            raise ConfigError(f"data.sigma must be positive, got {self.sigma}")


@dataclass
class EdgesFashionConfig(EdgesConfig):
    name: str = "edges2fashion"
    root: str = DEFAULT_ROOT
    download: bool = True


def _edges_set(cfg: EdgesConfig, seed: int, base_name: str, base_cfg) -> PairedSet:
    cfg.validate()
    base = DATASETS.get(base_name)(base_cfg, seed)
    images, test = base.images, base.test[0] if base.test else None
    a = (canny_edges(images, cfg.sigma), None if test is None else canny_edges(test, cfg.sigma))
    return PairedSet(cfg, seed, a, (images, test), f"Canny edges of {base.source}", cfg.crop)


def _base_size(cfg: EdgesConfig) -> dict:
    return {"img_size": cfg.img_size, "fit": "pad" if cfg.img_size >= 28 else "resize"}


@register_dataset("edges2digits", config=EdgesConfig)
def edges2digits(cfg: EdgesConfig, seed: int) -> PairedSet:
    """Canny edges -> digit, from mnist5k (4,000 train / 1,000 test pairs, no download)."""
    return _edges_set(cfg, seed, "mnist5k", Mnist5kConfig(**_base_size(cfg)))


@register_dataset("edges2fashion", config=EdgesFashionConfig)
def edges2fashion(cfg: EdgesFashionConfig, seed: int) -> PairedSet:
    """Canny edges -> Fashion-MNIST clothes (60,000 / 10,000 pairs; files as fashion-mnist)."""
    base = FashionMnistConfig(root=cfg.root, download=cfg.download, **_base_size(cfg))
    return _edges_set(cfg, seed, "fashion-mnist", base)
