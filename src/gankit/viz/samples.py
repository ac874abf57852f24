"""What samples become on disk, chosen by the kind of data: one writer per kind.

Points and images (the default) become a picture (.png) or values (.npy, .csv); a modality with
its own form (text, music) registers a writer for the `kind` its data's `info()` reports, so the
Trainer and `gankit sample` never learn what they are writing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gankit.errors import GankitError


@dataclass(frozen=True)
class SampleWriter:
    suffixes: tuple[str, ...]  # the first is the default (`gankit sample`, snapshots)
    # (samples, the run's data.json, out path, title, samples per row) -> None
    write: Callable[[np.ndarray, dict, Path, str, int | None], None]
    snapshot_suffix: str = ""  # what training snapshots are written as; "" = suffixes[0]

    @property
    def snapshot(self) -> str:
        return self.snapshot_suffix or self.suffixes[0]


WRITERS: dict[str, SampleWriter] = {}


def register_writer(kind: str, suffixes: tuple[str, ...], snapshot_suffix: str = ""):
    """Decorator: `write(x, info, out, title, nrow)` writes samples of data of this kind."""

    def wrap(fn):
        WRITERS[kind] = SampleWriter(tuple(suffixes), fn, snapshot_suffix)
        return fn

    return wrap


def writer_for(info: dict) -> SampleWriter:
    """The writer for a run's data (its data.json); points and images share the default."""
    return WRITERS.get(info.get("kind", "points"), WRITERS["points"])


def write_samples(
    x: np.ndarray, info: dict, out: Path, title: str = "", nrow: int | None = None
) -> None:
    """Writes samples x [N, ...] to `out`, in the form its suffix names."""
    writer = writer_for(info)
    if out.suffix.lower() not in writer.suffixes:
        raise GankitError(
            f"--out must end in {', '.join(writer.suffixes)} for this run's data, got {out.name!r}"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    writer.write(x, info, out, title, nrow)


@register_writer("points", (".png", ".npy", ".csv"))
def _points_or_images(x: np.ndarray, info: dict, out: Path, title: str, nrow: int | None) -> None:
    from gankit.viz.plots import save_snapshot

    suffix = out.suffix.lower()
    if suffix == ".npy":
        with open(out, "wb") as f:  # np.save would add .npy to a name ending in .NPY
            np.save(f, x)
    elif suffix == ".csv":
        np.savetxt(out, x.reshape(len(x), -1), delimiter=",", fmt="%.6g")
    else:
        save_snapshot(x, out, title, info.get("centers"), nrow=nrow)


WRITERS["images"] = WRITERS["points"]

from gankit.viz import music  # noqa: E402, F401  (registers the "music" writer)
