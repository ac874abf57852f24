"""Pixels: the one decoder of image files (open_image: every odd kind of file handled on purpose,
for training folders, paired folders and `gankit translate` alike), fitting to a square,
uint8 <-> float, and the helpers every image source shares (seeds, user folders, file lists).
Low in the data package: it imports nothing of gankit but its errors."""

from __future__ import annotations

import os
import stat
from contextlib import contextmanager
from dataclasses import dataclass
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
# PIL's own default limit (about 9,459 x 9,459): above it a file is a "decompression bomb"
MAX_IMAGE_PIXELS = 1024 * 1024 * 1024 // 4 // 3
ORIENTATION = 0x0112  # the EXIF tag
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")


def to_float(images: Tensor) -> Tensor:
    """uint8 [N, C, H, W] -> float32 in [-1, 1] (0 -> -1, 255 -> 1 exactly)."""
    return images.float().div_(127.5).sub_(1.0)


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


class ImageError(DataError):
    """An image file that gankit will not decode: corrupt, truncated, not an image, too large,
    a symlink loop ...; the message names the file and says why, in one line."""


class TooLarge(ImageError):
    """An image above the pixel limit (a "decompression bomb" to PIL): refused from its header."""


@contextmanager
def _own_pixel_limit():
    """PIL warns of (or refuses) an image above its process-wide Image.MAX_IMAGE_PIXELS when it
    opens one; gankit applies its own limit to each call before any pixel is decoded, so
    PIL's is lifted meanwhile (decoding is single-threaded in each process)."""
    from PIL import Image

    before = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        yield
    finally:
        Image.MAX_IMAGE_PIXELS = before


def _scaled(a: np.ndarray, ranges: tuple[float, ...]) -> np.ndarray:
    """Grey values of a deep image -> uint8: the first of `ranges` (0..r) that holds every value
    is mapped linearly onto 0..255; values in none of them are stretched from their min to
    their max (such a file states no scale of its own)."""
    a = np.nan_to_num(a.astype(np.float64))
    lo, hi = (float(a.min()), float(a.max())) if a.size else (0.0, 0.0)
    r = next((r for r in ranges if lo >= 0 and hi <= r), None)
    if r is None:
        a, r = a - lo, max(hi - lo, 1e-12)
    return np.rint(a * (255.0 / r)).clip(0, 255).astype(np.uint8)


def _eight_bit(img):
    """A loaded PIL image as mode L or RGB, 8 bits a channel, each odd kind on purpose: 16-bit
    grey (I;16*) by value / 257 (0..65535 onto 0..255; PIL's convert("L") would clip at 255,
    turning it white); 32-bit integer grey (I) as 8-bit if it is in 0..255, 16-bit if in
    0..65535, else stretched; float grey (F) as 0..1, else 0..255, else stretched; transparency
    (LA, RGBA, a palette's) composited over black, the colour gankit pads with; CMYK, YCbCr,
    LAB, HSV and 1-bit converted by PIL."""
    from PIL import Image

    mode = img.mode
    if mode.startswith("I;16"):
        return Image.fromarray(_scaled(np.asarray(img), (65535,)), "L")
    if mode in ("I", "F"):
        ranges = (255, 65535) if mode == "I" else (1, 255)
        return Image.fromarray(_scaled(np.asarray(img), ranges), "L")
    if mode in ("P", "PA"):  # a palette may mark a colour transparent: through RGBA
        img, mode = img.convert("RGBA"), "RGBA"
    if mode in ("LA", "La", "RGBA", "RGBa"):
        base = "L" if mode.startswith("L") else "RGB"
        img = img.convert("LA" if base == "L" else "RGBA")
        out = Image.new(base, img.size, 0)
        out.paste(img.convert(base), mask=img.getchannel("A"))
        return out
    return img if mode in ("L", "RGB") else img.convert("L" if mode == "1" else "RGB")


