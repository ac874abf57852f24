"""Faces that need no download: scikit-image's small LFW subset."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from gankit.data.images import ImageConfig, ImageSet, image_size, square_set
from gankit.registry import register_dataset


@dataclass
class LfwConfig(ImageConfig):
    name: str = "lfw-faces"
    img_size: int = image_size(32)


@register_dataset("lfw-faces", config=LfwConfig, kind="image")
def lfw_faces(cfg: LfwConfig, seed: int) -> ImageSet:
    """The 100 25x25 grey faces of scikit-image's LFW subset, resized to 32x32; no test split."""
    from skimage.data import lfw_subset

    faces = lfw_subset()[:100]  # float [0, 1]; the first 100 are faces, the other 100 background
    x = torch.from_numpy(np.round(faces * 255).astype(np.uint8))[:, None]
    return square_set(cfg, seed, (x, None), None, (), "skimage.data.lfw_subset")
