"""A person's own translation data: pairs in A/ and B/ folders or side by side (pix2pix),
colourisation pairs from any folder of colour images, and two unpaired domains (CycleGAN).
Pairs are decoded into memory; unpaired domains are streamed when large, as `folder` is."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from gankit.data.folder import (
    DecodedFiles,
    FolderConfig,
    FolderImages,
    FolderScan,
    check_in_memory,
    decode_files,
    image_files,
    scan_folder,
    wants_memory,
)
from gankit.data.images import ImageSet
from gankit.data.paired import DIRECTIONS, PairedSet, UnpairedSet
from gankit.data.pixels import list_files, user_folder
from gankit.data.streaming import StreamSet
from gankit.errors import DataError
from gankit.options import check_options, option
from gankit.registry import DATASETS, register_dataset


def _folder_images(path: str, img_size: int, channels: int, workers: int, seed: int) -> Tensor:
    """uint8 [N, C, S, S] of a folder, as the `folder` data set decodes it into memory."""
    cfg = FolderConfig(path=path, img_size=img_size, channels=channels, labels="none")
    cfg.workers, cfg.in_memory = workers, "true"
    return DATASETS.get("folder")(cfg, seed).images


# ---------------------------------------------------------------- pairs (pix2pix)


@dataclass
class PairedFolderConfig:
    """A/ and B/ folders of images with matching names, or single images holding A (left) and
    B (right) side by side; train/ and test/ (or val/) sub-folders when there are splits."""

    name: str = "paired-folder"
    path: str = ""
    img_size: int = option(256, min=1)  # both resized by the shorter side, centre-cropped
    crop: int = option(0, min=0)  # random crop side in training (pix2pix: 256 of 286); 0 = none
    flip: bool = False
    # of the files in A/ (left halves) and B/ (right halves), whatever the direction: 1 grey,
    # 3 colour; other images are converted (and counted)
    channels_a: int = option(3, choices=(1, 3))
    channels_b: int = option(3, choices=(1, 3))
    workers: int = option(2, min=0)  # decoding processes at load time
    # BtoA: the model learns to turn the files' B into their A (archives store pairs either way)
    direction: str = option("AtoB", choices=DIRECTIONS)


def _split_folders(root: Path) -> tuple[Path, Path | None]:
    """(train folder, test folder or None): root/train + root/test|val, else root alone."""
    if (root / "train").is_dir():
        test = next((root / d for d in ("test", "val") if (root / d).is_dir()), None)
        return root / "train", test
    return root, None


def _matched_pairs(folder: Path) -> list[tuple[Path, Path]]:
    """(A file, B file) pairs of folder/A and folder/B by file name; a clear error otherwise."""
    a_dir, b_dir = folder / "A", folder / "B"
    if not b_dir.is_dir():
        raise DataError(f"{folder} has A/ but no B/; paired data needs both (or side-by-side AB)")
    a_files = {f.relative_to(a_dir): f for f in list_files(a_dir)[0]}
    b_files = {f.relative_to(b_dir): f for f in list_files(b_dir)[0]}
    only_a, only_b = sorted(set(a_files) - set(b_files)), sorted(set(b_files) - set(a_files))
    if only_a or only_b:
        first = f"A/{only_a[0]} has no B/ twin" if only_a else f"B/{only_b[0]} has no A/ twin"
        raise DataError(
            f"pair names do not match in {folder}: {len(only_a)} only in A/, {len(only_b)} only "
            f"in B/ ({first}); give every image the same name in both folders"
        )
    if not a_files:
        raise DataError(f"no images in {a_dir}")
    return [(a_files[k], b_files[k]) for k in sorted(a_files)]


def _kept_pairs(
    cfg: PairedFolderConfig, folder: Path, names: list[str], a: DecodedFiles, b: DecodedFiles
) -> tuple[Tensor, Tensor]:
    """The pairs whose A and B both decoded, as uint8 [N, C, S, S] each. A pair with an
    unreadable image is DROPPED and COUNTED (one warning line, naming the first and why); none
    left, or an A and B of different sizes, is a DataError."""
    ok = a.ok & b.ok
    bad = (~ok).nonzero().flatten().tolist()
    why = (a.reasons[bad[0]] or b.reasons[bad[0]]) if bad else ""
    if not ok.any():
        raise DataError(
            f"none of the {len(names)} pair(s) under {folder} could be decoded (first: {why}); "
            "check that they are images"
        )
    if bad:
        print(
            f"warning: dropped {len(bad)} of {len(names)} pair(s) under {folder} with an "
            f"unreadable image (first: {why})",
            file=sys.stderr,
        )
    differ = (ok & (a.sizes != b.sizes).any(1)).nonzero().flatten().tolist()
    if differ:
        i = differ[0]
        (ha, wa), (hb, wb) = a.sizes[i].tolist(), b.sizes[i].tolist()
        raise DataError(
            f"{names[i]}: A is {wa}x{ha} but B is {wb}x{hb}; "
            "pairs must show the same scene at the same size"
        )
    converted = int((a.converted & ok).sum() + (b.converted & ok).sum())
    if converted:
        print(
            f"warning: converted {converted} image(s) under {folder} to "
            f"{'grey' if cfg.channels_a == 1 else 'colour'} A / "
            f"{'grey' if cfg.channels_b == 1 else 'colour'} B (data.channels_a, data.channels_b)",
            file=sys.stderr,
        )
    return a.images[ok], b.images[ok]


def _load_pairs(cfg: PairedFolderConfig, folder: Path) -> tuple[Tensor, Tensor]:
    """Pairs of folder/A and folder/B with the same names."""
    pairs = _matched_pairs(folder)
    size, workers = cfg.img_size, cfg.workers
    a = decode_files([p[0] for p in pairs], size, cfg.channels_a, workers)
    b = decode_files([p[1] for p in pairs], size, cfg.channels_b, workers)
    return _kept_pairs(cfg, folder, [p[0].name for p in pairs], a, b)


def _load_side_by_side(cfg: PairedFolderConfig, folder: Path) -> tuple[Tensor, Tensor]:
    """Images of width 2W holding A | B: each half fitted as a whole A or B file is."""
    files = list_files(folder)[0]
    if not files:
        raise DataError(f"no images in {folder}, and no A/ and B/ folders")
    size, workers = cfg.img_size, cfg.workers
    a = decode_files(files, size, cfg.channels_a, workers, part="left")
    b = decode_files(files, size, cfg.channels_b, workers, part="right")
    return _kept_pairs(cfg, folder, [f.name for f in files], a, b)


@register_dataset("paired-folder", config=PairedFolderConfig, kind="paired")
def paired_folder(cfg: PairedFolderConfig, seed: int) -> PairedSet:
    """Your own pairs (pix2pix): A/ and B/ folders with matching names, or A|B side by side.

    Each image (or half) is resized by its shorter side and centre-cropped, as `folder` does; a
    pair with an image that cannot be decoded is dropped and counted (one warning line);
    data.direction=BtoA makes B the input and A the target."""
    check_options(cfg, "data")
    train_dir, test_dir = _split_folders(user_folder(cfg, "paired images"))

    def load(folder: Path) -> tuple[Tensor, Tensor]:
        if (folder / "A").is_dir():
            return _load_pairs(cfg, folder)
        if (folder / "B").is_dir():
            raise DataError(f"{folder} has B/ but no A/; paired data needs both")
        return _load_side_by_side(cfg, folder)

    a, b = load(train_dir)
    a_test, b_test = load(test_dir) if test_dir else (None, None)
    return PairedSet(cfg, seed, (a, a_test), (b, b_test), str(train_dir.parent), cfg.crop)


# ---------------------------------------------------------------- colourisation


@dataclass
class GrayToColorConfig:
    """Colourisation pairs from any folder of colour images: A = grey, B = colour."""

    name: str = "gray2color"
    path: str = ""
    img_size: int = option(64, min=1)
    crop: int = option(0, min=0)
    flip: bool = False
    # the last images (by name) held out for pictures and metrics
    test_fraction: float = option(0.1, min=0.0, below=1.0)
    workers: int = option(2, min=0)
    direction: str = option("AtoB", choices=DIRECTIONS)  # BtoA: colour -> grey


@register_dataset("gray2color", config=GrayToColorConfig, kind="paired")
def gray2color(cfg: GrayToColorConfig, seed: int) -> PairedSet:
    """Grey -> colour pairs made from your folder of colour images (colourisation)."""
    check_options(cfg, "data")
    root = user_folder(cfg, "images")  # absolute in cfg, so the run resumes from anywhere
    colour = _folder_images(str(root), cfg.img_size, 3, cfg.workers, seed)  # [N, 3, H, W]
    weights = torch.tensor([0.299, 0.587, 0.114])[None, :, None, None]  # ITU-R 601 luma
    grey = (colour.float() * weights).sum(1, keepdim=True).round().clamp(0, 255).byte()
    n_test = int(len(colour) * cfg.test_fraction)
    if n_test == 0:
        return PairedSet(cfg, seed, (grey, None), (colour, None), str(root), cfg.crop)
    return PairedSet(
        cfg,
        seed,
        (grey[:-n_test], grey[-n_test:]),
        (colour[:-n_test], colour[-n_test:]),
        str(root),
        cfg.crop,
    )


# ---------------------------------------------------------------- unpaired domains (CycleGAN)


@dataclass
class UnpairedFolderConfig:
    """trainA/ and trainB/ folders of unrelated images (and testA/, testB/ if there are)."""

    name: str = "unpaired-folder"
    path: str = ""
    img_size: int = option(128, min=1)
    channels_a: int = option(3, choices=(1, 3))
    channels_b: int = option(3, choices=(1, 3))
    flip: bool = False
    workers: int = option(2, min=0)  # decoding processes (at load and while streaming); 0: none
    in_memory: str = "auto"  # as `folder`: auto = in memory up to 1024 MB, else streamed

    def validate(self) -> None:
        check_in_memory(self)


@register_dataset("unpaired-folder", config=UnpairedFolderConfig, kind="unpaired")
def unpaired_folder(cfg: UnpairedFolderConfig, seed: int) -> UnpairedSet:
    """Your own two domains (CycleGAN): PATH/trainA and PATH/trainB, optional testA, testB;
    decoded into memory or streamed as the `folder` data set is (data.in_memory)."""
    check_options(cfg, "data")
    root = user_folder(cfg, "images in trainA/ and trainB/")
    missing = [d for d in ("trainA", "trainB") if not (root / d).is_dir()]
    if missing:
        raise DataError(
            f"{root} has no {' and no '.join(missing)}/: unpaired data needs both domains as "
            "trainA/ and trainB/ folders"
        )
    channels = {"A": cfg.channels_a, "B": cfg.channels_b}
    names = [f"{split}{d}" for d in "AB" for split in ("train", "test")]
    listings = {n: image_files(root / n) for n in names if (root / n).is_dir()}
    planes = sum(len(files) * channels[n[-1]] for n, (files, _) in listings.items())
    in_memory = wants_memory(cfg.in_memory, planes * cfg.img_size**2 / 2**20)

    def domain(name: str, k: int) -> ImageSet | StreamSet:
        c = channels[name]
        scans = {
            split: scan_folder(
                root / f"{split}{name}", listing, cfg.img_size, c, "none", cfg.workers, in_memory
            )
            for split in ("train", "test")
            if (listing := listings.get(f"{split}{name}"))
        }
        train, test = scans["train"], scans.get("test")
        if in_memory:
            test_images = None if test is None else (test.images, None)
            return ImageSet(cfg, seed + k, (train.images, None), test_images)

        def images(scan: FolderScan) -> FolderImages:
            return FolderImages(scan.files, None, cfg.img_size, c)

        test_set = None if test is None else images(test)
        return StreamSet(cfg, seed + k, images(train), test_set, (), cfg.workers, str(root))

    return UnpairedSet(cfg, seed, domain("A", 0), domain("B", 1), str(root))
