"""Images read when they are needed: a DataLoader with worker processes over a map-style Dataset,
drawn in the same seeded epochs as the in-memory ImageSet, and resumable exactly.

How resume stays exact while workers read ahead: the order of items is a function of a small
state (data.order.EpochOrder: the generator's state at the start of the epoch and the position
in it). The DataLoader's sampler walks a *copy* of the order, ahead of the Trainer; the source's
own order advances only by what `batch(n)` hands out. A checkpoint saves that order; a restore
drops whatever the workers had read ahead and starts a new loader from it. Batches may be of any
size n: the loader delivers a stream of items, CHUNK at a time, cut into batches of n.

`from_dataset` wraps any map-style torch Dataset whose items are images [C, H, W] (float in
[-1, 1], or uint8 0..255) or (image, class id) pairs; see docs/own-dataset.md.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from gankit.data.order import EpochOrder
from gankit.data.pixels import REFERENCE_SEED, fixed_permutation, to_float
from gankit.data.sources import DataSource, IndexedReference
from gankit.errors import ConfigError, DataError

CHUNK = 16  # items a worker reads and hands over at once; what a restore may throw away


class _Failed:
    """What an item that could not be read becomes: a message, not an exception in a worker."""

    def __init__(self, message: str):
        self.message = message


class _Safe(Dataset):
    """A Dataset whose failing items come back as _Failed, so that a worker's error reaches the
    user as one line (a DataLoader re-raises a worker's exception with its traceback inside)."""

    def __init__(self, dataset: Dataset, name: str):
        self.dataset, self.name = dataset, name

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int):
        try:
            return self.dataset[i]
        except DataError as e:
            return _Failed(str(e))
        except Exception as e:  # a user's Dataset may fail in any way
            return _Failed(f"item {i} of data set {self.name!r}: {type(e).__name__}: {e}")


def _unpack(item) -> tuple[Tensor, int | None]:
    if isinstance(item, Tensor):
        return item, None
    if isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[0], Tensor):
        return item[0], int(item[1])
    raise TypeError(f"an item is a {type(item).__name__}, not an image tensor or (image, class)")


def _collate(items: list) -> tuple[Tensor, Tensor | None] | str:
    """Runs in the worker: a chunk as (x [k, C, H, W], class ids [k] or None), or a message
    saying why the items do not make a batch."""
    failed = next((item for item in items if isinstance(item, _Failed)), None)
    if failed is not None:
        return failed.message
    try:
        pairs = [_unpack(item) for item in items]
        x = torch.stack([p[0] for p in pairs])
        ys = [p[1] for p in pairs]
        if any(y is None for y in ys) and any(y is not None for y in ys):
            raise TypeError("some items have a class and some do not")
        return x, None if ys[0] is None else torch.tensor(ys, dtype=torch.int64)
    except (TypeError, ValueError, RuntimeError) as e:
        return f"items do not make a batch: {e}"


class _Chunks:
    """A DataLoader batch sampler: the indices of an order from where it is now, CHUNK at a time,
    without end. It walks a copy, so the source's own order stays at what was consumed."""

    def __init__(self, order: EpochOrder):
        self.order = order.copy()

    def __iter__(self):
        while True:
            yield self.order.take(CHUNK)[0].tolist()