def open_image(path: Path, max_pixels: int = MAX_IMAGE_PIXELS, draft: int = 0):
    """THE decoder of gankit: an image file as a PIL image of mode L or RGB (see _eight_bit),
    upright by its EXIF orientation, the first frame of an animation. Raises ImageError, one
    line, for a file that is corrupt, truncated (PIL's LOAD_TRUNCATED_IMAGES stays off: no
    half-grey images), not an image, a symlink loop, or above `max_pixels` (checked from the
    header, before any pixel is decoded). `draft`: JPEGs may decode at reduced scale, down to
    about this side (for a quick check that a file reads)."""
    from PIL import Image, ImageOps

    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # a FIFO would block the open for ever
            raise ImageError(f"{path} is not a regular file")
        with _own_pixel_limit(), Image.open(path) as img:
            w, h = img.size
            if w * h > max_pixels:
                raise TooLarge(
                    f"{path} is {w}x{h} = {w * h:,} pixels, above the limit of {max_pixels:,}"
                )
            if draft:
                img.draft(None, (draft, draft))
            img.load()  # before getexif: a PNG may keep its EXIF after the pixels
            if img.getexif().get(ORIENTATION, 1) != 1:  # phones store rotation in EXIF
                img = ImageOps.exif_transpose(img)
            return _eight_bit(img)
    except ImageError:
        raise
    except Exception as e:  # PIL fails in many ways (OSError, SyntaxError, ValueError ...)
        # an OSError's strerror leaves out the path, which the message names already
        reason = getattr(e, "strerror", None) or " ".join(str(e).split()) or type(e).__name__
        raise ImageError(f"{path} cannot be read as an image ({reason})") from None


def as_channels(img, channels: int) -> tuple[Tensor, bool]:
    """An L or RGB PIL image as uint8 [channels, H, W], and whether it changed kind (grey <->
    colour; colour to grey by ITU-R 601 luma, as PIL converts)."""
    mode = "L" if channels == 1 else "RGB"
    a = np.array(img.convert(mode) if img.mode != mode else img)  # its own, writable copy
    x = torch.from_numpy(a).reshape(a.shape[0], a.shape[1], -1).permute(2, 0, 1)
    return x.contiguous(), img.mode != mode


def fit_square(x: Tensor, size: int) -> Tensor:
    """uint8 [C, h, w] -> [C, size, size]: resized by its shorter side, then centre-cropped."""
    import torchvision.transforms.v2.functional as F  # lazy: torchvision adds ~1.5 s to imports

    return F.center_crop(F.resize(x, [size], antialias=True), [size, size])


def half(img, part: str, path: Path):
    """The left or right half of a side-by-side A | B image; an ImageError if its width is odd."""
    w, h = img.size
    if w % 2:
        raise ImageError(f"{path} is {w} pixels wide: A | B images need an even width")
    return img.crop((0, 0, w // 2, h) if part == "left" else (w // 2, 0, w, h))


@dataclass
class Decoded:
    """What decode_image read of one file: its pixels and what the data sets report of it."""

    pixels: Tensor | None  # uint8 [channels, size, size]; None when only checked
    height: int  # before fitting
    width: int
    converted: bool  # grey <-> colour


def decode_image(
    path: Path, size: int, channels: int, check_only: bool = False, part: str = ""
) -> Decoded:
    """An image file (or the `part` "left" or "right" of a side-by-side A | B image) as uint8
    [channels, size, size], resized by its shorter side then centre-cropped, through
    open_image (its ImageError passes through).

    `check_only` decodes just to see that the file reads (JPEGs at reduced scale, which is
    faster) and gives no pixels; the size it reports is then exact only below `size` (a JPEG
    draft never shrinks below it), which is all that upscaled_info needs."""
    img = open_image(path, draft=size if check_only else 0)
    if part:
        img = half(img, part, path)
    w, h = img.size
    if check_only:
        return Decoded(None, h, w, img.mode != ("L" if channels == 1 else "RGB"))
    x, converted = as_channels(img, channels)
    return Decoded(fit_square(x, size), h, w, converted)


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
