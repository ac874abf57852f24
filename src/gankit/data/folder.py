"""Your own folder of images (`--data DIR`), decoded into memory when small, else streamed.

data.in_memory=auto (the default) decodes the folder once into memory when its pixels at
img_size take at most AUTO_MEMORY_MB, and streams it otherwise: a DataLoader with data.workers
processes decodes each batch as it is drawn (data/streaming.py). Either way the batches are the
same for the same seed, and so are the skipped files: before the first step every file is
decoded once (JPEGs at reduced scale when streaming) to find and count the unreadable ones.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from gankit.data.images import ImageSet
from gankit.data.pixels import (
    IMAGE_SUFFIXES,
    ImageError,
    decode_image,
    list_files,
    upscaled_info,
    user_folder,
)
from gankit.data.sources import DataSource
from gankit.data.streaming import StreamSet
from gankit.errors import DataError
from gankit.options import check_options, option, switch
from gankit.registry import register_dataset

# auto decodes into memory up to this: 1 GB holds 87,000 images at 3x64x64 or 5,400 at 3x256x256;
# past it, the decode before the first step takes minutes and memory is better left to the model
AUTO_MEMORY_MB = 1024


@dataclass
class FolderConfig:
    name: str = "folder"
    path: str = ""  # a folder of images, searched recursively
    img_size: int = option(64, min=1)  # shorter side resized to it, then centre-cropped square
    channels: int = option(3, choices=(1, 3))  # 3: RGB, 1: grey
    labels: str = option("auto", choices=("auto", "none"))  # auto: sub-folders are classes
    flip: bool = False
    workers: int = option(2, min=0)  # decoding processes (at load and while streaming); 0: none
    in_memory: str = "auto"  # auto: decode into memory up to 1024 MB, else stream | true | false
    max_mb: int = option(4096, min=1)  # refuse to decode more than this into memory

    def validate(self) -> None:
        check_in_memory(self)


class _Decode(torch.utils.data.Dataset):
    """Decodes one file (or one half of an A | B file) to (uint8 [C, size, size], True, height,
    width, converted, ""); (zeros, False, 0, 0, False, why) if it cannot be decoded. With
    `check_only` the pixels are dropped (and JPEGs decode at reduced scale): it tells which
    files read, for a folder to be streamed."""

    def __init__(
        self, files: list[Path], size: int, channels: int, check_only: bool = False, part: str = ""
    ):
        self.files, self.size, self.channels = files, size, channels
        self.check_only, self.part = check_only, part

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> tuple[Tensor, bool, int, int, bool, str]:
        # no pixels when only checking; zeros in the place of an unreadable file
        shape = (0,) if self.check_only else (self.channels, self.size, self.size)
        try:
            d = decode_image(self.files[i], self.size, self.channels, self.check_only, self.part)
        except ImageError as e:  # corrupt, truncated, too large, not an image ...
            return torch.zeros(shape, dtype=torch.uint8), False, 0, 0, False, str(e)
        x = torch.zeros(shape, dtype=torch.uint8) if d.pixels is None else d.pixels
        return x, True, d.height, d.width, d.converted, ""


@dataclass
class DecodedFiles:
    """What decode_files read of a list of files."""

    images: Tensor | None  # uint8 [N, C, size, size]; None when only checked
    ok: Tensor  # [N] bool: which files could be decoded
    sizes: Tensor  # [N, 2] int64 (height, width) before fitting; 0 for the unreadable
    converted: Tensor  # [N] bool: changed from grey to colour or back
    reasons: list[str]  # why each unreadable file failed, one line; "" for the readable

    def first_bad(self) -> str:
        return next(r for r in self.reasons if r)


def decode_files(
    files: list[Path],
    size: int,
    channels: int,
    workers: int,
    check_only: bool = False,
    part: str = "",
) -> DecodedFiles:
    """The files (or their `part`, left or right half) decoded by `workers` processes, each
    resized by its shorter side and centre-cropped (no pixels kept with `check_only`)."""
    n = len(files)
    images = None if check_only else torch.empty(n, channels, size, size, dtype=torch.uint8)
    out = DecodedFiles(
        images,
        torch.empty(n, dtype=torch.bool),
        torch.zeros(n, 2, dtype=torch.int64),
        torch.zeros(n, dtype=torch.bool),
        [],
    )
    loader = torch.utils.data.DataLoader(
        _Decode(files, size, channels, check_only, part), batch_size=64, num_workers=workers
    )
    start = 0
    for x, good, h, w, converted, why in loader:
        rows = slice(start, start + len(x))
        if images is not None:
            images[rows] = x
        out.ok[rows], out.converted[rows] = good, converted
        out.sizes[rows] = torch.stack([h, w], 1)
        out.reasons += list(why)
        start += len(x)
    return out


class FolderImages(torch.utils.data.Dataset):
    """The readable files of a folder, decoded one at a time: uint8 [C, size, size], with the
    class id when there are classes."""

    def __init__(self, files: list[Path], labels: Tensor | None, size: int, channels: int):
        self.files, self.labels, self.size, self.channels = files, labels, size, channels

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> Tensor | tuple[Tensor, int]:
        try:
            x = decode_image(self.files[i], self.size, self.channels).pixels
        except ImageError:  # it read when the run started: changed or removed since
            raise DataError(
                f"{self.files[i]} cannot be read any more; restore it or start a new run"
            ) from None
        return x if self.labels is None else (x, int(self.labels[i]))


def files_key(name: str, root: Path, files: list[Path], shape: tuple[int, ...]) -> str:
    """Name, shape, folder and a digest of the files' names, sizes and modification times:
    a key of the data that needs no decoding (equal keys: the same files, unless a file was
    rewritten within its timestamp's resolution)."""
    h = hashlib.blake2b(digest_size=8)
    for f in files:
        st = f.stat()
        h.update(f"{f.relative_to(root)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    c, hh, w = shape
    return f"{name} {c}x{hh}x{w} {root} files#{h.hexdigest()}"


def check_in_memory(cfg) -> None:
    """data.in_memory is auto, true or false."""
    cfg.in_memory = switch(cfg.in_memory, "data.in_memory")


def wants_memory(in_memory: str, mb: float) -> bool:
    """data.in_memory decided for images that take `mb` megabytes decoded."""
    return in_memory == "true" or (in_memory == "auto" and mb <= AUTO_MEMORY_MB)


def image_files(root: Path) -> tuple[list[Path], int]:
    """The image files under root, sorted, and how many other files there are; a DataError
    when there are no images."""
    files, ignored = list_files(root)
    if not files:
        kinds = ", ".join(IMAGE_SUFFIXES)
        raise DataError(f"no images ({kinds}) under {root}; {ignored} other files were ignored")
    return files, ignored


@dataclass
class FolderScan:
    """A folder's images, each decoded once: the readable ones, their classes, and what info()
    reports of the folder (ignored, skipped and upscaled files)."""

    root: Path
    files: list[Path]  # the readable ones, sorted
    labels: Tensor | None  # class ids [N] when first-level sub-folders are classes
    class_names: tuple[str, ...]
    images: Tensor | None  # uint8 [N, C, S, S] when decoded into memory, else None
    extra: dict


def scan_folder(
    root: Path,
    listing: tuple[list[Path], int],
    size: int,
    channels: int,
    labels: str,
    workers: int,
    in_memory: bool,
) -> FolderScan:
    """Decodes every image of `listing` (image_files(root)) once, into memory or only to check
    it when streaming: unreadable files are SKIPPED and COUNTED, one warning line on stderr."""
    files, ignored = listing
    rel = [f.relative_to(root) for f in files]
    tops = sorted({r.parts[0] for r in rel if len(r.parts) > 1})
    classes = labels == "auto" and len(tops) >= 2 and all(len(r.parts) > 1 for r in rel)

    decoded = decode_files(files, size, channels, workers, check_only=not in_memory)
    images, ok, sides = decoded.images, decoded.ok, decoded.sizes.min(1).values

    bad = [str(r) for r, good in zip(rel, ok.tolist(), strict=True) if not good]
    if len(bad) == len(files):
        raise DataError(
            f"none of the {len(files)} images under {root} could be decoded (first: "
            f"{decoded.first_bad()}); check that they are images"
        )
    if bad:
        print(
            f"warning: skipped {len(bad)} unreadable image(s) under {root} "
            f"(first: {decoded.first_bad()})",
            file=sys.stderr,
        )
    ids = None
    if classes:
        index = {name: i for i, name in enumerate(tops)}
        ids = torch.tensor([index[r.parts[0]] for r in rel])[ok]
    extra = {"path": str(root), "ignored": ignored, "skipped": len(bad), "skipped_files": bad[:5]}
    small = sides[ok & (sides < size)]
    extra.update(upscaled_info(len(small), int(small.min()) if len(small) else 0))
    good = [f for f, g in zip(files, ok.tolist(), strict=True) if g]
    kept = images if images is None or bool(ok.all()) else images[ok]  # no copy if all read
    return FolderScan(root, good, ids, tuple(tops) if classes else (), kept, extra)


@register_dataset("folder", config=FolderConfig, kind="image")
def folder(cfg: FolderConfig, seed: int) -> DataSource:
    """Your own folder of images, recursive; class sub-folders become labels: --set data.path=DIR.

    Files with an image suffix (png jpg jpeg bmp gif webp tif tiff, any case) are resized by
    their shorter side and centre-cropped to img_size, decoded once into memory or streamed
    (data.in_memory); other files and hidden ones are ignored (`ignored` in info). A corrupt or
    truncated image is SKIPPED and COUNTED: info() reports `skipped` and the first
    `skipped_files`, and one warning line is printed to stderr. With labels=auto, the
    first-level sub-folders are the classes when every image lies in one and there are at
    least two.
    """
    check_options(cfg, "data")
    root = user_folder(cfg, "images")
    listing = image_files(root)
    n, size, c = len(listing[0]), cfg.img_size, cfg.channels
    mb = n * c * size * size / 2**20
    in_memory = wants_memory(cfg.in_memory, mb)
    if in_memory and mb > cfg.max_mb:
        raise DataError(
            f"{n} images at {c}x{size}x{size} need {mb:.0f} MB in memory, above "
            f"data.max_mb={cfg.max_mb}; lower data.img_size or raise data.max_mb "
            "(or stream them: data.in_memory=false)"
        )
    scan = scan_folder(root, listing, size, c, cfg.labels, cfg.workers, in_memory)
    names, extra = scan.class_names, scan.extra
    if in_memory:
        return ImageSet(cfg, seed, (scan.images, scan.labels), None, names, str(root), extra)
    key = files_key(cfg.name, root, scan.files, (c, size, size))
    dataset = FolderImages(scan.files, scan.labels, size, c)
    return StreamSet(cfg, seed, dataset, None, names, cfg.workers, str(root), key, extra)
