"""Data sources the Trainer draws batches from: endless, seeded, and resumable from a state dict."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from gankit.batch import Batch, move_batch, split_batch  # noqa: F401  (re-exported)
from gankit.data.toy import check_mixture, grid_centers, load_points, ring_centers, sample_mixture
from gankit.errors import ConfigError, DataError
from gankit.registry import register_dataset

# reference samples a piece at a time: 1,024 RGB images of 256x256 in float are 0.8 GB
REFERENCE_CHUNK = 1024


class DataSource:
    """Draws batches with its own torch.Generator, so a checkpoint can restore the stream.

    `batch(n)` gives x [n, *shape] (float; images in [-1, 1] as [n, C, H, W]), or the pair
    (x, y) with y int64 class labels [n] when the data set has classes (`num_classes` > 0).
    """

    shape: tuple[int, ...]  # one sample's shape
    default_metrics: tuple[str, ...] = ()
    num_classes: int = 0  # > 0: batches are (x, y) pairs
    class_names: tuple[str, ...] = ()
    snapshot_size: int | None = None  # samples per snapshot; None: train.n_samples

    def __init__(self, cfg, seed: int):
        self.cfg = cfg
        self.generator = torch.Generator().manual_seed(seed)

    def batch(self, n: int) -> Tensor | tuple[Tensor, Tensor]:
        """n samples [n, *shape] on the CPU, with labels [n] when the data set has classes."""
        raise NotImplementedError

    def reference(self, n: int, split: str = "train") -> tuple[Tensor, Tensor | None]:
        """The same n real samples every call, for metrics: (x [n, *shape], labels or None).

        `split` is "train" or "test" where the data set has a test split.
        """
        raise NotImplementedError(f"data set {self.cfg.name!r} gives no reference samples")

    def reference_chunks(
        self, n: int, split: str = "train", chunk: int = REFERENCE_CHUNK
    ) -> Iterator[tuple[Tensor, Tensor | None]]:
        """`reference(n, split)` in pieces of at most `chunk` samples, in the same order, for
        whoever can use them a piece at a time (features, nearest images): data sets whose
        reference may not fit in memory (photos, streamed folders) read each piece when it is
        needed; others cut the whole."""
        x, y = self.reference(n, split)
        for start in range(0, len(x), chunk):
            yield x[start : start + chunk], None if y is None else y[start : start + chunk]

    def info(self) -> dict:
        """Facts about the data that pictures and metrics use (e.g. mixture centres)."""
        return {}

    def state_dict(self) -> dict:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["generator"])


class IndexedReference:
    """`reference` and `reference_chunks` of a data set read by index (images in memory, or
    streamed from files): the first n of a fixed order of the split, unflipped, a piece at a
    time. The data set gives `_reference_order(split)` (indices) and `_reference_part(idx,
    split)` (float samples, labels or None)."""

    def reference(self, n: int, split: str = "train") -> tuple[Tensor, Tensor | None]:
        return self._reference_part(self._reference_order(split)[:n], split)

    def _pick(self, split: str, train, test):
        """`train` or `test` for the split named; one line for another name or no test split."""
        if split == "train":
            return train
        if split != "test":
            raise ConfigError(f"split must be 'train' or 'test', got {split!r}")
        if test is None:
            raise DataError(f"data set {self.cfg.name!r} has no test split; use split='train'")
        return test

    def reference_chunks(
        self, n: int, split: str = "train", chunk: int = REFERENCE_CHUNK
    ) -> Iterator[tuple[Tensor, Tensor | None]]:
        for idx in self._reference_order(split)[:n].split(chunk):
            yield self._reference_part(idx, split)


class Mixture(DataSource):
    """A mixture of isotropic Gaussians with equal weights; fresh samples every batch."""

    shape = (2,)
    default_metrics = ("modes",)

    def __init__(self, cfg, seed: int, centers: Tensor):
        super().__init__(cfg, seed)
        self.centers = check_mixture(centers, cfg.std)  # [M, 2]
        self.std = float(cfg.std)

    def batch(self, n: int) -> Tensor:
        return sample_mixture(self.centers, self.std, n, self.generator)

    def reference(self, n: int, split: str = "train") -> tuple[Tensor, None]:
        seed = 0 if split == "train" else 1
        return sample_mixture(self.centers, self.std, n, torch.Generator().manual_seed(seed)), None

    def info(self) -> dict:
        return {"centers": self.centers.tolist(), "std": self.std}


@dataclass
class RingConfig:
    name: str = "ring"
    n_modes: int = 8
    radius: float = 1.0
    std: float = 0.01


@dataclass
class GridConfig:
    name: str = "grid"
    std: float = 0.05


@dataclass
class MixtureConfig:
    name: str = "mixture"
    centers: list[list[float]] = field(default_factory=lambda: [[-1.0, 0.0], [1.0, 0.0]])
    std: float = 0.05


@dataclass
class PointsConfig:
    name: str = "points"
    path: str = ""  # a .npy or .csv file of points, one row each


@register_dataset("ring", config=RingConfig, kind="points")
def ring(cfg: RingConfig, seed: int) -> Mixture:
    """8 Gaussians on the unit circle, std 0.01 (Metz et al. 2016; VEEGAN; PacGAN)."""
    if cfg.n_modes < 1:
        raise ConfigError(f"data.n_modes must be at least 1, got {cfg.n_modes}")
    return Mixture(cfg, seed, ring_centers(cfg.n_modes, cfg.radius))


@register_dataset("grid", config=GridConfig, kind="points")
def grid(cfg: GridConfig, seed: int) -> Mixture:
    """25 Gaussians on {-4,-2,0,2,4}^2, std 0.05 (VEEGAN; PacGAN)."""
    return Mixture(cfg, seed, grid_centers())


@register_dataset("mixture", config=MixtureConfig, kind="points")
def mixture(cfg: MixtureConfig, seed: int) -> Mixture:
    """Your own Gaussian mixture: --set data.centers=[[x,y],...] data.std=S."""
    return Mixture(cfg, seed, cfg.centers)


class Points(DataSource):
    """A fixed set of points; batches drawn uniformly with replacement."""

    def __init__(self, cfg, seed: int, points: Tensor):
        super().__init__(cfg, seed)
        self.points = points  # [N, D]
        self.shape = tuple(points.shape[1:])

    def batch(self, n: int) -> Tensor:
        idx = torch.randint(len(self.points), (n,), generator=self.generator)
        return self.points[idx]

    def reference(self, n: int, split: str = "train") -> tuple[Tensor, None]:
        return self.points[:n], None


@register_dataset("points", config=PointsConfig, kind="points")
def points(cfg: PointsConfig, seed: int) -> Points:
    """Your own points from a .npy or .csv file: --data FILE or --set data.path=FILE."""
    if not cfg.path:
        raise ConfigError("data set 'points' needs a file: --data FILE.npy or --set data.path=FILE")
    path = Path(cfg.path).expanduser().resolve()
    points = load_points(path)
    cfg.path = str(path)  # saved absolute, so the run can be resumed from any folder
    return Points(cfg, seed, points)


def build_data(cfg, seed: int) -> DataSource:
    from gankit.registry import DATASETS

    return DATASETS.get(cfg.name)(cfg, seed)
