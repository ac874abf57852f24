"""What samples become on disk, chosen by the kind of data: one writer per kind.

Points and images (the default) become a picture (.png) or values (.npy, .csv); a modality with
its own form (text, music) registers a writer (`gankit.registry.register_writer`) for the `kind`
its data's `info()` reports, so the Trainer and `gankit sample` never learn what they are writing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gankit.errors import GankitError
from gankit.registry import WRITERS, SampleWriter, register_writer


def writer_for(info: dict) -> SampleWriter:
    """The writer for a run's data (its data.json); points and images share the default."""
    import gankit.viz.music  # noqa: F401  (registers the "music" writer; viz is not a builtin)

    kind = info.get("kind", "points")
    return WRITERS.get(kind if kind in WRITERS.names() else "points")


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


def _points_or_images(x: np.ndarray, info: dict, out: Path, title: str, nrow: int | None) -> None:
    """Points or images as a picture (.png) or their values (.npy, .csv)."""
    from gankit.viz.plots import save_snapshot

    suffix = out.suffix.lower()
    if suffix == ".npy":
        with open(out, "wb") as f:  # np.save would add .npy to a name ending in .NPY
            np.save(f, x)
    elif suffix == ".csv":
        np.savetxt(out, x.reshape(len(x), -1), delimiter=",", fmt="%.6g")
    else:
        save_snapshot(x, out, title, info.get("centers"), nrow=nrow)


for _kind in ("points", "images"):
    register_writer(_kind, (".png", ".npy", ".csv"))(_points_or_images)
