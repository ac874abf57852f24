"""`gankit nightmare`: haunted faces (a faces GAN's samples, styled) and haunted places (a
person's photos, styled), written as images and one page into a new folder.

Everything a user gives is checked before anything long starts (training a faces GAN or a
style network), so a typo costs seconds; an output folder that holds files is never written
into.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from gankit.data.pixels import ImageError, as_channels, list_files, open_image, to_float
from gankit.errors import GankitError, RunError
from gankit.files import free_path, write_atomic
from gankit.metrics.features import quantize
from gankit.nightmare.network import StyleNet, load_style_net, save_style_net
from gankit.nightmare.training import (
    PLACES,
    StyleTraining,
    fit_side,
    skimage_photo,
    train_style_net,
)
from gankit.translate import input_files, write_image

STYLES = Path(__file__).with_name("styles")
DEFAULT_STYLE = STYLES / "nightmare.png"  # made by gankit.nightmare.style_image, seed 13
DEFAULT_STYLE_NET = STYLES / "nightmare_net.safetensors"  # trained on it: see styles/README.md
STYLE_NET = "style_net.safetensors"  # in the output folder, when one was trained
# the faces GAN trained when no --faces run is given: DCGAN on the 100 LFW faces at 32x32,
# DiffAugment against the tiny data set (benchmarks/results/small_data.md: KID 0.106 -> 0.038)
FACES_GAN = (
    "model.g_channels=32", "model.d_channels=32", "model.augment=color,translation,cutout",
    "train.batch_size=32", "train.ema=0.999", "train.sample_every=500", "train.ckpt_every=500",
    "train.metrics=[]",
)  # fmt: skip
FACES_STEPS = 1500


@dataclass
class Haunted:
    """What `haunt` made: the pictures (uint8 [3, H, W], before and after) and the files."""

    out: Path
    faces: list[tuple[Tensor, Tensor]] = field(default_factory=list)
    places: list[tuple[str, Tensor, Tensor]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    seconds_per_image: float = 0.0
    style_info: dict = field(default_factory=dict)
    style_image: Path | None = None  # the style the network learned, when known


def check_out(out: Path) -> None:
    """Refuses an --out that is a file or a folder with anything in it: nothing is overwritten."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise RunError(f"--out {out} exists and is not an empty folder; choose another --out")


def default_out(root: Path = Path("runs")) -> Path:
    return free_path(root / f"nightmare-{datetime.now():%Y%m%d-%H%M%S}")


def read_style_image(path: Path) -> Tensor:
    """A style image as uint8 [3, H, W]; a file that is not an image is the user's mistake."""
    try:
        x, _ = as_channels(open_image(path), 3)
    except ImageError as e:
        raise GankitError(f"--style: {e}; give a PNG or JPEG image") from None
    if min(x.shape[-2:]) < 64:
        raise GankitError(f"--style {path} is {x.shape[2]}x{x.shape[1]}; give at least 64x64")
    return x


def read_photos(inputs: list[Path], size: int) -> tuple[list[tuple[str, Tensor]], list[str]]:
    """(name, uint8 [3, H, W] with max(H, W) == size) of every image among `inputs` (files or
    folders, as `gankit translate` reads them), each shrunk as it is read so that memory does
    not grow with the photos' pixels; and the files skipped: not images by name, or not
    decodable."""
    skipped = []
    for p in inputs:
        if p.is_dir():
            skipped += [f"{p} holds files that are not images"] * list_files(p)[1]
    photos = []
    for f in input_files(inputs):
        try:
            photos.append((f.stem, fit_side(as_channels(open_image(f), 3)[0], size, longer=True)))
        except ImageError as e:
            skipped.append(str(e))
    if not photos:
        raise GankitError(f"none of the {len(skipped)} file(s) given to --photos is an image")
    return photos, skipped


def skimage_places(size: int) -> list[tuple[str, Tensor]]:
    """scikit-image's sample photos the shipped style network never saw in training."""
    return [(name, fit_side(skimage_photo(name), size, longer=True)) for name in PLACES]


@torch.inference_mode()
def stylize(net: StyleNet, x: Tensor) -> Tensor:
    """Styled images uint8 [N, 3, H, W] of uint8 [N, 3, H, W]."""
    return quantize(net(to_float(x)))


def faces_model(run: Path):
    """The GAN of a faces run; refused unless it makes grey or colour images."""
    from gankit import api

    model = api.load(run)
    if model.spec.data_kind != "image" or model.data_shape[0] not in (1, 3):
        raise GankitError(
            f"--faces {run} was trained on {model.spec.data_kind} data; give a run of an image "
            "GAN trained on faces (e.g. `gankit train --model dcgan --data lfw-faces`)"
        )
    return model


def sample_faces(model, n: int, size: int, seed: int) -> Tensor:
    """n faces of an image GAN as uint8 [n, 3, size, size] (grey made RGB), upscaled to `size`
    (antialiased bilinear) so the style's texture is finer than a feature of the face."""
    x = model.sample(n, seed=seed).float().cpu().clamp(-1, 1).expand(-1, 3, -1, -1)
    x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return quantize(x)


def train_faces_gan(out: Path, steps: int, seed: int) -> Path:
    """Trains the small faces DCGAN of FACES_GAN into `out` (an ordinary gankit run)."""
    from gankit import api

    overrides = [*FACES_GAN, f"train.steps={steps}", f"train.seed={seed}"]
    print(f"gankit: training a faces GAN for {steps} steps into {out} (give --faces RUN to "
          "reuse it)", file=sys.stderr)  # fmt: skip
    api.train(model="dcgan", data="lfw-faces", overrides=overrides, out=out)
    return out


