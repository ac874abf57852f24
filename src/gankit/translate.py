"""`gankit translate`: a trained translator (pix2pix, CycleGAN) applied to a person's own images
of any size, fully convolutionally, or in tiles with blended seams when an image is too large.

Images are read by the one decoder of gankit (data.pixels.open_image): an input that cannot be
decoded is skipped and counted, an image above --max-image-pixels is refused from its header.
A large image stays uint8 in memory, and only one band of tiles is blended in float at a time,
so memory does not grow with the float copies of a whole image.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from gankit.data.paired import DIRECTIONS
from gankit.data.pixels import (
    IMAGE_SUFFIXES,
    MAX_IMAGE_PIXELS,
    ImageError,
    TooLarge,
    as_channels,
    list_files,
    open_image,
    to_float,
)
from gankit.errors import GankitError
from gankit.metrics.features import quantize  # [-1, 1] -> uint8, as saving a PNG rounds


def input_files(inputs: list[Path]) -> list[Path]:
    """Image files named directly or found (recursively, as `--data DIR` finds them: hidden
    files left out, symlinked folders not followed, so a loop cannot trap it) in named folders."""
    files: list[Path] = []
    for p in inputs:
        if p.is_dir():
            files += list_files(p)[0]
        elif p.is_file():
            files.append(p)
        elif p.is_symlink():
            raise GankitError(f"input {p} is a broken or looping symlink; give image files")
        else:
            raise GankitError(f"input {p} does not exist; give image files or folders")
    if not files:
        raise GankitError(
            f"no images ({', '.join(IMAGE_SUFFIXES)}) in {', '.join(map(str, inputs))}"
        )
    return files


def output_paths(files: list[Path], out_dir: Path) -> list[Path]:
    """out_dir / each file's own name; refuses an --out that is a file, or to write over an
    input or any existing file."""
    for p in (out_dir, *out_dir.parents):  # the nearest part that exists must be a folder
        if p.exists() or p.is_symlink():
            if not p.is_dir():
                raise GankitError(
                    f"--out {out_dir}: {p} is a file, not a folder; choose a folder to write to"
                )
            break
    outs = [out_dir / f.name for f in files]
    if len(set(outs)) < len(outs):
        raise GankitError(
            "two inputs share a file name; translate them into separate --out folders"
        )
    real = os.path.realpath  # unlike Path.resolve, it gives an answer for a symlink loop too
    inputs = {real(f) for f in files}
    for o in outs:
        if real(o) in inputs:
            raise GankitError(f"{o} is one of the inputs; choose another --out (inputs are kept)")
        if o.exists() or o.is_symlink():
            raise GankitError(f"{o} exists; choose another --out (gankit never overwrites a file)")
    return outs


def write_image(y: Tensor, path: Path) -> None:
    """uint8 [1, C, H, W] as an image file, its format by the suffix."""
    from PIL import Image

    a = y[0].permute(1, 2, 0).numpy()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(a[..., 0] if a.shape[2] == 1 else a).save(path)
    except (OSError, ValueError) as e:
        raise GankitError(f"cannot write {path} ({e}); choose another --out") from None


def run_padded(fn, x: Tensor, multiple: int) -> Tensor:
    """fn(x) for any H, W: reflection-padded up to a multiple of `multiple`, cropped back."""
    h, w = x.shape[-2:]
    ph, pw = -h % multiple, -w % multiple
    mode = "reflect" if ph < h and pw < w else "replicate"
    y = fn(F.pad(x, (0, pw, 0, ph), mode=mode) if ph or pw else x)
    return y[..., :h, :w]


def tile_starts(h: int, w: int, tile: int, overlap: int) -> tuple[list[int], list[int]]:
    """The tops and lefts of the tiles that cover an h x w image."""
    return _starts(h, tile, tile - overlap), _starts(w, tile, tile - overlap)


def run_tiled(fn, x: Tensor, tile: int, multiple: int, overlap: int, on_tile=None) -> Tensor:
    """fn (on [-1, 1]) over overlapping tiles of side `tile` of x uint8 [1, C, H, W], blended
    with weights that fall linearly to the tile edges, so no seam shows: uint8 [1, C', H, W].

    For images too large to translate in one piece, in bounded memory: input and output stay
    uint8, and one band of tile rows at a time is summed in float; the rows above the next
    band are final then, and written out. `on_tile()` is called after each tile."""
    _, _, h, w = x.shape
    tops, lefts = tile_starts(h, w, tile, overlap)
    out = None  # made at the first tile, when the output's channels are known
    carry = None  # (sum, weight) of the rows the last band shares with the next one
    for k, top in enumerate(tops):
        rows = min(tile, h - top)
        ramp_h = _ramp(rows, overlap)
        band = weight = None
        for left in lefts:
            y = run_padded(fn, to_float(x[..., top : top + rows, left : left + tile]), multiple)
            if band is None:
                band, weight = torch.zeros(1, y.shape[1], rows, w), torch.zeros(rows, w)
                if carry is not None:
                    n = carry[1].shape[0]
                    band[..., :n, :] += carry[0]
                    weight[:n] += carry[1]
                if out is None:
                    out = torch.empty(1, y.shape[1], h, w, dtype=torch.uint8)
            wgt = ramp_h[:, None] * _ramp(y.shape[-1], overlap)[None, :]
            band[..., left : left + tile] += y.cpu() * wgt
            weight[:, left : left + tile] += wgt
            if on_tile is not None:
                on_tile()
        end = tops[k + 1] if k + 1 < len(tops) else h  # no later tile reaches above `end`
        out[..., top:end, :] = quantize(band[..., : end - top, :] / weight[: end - top])
        carry = (band[..., end - top :, :], weight[end - top :])
    return out


def _starts(size: int, tile: int, step: int) -> list[int]:
    """Tile offsets along one side: every `step`, and a last tile flush with the edge."""
    starts = list(range(0, max(size - tile, 0) + 1, step))
    if starts[-1] + tile < size:
        starts.append(size - tile)
    return starts


def _ramp(n: int, overlap: int) -> Tensor:
    """1 in the middle, falling linearly over `overlap` pixels to a small positive edge."""
    r = torch.ones(n)
    k = min(overlap, n // 2)
    if k:
        edge = torch.arange(1, k + 1, dtype=torch.float32) / (k + 1)
        r[:k], r[n - k :] = edge, edge.flip(0)
    return r


def _progress():
    """A rich progress bar on stderr over the images (a large one advancing tile by tile), as
    training's; hidden when stderr is not a terminal."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("[bold]translate"),
        BarColumn(),
        TextColumn("{task.fields[what]}"),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=not sys.stderr.isatty(),
        refresh_per_second=4,
    )