class StreamSet(IndexedReference, DataSource):
    """Images of a map-style Dataset, read by a DataLoader as batches are drawn; batches as
    ImageSet's: float32 [n, C, H, W] in [-1, 1], with int64 labels when there are classes, in
    epochs of a fresh permutation each (flipped with cfg.flip), the same for the same seed."""

    snapshot_size = 100

    def __init__(
        self,
        cfg,
        seed: int,
        dataset: Dataset,
        test: Dataset | None = None,
        class_names: Sequence[str] = (),
        workers: int = 0,
        source: str = "",
        key: str = "",
        extra: dict | None = None,
        default_metrics: tuple[str, ...] = (),
    ):
        super().__init__(cfg, seed)
        if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise DataError(
                f"data set {cfg.name!r} is a {type(dataset).__name__}, not a map-style Dataset "
                "(one with __len__ and __getitem__)"
            )
        if workers < 0:
            raise ConfigError(
                f"data.workers must be 0 (no worker processes) or more, got {workers}"
            )
        self.dataset = _Safe(dataset, cfg.name)
        self.test = None if test is None else _Safe(test, cfg.name)
        self.workers = workers
        self.source, self.extra, self.default_metrics = source, extra or {}, default_metrics
        self._key = key
        self.shape = None  # until the first item tells
        if len(self.dataset) == 0:
            raise DataError(f"data set {cfg.name!r} has no items")
        x, y = self._gather(self.dataset, [0], workers=0)
        self.shape, self.dtype = tuple(x.shape[1:]), x.dtype
        if len(self.shape) != 3 or not (x.dtype == torch.uint8 or x.is_floating_point()):
            raise DataError(
                f"data set {cfg.name!r} gives items of shape {list(self.shape)} and type "
                f"{x.dtype}; an image must be [C, H, W], float in [-1, 1] or uint8"
            )
        if y is not None and not class_names:
            raise DataError(
                f"data set {cfg.name!r} gives (image, class) pairs: name the classes "
                "(class_names=...) or give images alone"
            )
        self.class_names = tuple(class_names) if y is not None else ()
        self.num_classes = len(self.class_names)
        self.order = EpochOrder(len(self.dataset), self.generator, bool(getattr(cfg, "flip", 0)))
        self._stream = None  # iterator over the DataLoader, started by the first batch
        self._rest: tuple[Tensor, Tensor | None] | None = None  # read but not yet handed out

    # ------------------------------------------------------------ reading

    def _loader(self, dataset: Dataset, batches, workers: int) -> DataLoader:
        return DataLoader(
            dataset,
            batch_sampler=batches,
            num_workers=workers,
            collate_fn=_collate,
            # its own generator: a DataLoader otherwise draws its workers' seed from torch's
            # global RNG, which would change the Trainer's noise on every restart
            generator=torch.Generator(),
        )

    def _check(self, chunk) -> tuple[Tensor, Tensor | None]:
        """A chunk from the loader, checked against the first item; a DataError otherwise."""
        name = self.cfg.name
        if isinstance(chunk, str):
            raise DataError(f"data set {name!r}: {chunk}")
        x, y = chunk
        if self.shape is not None and (tuple(x.shape[1:]), x.dtype) != (self.shape, self.dtype):
            raise DataError(
                f"data set {name!r} gave an image [{', '.join(map(str, x.shape[1:]))}] "
                f"{x.dtype} after [{', '.join(map(str, self.shape))}] {self.dtype}; "
                "every item must have the same shape and type"
            )
        if x.is_floating_point() and len(x) and (x.min() < -1 or x.max() > 1):
            raise DataError(
                f"data set {name!r} gave pixels in [{float(x.min()):.3g}, {float(x.max()):.3g}]; "
                "float images must lie in [-1, 1] (or give uint8 0..255)"
            )
        wrong = None if y is None or not self.num_classes else y[(y < 0) | (y >= self.num_classes)]
        if wrong is not None and len(wrong):
            raise DataError(
                f"data set {name!r} gave class {int(wrong[0])}; "
                f"classes are 0..{self.num_classes - 1} ({self.num_classes} class names)"
            )
        return x, y

    def _to_float(self, x: Tensor) -> Tensor:
        return to_float(x) if x.dtype == torch.uint8 else x.float()

    def _gather(self, dataset: Dataset, idx: list[int], workers: int) -> tuple[Tensor, Tensor]:
        """The items idx of dataset, in that order, as given: (x, labels or None)."""
        batches = [idx[i : i + CHUNK] for i in range(0, len(idx), CHUNK)]
        parts = [self._check(c) for c in self._loader(dataset, batches, workers)]
        x = torch.cat([p[0] for p in parts])
        return x, None if parts[0][1] is None else torch.cat([p[1] for p in parts])

    def _read(self, n: int) -> tuple[Tensor, Tensor | None]:
        """The next n items of the stream (before the order advances past them)."""
        if self._stream is None:
            self._stream = iter(self._loader(self.dataset, _Chunks(self.order), self.workers))
            self._rest = None
        xs, ys, have = [], [], 0
        while have < n:
            if self._rest is None:
                self._rest = self._check(next(self._stream))
            x, y = self._rest
            k = min(n - have, len(x))
            xs.append(x[:k])
            ys.append(None if y is None else y[:k])
            self._rest = None if k == len(x) else (x[k:], None if y is None else y[k:])
            have += k
        return torch.cat(xs), None if ys[0] is None else torch.cat(ys)

    # ------------------------------------------------------------ the DataSource contract

    def batch(self, n: int) -> Tensor | tuple[Tensor, Tensor]:
        """x [n, C, H, W] float32 in [-1, 1], or (x, y [n] int64) when num_classes > 0."""
        x, y = self._read(n)
        _, flips = self.order.take(n)
        x = self._to_float(x)
        if flips is not None:
            x = torch.where(flips[:, None, None, None], x.flip(-1), x)
        return (x, y) if self.num_classes else x

    def _split(self, split: str) -> Dataset:
        return self._pick(split, self.dataset, self.test)

    def _reference_order(self, split: str) -> Tensor:
        return fixed_permutation(len(self._split(split)), REFERENCE_SEED)

    def _reference_part(self, idx: Tensor, split: str) -> tuple[Tensor, Tensor | None]:
        x, y = self._gather(self._split(split), idx.tolist(), self.workers)
        return self._to_float(x), y if self.num_classes else None

    def info(self) -> dict:
        info = {
            "kind": "images",
            "shape": list(self.shape),
            "num_classes": self.num_classes,
            "class_names": list(self.class_names),
            "n_train": len(self.dataset),
            "n_test": len(self.test) if self.test is not None else 0,
            "splits": ["train", "test"] if self.test is not None else ["train"],
            "streamed": True,
        }
        if self._key:  # only a key that names the data exactly: metrics cache features by it
            info["key"] = self._key
        return {**info, **self.extra}

    def state_dict(self) -> dict:
        return self.order.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.order.load_state_dict(state, self.cfg.name)
        self._stream, self._rest = None, None  # what was read ahead belongs to another place


def from_dataset(
    cfg,
    seed: int,
    dataset: Dataset,
    test: Dataset | None = None,
    class_names: Sequence[str] = (),
    workers: int | None = None,
) -> StreamSet:
    """A data source over your own map-style torch Dataset (see docs/own-dataset.md).

    Items are images [C, H, W] (float in [-1, 1], or uint8 0..255), or (image, class id) pairs
    when `class_names` are given. gankit draws the order (seeded epochs, flips with cfg.flip),
    so `dataset[i]` must always give the same item. `workers` reader processes: default
    cfg.workers if the config has it, else 0 (read in this process).
    """
    if workers is None:
        workers = int(getattr(cfg, "workers", 0))
    source = f"{type(dataset).__module__}.{type(dataset).__qualname__}"
    return StreamSet(cfg, seed, dataset, test, class_names, workers, source)
