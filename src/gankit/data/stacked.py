"""Stacked MNIST (Metz et al. 2016; PacGAN): three digits as R, G and B, 1,000 modes."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from gankit.data.digits import Mnist5kConfig, mnist5k
from gankit.data.images import ImageSet
from gankit.data.pixels import DEFAULT_ROOT, FITS, REFERENCE_SEED, to_float
from gankit.data.sources import DataSource
from gankit.data.torchvision_sets import MnistConfig, data_root, mnist
from gankit.options import check_options, option
from gankit.registry import register_dataset


@dataclass
class StackedMnistConfig:
    name: str = "stacked-mnist"
    source: str = option("mnist5k", choices=("mnist5k", "mnist"))  # mnist: root, download apply
    root: str = DEFAULT_ROOT
    download: bool = True
    img_size: int = option(28, min=1)
    fit: str = option("resize", choices=FITS)


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
    check_options(cfg, "data")
    if cfg.source == "mnist":
        source = MnistConfig(
            img_size=cfg.img_size, fit=cfg.fit, root=str(data_root(cfg)), download=cfg.download
        )
        digits = mnist(source, seed)
    else:
        digits = mnist5k(Mnist5kConfig(img_size=cfg.img_size, fit=cfg.fit), seed)
    return StackedMnist(cfg, seed, digits)