class _SizeNote:
    """Counts the tiles of one large image on the bar and, a few tiles in, says in one line on
    stderr how large the image is and roughly how long it takes (timed from the tiles after the
    first, which also warms the model up)."""

    TIMED = 3  # tiles timed for the estimate

    def __init__(self, bar, task, name: str, shape: tuple[int, int], tiles: int, tile: int):
        self.bar, self.task, self.name, self.shape = bar, task, name, shape
        self.tiles, self.tile, self.done = tiles, tile, 0
        self.start = time.monotonic()

    def __call__(self) -> None:
        self.done += 1
        self.bar.update(
            self.task, advance=1 / self.tiles, what=f"{self.name} tile {self.done}/{self.tiles}"
        )
        if self.done == 1:
            self.start = time.monotonic()
        if self.done == min(1 + self.TIMED, self.tiles):
            per_tile = (time.monotonic() - self.start) / max(self.done - 1, 1)
            h, w = self.shape
            self.bar.console.print(
                f"gankit: {self.name} is {w}x{h} ({w * h / 1e6:.1f} million pixels): "
                f"{self.tiles} tile(s) of {self.tile} pixels, about {per_tile * self.tiles:.0f} s",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )


def translate_pixels(
    model,
    x: Tensor,
    direction: str = "AtoB",
    max_pixels: int = 1024 * 1024,
    tile: int = 256,
    on_tile=None,
) -> Tensor:
    """One image uint8 [1, C, H, W] (C as `model.input_channels(direction)`) translated at
    full size: uint8 [1, C', H, W]. Above `max_pixels` it goes in tiles of about `tile` pixels
    (overlap 1/4, seams blended), calling `on_tile()` after each; `gankit translate` and
    `gankit serve` both translate through here."""
    multiple = model.size_multiple(direction)
    tile = max(multiple, tile // multiple * multiple)

    def fn(t: Tensor) -> Tensor:
        return model.translate(t, direction).cpu()

    h, w = x.shape[-2:]
    if h * w > max_pixels:
        return run_tiled(fn, x, tile, multiple, tile // 4, on_tile=on_tile)
    return quantize(run_padded(fn, to_float(x), multiple))


def translate_files(
    model,
    inputs: list[Path],
    out_dir: Path,
    direction: str = "AtoB",
    max_pixels: int = 1024 * 1024,
    tile: int = 256,
    max_image_pixels: int = MAX_IMAGE_PIXELS,
) -> list[Path]:
    """Translates each input image into out_dir under its own name; returns the paths written.

    Images larger than `max_pixels` are translated in tiles of `tile` pixels (overlap 1/4).
    An input that cannot be decoded is skipped and counted (one warning line); one above
    `max_image_pixels` stops the run before anything is written of it.
    """
    if direction not in DIRECTIONS:
        raise GankitError(f"--direction must be AtoB or BtoA, got {direction!r}")
    if not hasattr(model, "translate"):
        raise GankitError(
            f"model {model.cfg.name!r} does not translate images; train pix2pix or cyclegan"
        )
    files = input_files(inputs)
    outs = output_paths(files, out_dir)
    channels = model.input_channels(direction)
    multiple = model.size_multiple(direction)
    tile = max(multiple, tile // multiple * multiple)  # as translate_pixels rounds it
    written, bad, converted = [], [], 0
    with _progress() as bar:
        task = bar.add_task("translate", total=len(files), what="")
        for f, o in zip(files, outs, strict=True):
            bar.update(task, what=f.name)
            try:
                x, changed = as_channels(open_image(f, max_image_pixels), channels)
            except TooLarge as e:
                raise GankitError(
                    f"{e} (a guard against decompression bombs); if you trust the file, raise "
                    "it with --max-image-pixels"
                ) from None
            except ImageError as e:
                bad.append(str(e))
                bar.update(task, advance=1)
                continue
            converted += changed
            x = x[None]  # uint8 [1, C, H, W]
            h, w = x.shape[-2:]
            note = None
            if h * w > max_pixels:
                tiles = [len(s) for s in tile_starts(h, w, tile, tile // 4)]
                note = _SizeNote(bar, task, f.name, (h, w), tiles[0] * tiles[1], tile)
            y = translate_pixels(model, x, direction, max_pixels, tile, on_tile=note)
            if note is None:
                bar.update(task, advance=1)
            write_image(y, o)
            written.append(o)
    if bad:
        print(
            f"warning: skipped {len(bad)} input(s) that cannot be decoded (first: {bad[0]})",
            file=sys.stderr,
        )
    if converted:
        kind = "grey" if channels == 1 else "colour"
        print(
            f"gankit: converted {converted} image(s) to {kind}, as the model expects",
            file=sys.stderr,
        )
    if not written:
        raise GankitError(f"none of the {len(files)} input(s) could be decoded; give images")
    return written
