"""Pixels: image files decoded and fitted to a square, uint8 <-> float, and the helpers every
image source shares (seeds, user folders, file lists). Low in the data package: it imports
nothing of gankit but its errors."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from gankit.errors import ConfigError, DataError

Split = tuple[Tensor, Tensor | None]  # uint8 images [N, C, H, W], int64 labels [N] or None

SPLIT_SEED = 0  # train/test splits of mnist5k and digits (metrics.classifier uses the same)
REFERENCE_SEED = 1234  # reference samples never depend on the run's seed
DEFAULT_ROOT = "~/.cache/gankit/data"
FITS = ("resize", "pad")
GREY_MODES = ("1", "L", "LA", "I", "I;16", "F")  # PIL modes of single-channel images
ORIENTATION = 0x0112  # the EXIF tag
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")


def to_float(images: Tensor) -> Tensor:
    """uint8 [N, C, H, W] -> float32 in [-1, 1] (0 -> -1, 255 -> 1 exactly)."""
    return images.float().div_(127.5).sub_(1.0)


def check_size(img_size: int, fit: str) -> None:
    if img_size < 1:
        raise ConfigError(f"data.img_size must be a positive number of pixels, got {img_size}")
    if fit not in FITS:
        raise ConfigError(f"data.fit must be one of {', '.join(FITS)}, got {fit!r}")


def fit_images(images: Tensor, size: int, fit: str = "resize") -> Tensor:
    """uint8 [N, C, h, w] -> uint8 [N, C, size, size]: bilinear resize, or pad with black."""
    h, w = images.shape[-2:]
    if (h, w) == (size, size):
        return images
    import torchvision.transforms.v2.functional as F  # lazy: torchvision adds ~1.5 s to imports

    if fit == "pad":
        if size < max(h, w):
            raise ConfigError(
                f"data.fit=pad needs data.img_size >= {max(h, w)} (the native size), got {size}; "
                "use data.fit=resize to shrink"
            )
        left, top = (size - w) // 2, (size - h) // 2
        return F.pad(images, [left, top, size - w - left, size - h - top])
    # in chunks: the resize goes through float, 4 bytes a pixel
    chunks = [F.resize(c, [size, size], antialias=True) for c in images.split(4096)]
    return torch.cat(chunks)


def decode_image(
    path: Path, size: int, channels: int, check_only: bool = False
) -> tuple[Tensor | None, int]:
    """An image file as uint8 [channels, size, size] (resized by its shorter side, then
    centre-cropped) and its shorter side before resizing. PIL's errors pass through: a file
    may fail in many ways (truncated, corrupt, not an image).

    `check_only` decodes just to see that the file reads (JPEGs at reduced scale, which is
    faster) and gives no pixels: (None, shorter side)."""
    import torchvision.transforms.v2.functional as F
    from PIL import Image, ImageOps

    mode = "L" if channels == 1 else "RGB"
    with Image.open(path) as img:
        side = min(img.size)
        if check_only:
            img.draft(mode, (size, size))
        img.load()  # before getexif: a PNG may keep its EXIF after the pixels
        if img.getexif().get(ORIENTATION, 1) != 1:  # phones store rotation in EXIF
            img = ImageOps.exif_transpose(img)  # (else it would return a copy: skipped)
        if img.mode == "P":  # palette images may carry transparency: via RGBA
            img = img.convert("RGBA")
        img = img.convert(mode)
    if check_only:
        return None, side
    x = F.resize(F.pil_to_tensor(img), [size], antialias=True)  # shorter side
    return F.center_crop(x, [size, size]), side


def fixed_permutation(n: int, seed: int) -> Tensor:
    """A permutation of range(n) fixed by seed; numpy's, as metrics.classifier splits mnist5k."""
    return torch.from_numpy(np.random.default_rng(seed).permutation(n))


def upscaled_info(n: int, smallest: int) -> dict:
    """What info() says of upscaling: how many training images were smaller than img_size and
    so enlarged, and the smallest side among them (a model may refuse to train on them)."""
    return {"n_upscaled": n, "upscaled_from": smallest if n else 0}


def user_folder(cfg, what: str) -> Path:
    """The folder `cfg.path` as an absolute path (saved back into cfg, so the run can be resumed
    from any folder); a one-line error when it is not given or not a folder."""
    if not cfg.path:
        raise ConfigError(f"data set {cfg.name!r} needs a folder of {what}: --set data.path=DIR")
    root = Path(cfg.path).expanduser().resolve()
    cfg.path = str(root)
    if not root.exists():
        raise DataError(f"{root} does not exist; give a folder of {what} with --set data.path=DIR")
    if not root.is_dir():
        raise DataError(f"{root} is a file, not a folder; give a folder with --set data.path=DIR")
    return root


def list_files(root: Path) -> tuple[list[Path], int]:
    """Image files under root, sorted, hidden ones left out; and how many other files there are."""
    images, others = [], 0
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for f in files:
            if f.startswith("."):
                continue
            if Path(f).suffix.lower() in IMAGE_SUFFIXES:
                images.append(Path(folder, f))
            else:
                others += 1
    return sorted(images), others
