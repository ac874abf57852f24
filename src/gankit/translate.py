"""`gankit translate`: a trained translator (pix2pix, CycleGAN) applied to a person's own images
of any size, fully convolutionally, or in tiles with blended seams when an image is too large."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from gankit.data.pixels import GREY_MODES
from gankit.errors import GankitError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
DIRECTIONS = ("AtoB", "BtoA")


def input_files(inputs: list[Path]) -> list[Path]:
    """Image files named directly or found (recursively) in named folders, in order."""
    files: list[Path] = []
    for p in inputs:
        if p.is_dir():
            files += sorted(f for f in p.rglob("*") if f.suffix.lower() in IMAGE_SUFFIXES)
        elif p.is_file():
            files.append(p)
        else:
            raise GankitError(f"input {p} does not exist; give image files or folders")
    if not files:
        raise GankitError(
            f"no images ({', '.join(IMAGE_SUFFIXES)}) in {', '.join(map(str, inputs))}"
        )
    return files


def output_paths(files: list[Path], out_dir: Path) -> list[Path]:
    """out_dir / each file's own name; refuses to write over an input or any existing file."""
    outs = [out_dir / f.name for f in files]
    if len(set(outs)) < len(outs):
        raise GankitError(
            "two inputs share a file name; translate them into separate --out folders"
        )
    inputs = {f.resolve() for f in files}
    for o in outs:
        if o.resolve() in inputs:
            raise GankitError(f"{o} is one of the inputs; choose another --out (inputs are kept)")
        if o.exists():
            raise GankitError(f"{o} exists; choose another --out (gankit never overwrites a file)")
    return outs


def read_image(path: Path, channels: int) -> tuple[Tensor, bool]:
    """[1, C, H, W] in [-1, 1], and whether the image had to change mode (grey <-> colour)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            converted = (img.mode in GREY_MODES) != (channels == 1)
            a = np.asarray(img.convert("L" if channels == 1 else "RGB"), dtype=np.float32)
    except (UnidentifiedImageError, OSError) as e:
        raise GankitError(f"cannot read image {path}: {e}") from None
    x = torch.from_numpy(a).reshape(a.shape[0], a.shape[1], -1).permute(2, 0, 1)
    return x[None] / 127.5 - 1.0, converted


def write_image(x: Tensor, path: Path) -> None:
    from PIL import Image

    a = ((x[0].clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()
    img = Image.fromarray(a[..., 0] if a.shape[2] == 1 else a)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)


def run_padded(fn, x: Tensor, multiple: int) -> Tensor:
    """fn(x) for any H, W: reflection-padded up to a multiple of `multiple`, cropped back."""
    h, w = x.shape[-2:]
    ph, pw = -h % multiple, -w % multiple
    mode = "reflect" if ph < h and pw < w else "replicate"
    y = fn(F.pad(x, (0, pw, 0, ph), mode=mode) if ph or pw else x)
    return y[..., :h, :w]


def run_tiled(fn, x: Tensor, tile: int, multiple: int, overlap: int) -> Tensor:
    """fn over overlapping tiles of side `tile`, blended with weights that fall linearly to the
    tile edges, so no seam shows; for images too large to translate in one piece."""
    _, _, h, w = x.shape
    out = weight = None  # made at the first tile, when the output's channels are known
    for top in _starts(h, tile, tile - overlap):
        for left in _starts(w, tile, tile - overlap):
            piece = x[..., top : top + tile, left : left + tile]
            y = run_padded(fn, piece, multiple)
            if out is None:
                out = torch.zeros(1, y.shape[1], h, w)
                weight = torch.zeros(1, 1, h, w)
            ramp_h = _ramp(piece.shape[-2], overlap)
            ramp_w = _ramp(piece.shape[-1], overlap)
            wgt = (ramp_h[:, None] * ramp_w[None, :])[None, None]
            out[..., top : top + tile, left : left + tile] += y.cpu() * wgt
            weight[..., top : top + tile, left : left + tile] += wgt
    return out / weight


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


def translate_files(
    model,
    inputs: list[Path],
    out_dir: Path,
    direction: str = "AtoB",
    max_pixels: int = 1024 * 1024,
    tile: int = 256,
) -> list[Path]:
    """Translates each input image into out_dir under its own name; returns the paths written.

    Images larger than `max_pixels` are translated in tiles of `tile` pixels (overlap 1/4).
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
    tile = max(multiple, tile // multiple * multiple)

    def fn(x: Tensor) -> Tensor:
        return model.translate(x, direction).cpu()

    converted = 0
    for f, o in zip(files, outs, strict=True):
        x, changed = read_image(f, channels)
        converted += changed
        if x.shape[-2] * x.shape[-1] > max_pixels:
            y = run_tiled(fn, x, tile, multiple, tile // 4)
        else:
            y = run_padded(fn, x, multiple)
        write_image(y, o)
    if converted:
        kind = "grey" if channels == 1 else "colour"
        print(
            f"gankit: converted {converted} image(s) to {kind}, as the model expects",
            file=sys.stderr,
        )
    return outs
