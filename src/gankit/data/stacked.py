"""Stacked MNIST (Metz et al. 2016; PacGAN): three digits as R, G and B, 1,000 modes."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from gankit.data.digits import Mnist5kConfig, mnist5k
from gankit.data.images import ImageSet
from gankit.data.pixels import DEFAULT_ROOT, REFERENCE_SEED, check_size, to_float
from gankit.data.sources import DataSource
from gankit.data.torchvision_sets import MnistConfig, data_root, mnist
from gankit.errors import ConfigError
from gankit.registry import register_dataset


@dataclass
class StackedMnistConfig:
    name: str = "stacked-mnist"
    source: str = "mnist5k"  # mnist5k | mnist (then root and download apply)
    root: str = DEFAULT_ROOT
    download: bool = True
    img_size: int = 28
    fit: str = "resize"

    def validate(self) -> None:
        check_size(self.img_size, self.fit)
        if self.source not in ("mnist5k", "mnist"):
            raise ConfigError(f"data.source must be mnist5k or mnist, got {self.source!r}")


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


@register_dataset("stacked-mnist", config=StackedMnistConfig, kind="image")
def stacked_mnist(cfg: StackedMnistConfig, seed: int) -> StackedMnist:
    """Stacked MNIST: three digits as R, G, B, 1,000 modes (Metz et al. 2016; PacGAN)."""
    cfg.validate()
    if cfg.source == "mnist":
        source = MnistConfig(
            img_size=cfg.img_size, fit=cfg.fit, root=str(data_root(cfg)), download=cfg.download
        )
        digits = mnist(source, seed)
    else:
        digits = mnist5k(Mnist5kConfig(img_size=cfg.img_size, fit=cfg.fit), seed)
    return StackedMnist(cfg, seed, digits)
