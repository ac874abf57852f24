"""The classic sets torchvision downloads: MNIST, Fashion-MNIST (idx files) and CIFAR-10 (python
batches), read from data.root (or Debian's fashion-mnist package), else downloaded there."""

from __future__ import annotations

import gzip
import pickle
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from gankit.data.digits import DIGIT_NAMES
from gankit.data.images import ImageConfig, ImageSet, image_size, square_set
from gankit.data.pixels import DEFAULT_ROOT, Split
from gankit.errors import DataError
from gankit.options import check_options
from gankit.registry import register_dataset

DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")  # Debian's fashion-mnist package
FASHION_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                 "Sneaker", "Bag", "Ankle boot")  # fmt: skip
CIFAR10_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
                 "truck")  # fmt: skip
IDX_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
CIFAR10_FILES = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch",)


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
    img_size: int = image_size(32)


def data_root(cfg) -> Path:
    """cfg.root as an absolute path, saved back so the run can be resumed from any folder."""
    root = Path(cfg.root).expanduser().resolve()
    cfg.root = str(root)
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
    check_options(cfg, "data")
    raw = data_root(cfg) / tv_name / "raw"
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
    return square_set(cfg, seed, train, test, names, source, ("fid-classifier",))


@register_dataset("mnist", config=MnistConfig, kind="image")
def mnist(cfg: MnistConfig, seed: int) -> ImageSet:
    """MNIST: 60,000 train / 10,000 test digits, 10 classes; from data.root or downloaded."""
    return _idx_set(cfg, seed, "MNIST", "MNIST", DIGIT_NAMES)


@register_dataset("fashion-mnist", config=FashionMnistConfig, kind="image")
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


@register_dataset("cifar10", config=Cifar10Config, kind="image")
def cifar10(cfg: Cifar10Config, seed: int) -> ImageSet:
    """CIFAR-10: 50,000/10,000 32x32 colour photos, 10 classes; from data.root or downloaded."""
    check_options(cfg, "data")
    root = data_root(cfg)
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
    return square_set(cfg, seed, train, parts[5], CIFAR10_NAMES, str(folder))
