"""Images for translation: pairs (pix2pix, Isola et al. 2017), an input A and a target B of the
same scene, shuffled, flipped and cropped together; and unpaired domains A and B (CycleGAN, Zhu
et al. 2017), drawn independently.

The sources live by where their files come from: edges.py (edges -> digits, clothes),
paired_folders.py (a person's own folders), digits.py (MNIST <-> USPS).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor

from gankit.data.images import ImageSet
from gankit.data.pixels import Split
from gankit.data.sources import REFERENCE_CHUNK, DataSource, split_batch
from gankit.errors import ConfigError, DataError

DIRECTIONS = ("AtoB", "BtoA")  # data.direction of paired sets; translate's --direction


class PairedSet(ImageSet):
    """A [N, C_a, H, W] and B [N, C_b, H, W] stacked along channels in one ImageSet, so one
    shuffle and one flip serve both; batches are (a, b) in [-1, 1], randomly cropped to `crop`
    with the same offset in both (pix2pix's jitter). Samples, and `shape`, are B's.

    With cfg.direction = "BtoA" the two are swapped here, where every paired set passes: the
    model then learns to turn the source's B into its A, and the run's config records it, so
    evaluation and translation rebuild the same pairs."""

    def __init__(self, cfg, seed: int, a: Split, b: Split, source: str, crop: int = 0):
        direction = getattr(cfg, "direction", "AtoB")
        if direction == "BtoA":
            a, b = b, a
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
            "direction": direction,
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

    def reference_chunks(
        self, n: int, split: str = "train", chunk: int = REFERENCE_CHUNK
    ) -> Iterator[tuple[Tensor, None]]:
        for x, _ in super().reference_chunks(n, split, chunk):  # A and B stacked
            yield self.split_pair(self._center(x))[1], None

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


class UnpairedSet(DataSource):
    """Two image sets, A and B, of the same size, drawn independently (no pairs): batches are
    (a, b) in [-1, 1]. Samples, and `shape`, are B's; `domain(name)` gives either set. A set
    is an ImageSet or a StreamSet (data.streaming): both draw through an EpochOrder."""

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

    def labelled(self, name: str) -> tuple[Tensor, Tensor]:
        """Domain `name`'s whole training split, unflipped, with its class labels: for a model
        that learns a domain's classes (CycleGAN's semantic loss). The batches stay (a, b)."""
        domain = self.sets[name]
        if not domain.num_classes:
            raise DataError(f"domain {name} of {self.source} has no class labels")
        return domain.reference(domain.order.n, "train")

    def info(self) -> dict:
        a, b = self.sets["A"], self.sets["B"]
        return {
            "kind": "unpaired",
            "shape": list(self.shape),
            "channels_a": a.shape[0],
            "channels_b": b.shape[0],
            "n_train": [a.order.n, b.order.n],  # in memory or streamed alike
            "num_classes": [a.num_classes, b.num_classes],  # 0: a domain without labels
            "splits": ["train", "test"] if a.test is not None and b.test is not None else ["train"],
            "source": self.source,
        }

    def state_dict(self) -> dict:
        return {k: s.state_dict() for k, s in self.sets.items()}

    def load_state_dict(self, state: dict) -> None:
        for k, s in self.sets.items():
            s.load_state_dict(state[k])
