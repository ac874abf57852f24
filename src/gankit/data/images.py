"""Images in memory: the base of every built-in image set (MNIST, CIFAR-10, folders ...).

The sources themselves live by where their files come from: digits.py (bundled digits, USPS),
faces.py, torchvision_sets.py, stacked.py, folder.py; streaming.py reads images as needed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from gankit.data.order import EpochOrder
from gankit.data.pixels import (
    FITS,
    REFERENCE_SEED,
    Split,
    fit_images,
    fixed_permutation,
    to_float,
    upscaled_info,
)
from gankit.data.sources import DataSource, IndexedReference
from gankit.errors import ConfigError
from gankit.options import check_options, option

__all__ = ["ImageConfig", "ImageSet", "Split", "square_set", "to_float"]


class ImageSet(IndexedReference, DataSource):
    """Images in memory as uint8 [N, C, H, W], drawn in epochs (data.order.EpochOrder): each a
    fresh permutation, no replacement. Batches are float32 in [-1, 1], paired with int64 labels
    when there are classes.
    """

    snapshot_size = 100  # a 10 x 10 grid (10 per row, one row per class when conditional)

    def __init__(
        self,
        cfg,
        seed: int,
        train: Split,
        test: Split | None = None,
        class_names: Sequence[str] = (),
        source: str = "",
        extra: dict | None = None,
        default_metrics: tuple[str, ...] = (),
    ):
        super().__init__(cfg, seed)
        self.images, self.labels = train[0].contiguous(), train[1]
        self.test = test
        self.shape = tuple(self.images.shape[1:])
        self.class_names = tuple(class_names)
        self.num_classes = len(self.class_names) if self.labels is not None else 0
        self.flip = bool(getattr(cfg, "flip", False))
        self.source = source
        self.extra = extra or {}
        self.default_metrics = default_metrics
        self._digest = ""
        self._references: dict[str, Tensor] = {}
        self.order = EpochOrder(len(self.images), self.generator, self.flip)

    def batch(self, n: int) -> Tensor | tuple[Tensor, Tensor]:
        """x [n, C, H, W] float32 in [-1, 1], or (x, y [n] int64) when num_classes > 0."""
        idx, flips = self.order.take(n)
        x = to_float(self.images[idx])
        if flips is not None:
            x = torch.where(flips[:, None, None, None], x.flip(-1), x)
        return (x, self.labels[idx]) if self.num_classes else x

    def _split(self, split: str) -> Split:
        return self._pick(split, (self.images, self.labels), self.test)

    def _reference_order(self, split: str) -> Tensor:
        if split not in self._references:
            self._references[split] = fixed_permutation(len(self._split(split)[0]), REFERENCE_SEED)
        return self._references[split]

    def _reference_part(self, idx: Tensor, split: str) -> tuple[Tensor, Tensor | None]:
        images, labels = self._split(split)
        return to_float(images[idx]), labels[idx] if self.num_classes else None

    def key(self) -> str:
        """Name, shape, source and a digest of the pixels: equal keys mean equal data."""
        if not self._digest:
            h = hashlib.blake2b(digest_size=8)
            for images in (self.images, self.test[0] if self.test else None):
                if images is not None:
                    h.update(images.contiguous().numpy())
            self._digest = h.hexdigest()
        c, hh, w = self.shape
        return f"{self.cfg.name} {c}x{hh}x{w} {self.source} #{self._digest}"

    def info(self) -> dict:
        return {
            "kind": "images",
            "shape": list(self.shape),
            "num_classes": self.num_classes,
            "class_names": list(self.class_names),
            "n_train": len(self.images),
            "n_test": len(self.test[0]) if self.test else 0,
            "splits": ["train", "test"] if self.test else ["train"],
            "key": self.key(),
            **self.extra,
        }

    def state_dict(self) -> dict:
        return self.order.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.order.load_state_dict(state, self.cfg.name)


def _subset(train: Split, limit: int, name: str) -> Split:
    """`limit` training images, a fixed draw (REFERENCE_SEED) kept in their original order."""
    n = len(train[0])
    if limit > n:
        raise ConfigError(f"data.limit is {limit}, but {name} has only {n} training images")
    idx = fixed_permutation(n, REFERENCE_SEED)[:limit].sort().values
    return train[0][idx], None if train[1] is None else train[1][idx]


def image_size(default: int):
    """The `img_size` field of an image set's config: a square side of at least one pixel (a
    subclass that changes the default declares it again with this, keeping the rule)."""
    return option(default, min=1)


@dataclass
class ImageConfig:
    """Options of every built-in image set (subclasses set `name` and the native `img_size`)."""

    name: str = ""
    img_size: int = image_size(28)  # square side in pixels; the native size unless set otherwise
    fit: str = option("resize", choices=FITS)  # pad: centre on black (img_size >= native size)
    flip: bool = False  # random horizontal flips, redrawn every epoch
    # train on a fixed random subset of this many training images (the same for every seed, so
    # runs compare on the same data); the test split stays whole; 0 = all
    limit: int = option(0, min=0)


def square_set(
    cfg: ImageConfig,
    seed: int,
    train: Split,
    test: Split | None,
    names: Sequence[str],
    source: str,
    metrics: tuple[str, ...] = (),
) -> ImageSet:
    """An ImageSet of square images fitted to cfg.img_size."""
    check_options(cfg, "data")
    if cfg.limit:
        train = _subset(train, cfg.limit, cfg.name)
    side = min(train[0].shape[-2:])
    grown = cfg.fit == "resize" and side < cfg.img_size  # padding adds no pixels of its own
    extra = upscaled_info(len(train[0]) if grown else 0, side)
    train = (fit_images(train[0], cfg.img_size, cfg.fit), train[1])
    if test is not None:
        test = (fit_images(test[0], cfg.img_size, cfg.fit), test[1])
    return ImageSet(cfg, seed, train, test, names, source, extra, default_metrics=metrics)
