"""Edges -> image pairs made from a grey image set (pix2pix's edges2shoes, in small): the input
is the Canny edge map of the target."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from gankit.data.digits import Mnist5kConfig
from gankit.data.paired import DIRECTIONS, PairedSet
from gankit.data.pixels import DEFAULT_ROOT
from gankit.data.torchvision_sets import FashionMnistConfig
from gankit.options import check_options, option
from gankit.registry import DATASETS, register_dataset


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
    img_size: int = option(32, min=1)  # of both images: 28-pixel sets are padded (U-Nets want 2^k)
    crop: int = option(0, min=0)  # random crop side during training; 0 = none
    flip: bool = False  # random horizontal flips of both images
    sigma: float = option(1.0, above=0.0)  # Canny's smoothing: larger = fewer, longer edges
    direction: str = option("AtoB", choices=DIRECTIONS)  # BtoA: image -> its edges


@dataclass
class EdgesFashionConfig(EdgesConfig):
    name: str = "edges2fashion"
    root: str = DEFAULT_ROOT
    download: bool = True


def _edges_set(cfg: EdgesConfig, seed: int, base_name: str, base_cfg) -> PairedSet:
    check_options(cfg, "data")
    base = DATASETS.get(base_name)(base_cfg, seed)
    images, test = base.images, base.test[0] if base.test else None
    a = (canny_edges(images, cfg.sigma), None if test is None else canny_edges(test, cfg.sigma))
    return PairedSet(cfg, seed, a, (images, test), f"Canny edges of {base.source}", cfg.crop)


def _base_size(cfg: EdgesConfig) -> dict:
    return {"img_size": cfg.img_size, "fit": "pad" if cfg.img_size >= 28 else "resize"}


@register_dataset("edges2digits", config=EdgesConfig, kind="paired")
def edges2digits(cfg: EdgesConfig, seed: int) -> PairedSet:
    """Canny edges -> digit, from mnist5k (4,000 train / 1,000 test pairs, no download)."""
    return _edges_set(cfg, seed, "mnist5k", Mnist5kConfig(**_base_size(cfg)))


@register_dataset("edges2fashion", config=EdgesFashionConfig, kind="paired")
def edges2fashion(cfg: EdgesFashionConfig, seed: int) -> PairedSet:
    """Canny edges -> Fashion-MNIST clothes (60,000 / 10,000 pairs; files as fashion-mnist)."""
    base = FashionMnistConfig(root=cfg.root, download=cfg.download, **_base_size(cfg))
    return _edges_set(cfg, seed, "fashion-mnist", base)
