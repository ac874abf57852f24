"""Faces that need no download: scikit-image's small LFW subset."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from gankit.data.images import ImageConfig, ImageSet, image_size, square_set
from gankit.registry import register_dataset


@dataclass
class LfwConfig(ImageConfig):
    name: str = "lfw-faces"
    img_size: int = image_size(32)


def lfw_subset_pixels(faces: bool = True) -> Tensor:
    """scikit-image's LFW subset as uint8 [100, 1, 25, 25]: its 100 faces, or (faces=False) its
    other 100 patches, cut from the same photos where there is no face."""
    from skimage.data import lfw_subset

    part = lfw_subset()[:100] if faces else lfw_subset()[100:]  # float [0, 1]
    return torch.from_numpy(np.round(part * 255).astype(np.uint8))[:, None]


@register_dataset("lfw-faces", config=LfwConfig, kind="image")
def lfw_faces(cfg: LfwConfig, seed: int) -> ImageSet:
    """The 100 25x25 grey faces of scikit-image's LFW subset, resized to 32x32; no test split."""
    x = lfw_subset_pixels()
    return square_set(cfg, seed, (x, None), None, (), "skimage.data.lfw_subset")