def read_style_net(style_net: Path | None) -> tuple[StyleNet, dict]:
    """The network of --style-net, or the shipped one, and its record (with the file's path)."""
    path = style_net or DEFAULT_STYLE_NET
    net, info = load_style_net(path)
    return net, {**info, "file": str(path)}


def train_on_style(
    out: Path, style: Path, image: Tensor, training: StyleTraining
) -> tuple[StyleNet, dict]:
    """A network trained on the --style image (uint8 [3, H, W]), saved in OUT/STYLE_NET."""
    print(f"gankit: training a style network on {style} for {training.steps} steps",
          file=sys.stderr)  # fmt: skip
    net, info = train_style_net(image, training)
    info["style_image"] = str(style)
    save_style_net(net, out / STYLE_NET, info)
    return net, {**info, "file": str(out / STYLE_NET)}


def haunt(
    out: Path | None = None,
    faces: Path | None = None,
    n_faces: int = 16,
    faces_steps: int = FACES_STEPS,
    photos: list[Path] | None = None,
    style: Path | None = None,
    style_net: Path | None = None,
    training: StyleTraining | None = None,
    size: int = 256,
    seed: int = 0,
) -> Haunted:
    """Makes haunted faces and places into a new folder `out` (default runs/nightmare-TIME):
    faces/ and places/ (before_*.png and each picture styled), nightmare.html, nightmare.json.

    faces: a run of an image GAN trained on faces; without it one is trained first into
    OUT/faces-gan for `faces_steps` steps (`n_faces=0`: no faces). photos: image files or
    folders (default: scikit-image's held-out sample photos). style_net: a trained network;
    style: an image to train one on (saved as OUT/style_net.safetensors); neither: the shipped
    network. size: faces are styled at size x size, photos with their longer side at `size`.
    """
    training = training or StyleTraining()
    _check_settings(size, n_faces, faces, style, style_net)
    # everything given is read before anything is written or trained
    net, info = read_style_net(style_net) if style is None else (None, {})
    image = read_style_image(style) if style is not None else None
    out = Path(out) if out is not None else default_out()
    check_out(out)
    places, skipped = read_photos(list(photos), size) if photos else (skimage_places(size), [])
    model = faces_model(faces) if faces is not None and n_faces else None
    out.mkdir(parents=True, exist_ok=True)
    if net is None:
        net, info = train_on_style(out, style, image, training)
    shown = style or (DEFAULT_STYLE if style_net is None else None)
    result = Haunted(out, skipped=skipped, style_info=info, style_image=shown)
    if n_faces:
        if model is None:
            model = faces_model(train_faces_gan(out / "faces-gan", faces_steps, seed))
        before = sample_faces(model, n_faces, size, seed)
        result.faces = list(zip(before, _timed(net, before, result), strict=True))
    for name, x in places:
        result.places.append((name, x, _timed(net, x[None], result)[0]))
    result.seconds_per_image /= max(1, len(result.faces) + len(result.places))
    _write(result, faces, seed, size)
    if skipped:
        print(f"warning: skipped {len(skipped)} file(s) of --photos that are not images "
              f"(first: {skipped[0]})", file=sys.stderr)  # fmt: skip
    return result


def _check_settings(
    size: int, n_faces: int, faces: Path | None, style: Path | None, style_net: Path | None
) -> None:
    if size < 64:
        raise GankitError(f"--size must be at least 64 (the style net's field of view), got {size}")
    if n_faces < 0:
        raise GankitError(f"--n-faces must be 0 or more, got {n_faces}")
    if style is not None and style_net is not None:
        raise GankitError("give --style (trains a network) or --style-net (reuses one), not both")
    for flag, path in (("--style", style), ("--style-net", style_net), ("--faces", faces)):
        if path is not None and not path.exists():
            raise GankitError(f"{flag} {path} does not exist")


def _timed(net: StyleNet, x: Tensor, result: Haunted) -> Tensor:
    """stylize, its wall time summed into result.seconds_per_image (divided at the end)."""
    start = time.perf_counter()
    y = stylize(net, x)
    result.seconds_per_image += time.perf_counter() - start
    return y


def _write(result: Haunted, faces_run: Path | None, seed: int, size: int) -> None:
    """The pictures as PNGs, their before/after grids, nightmare.json and nightmare.html."""
    from gankit.nightmare.page import save_png, write_page

    out = result.out
    if result.style_image is not None:  # a copy small enough to show on the page
        save_png(fit_side(read_style_image(result.style_image), 384, True), out / "style.png")
    for k, (before, after) in enumerate(result.faces):
        write_image(before[None], out / "faces" / f"before_face_{k:03d}.png")
        write_image(after[None], out / "faces" / f"face_{k:03d}.png")
    names = _unique([name for name, _, _ in result.places])
    for name, (_, before, after) in zip(names, result.places, strict=True):
        write_image(before[None], out / "places" / f"before_{name}.png")
        write_image(after[None], out / "places" / f"{name}.png")
    summary = {
        "faces": len(result.faces),
        "faces_run": str(faces_run or out / "faces-gan") if result.faces else None,
        "places": names,
        "skipped": result.skipped,
        "style_image": "style.png" if result.style_image is not None else None,
        "size": size,
        "seed": seed,
        "seconds_per_image": round(result.seconds_per_image, 4),
        "threads": torch.get_num_threads(),
        "style_net": result.style_info,
    }
    write_atomic(out / "nightmare.json", json.dumps(summary, indent=2) + "\n")
    write_page(result, summary)


def _unique(names: list[str]) -> list[str]:
    """File stems made unique (a.png and a.jpg both give `a`): the later ones get -2, -3 ..."""
    seen: dict[str, int] = {}
    out = []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n}-{seen[n]}")
    return out
