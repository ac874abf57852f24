"""What the `gankit serve` page does with a run, free of any web library: sample a grid,
walk between two seeds, translate an upload, write text, play music, show the metrics.

Each function takes a ServedRun, holds its lock while the model works (one request at a time
per model), and returns arrays, text or files the page shows. A user's mistake raises a
GankitError whose message the page shows as one line.
"""

from __future__ import annotations

import math
import shutil
import uuid
from pathlib import Path

import numpy as np
import torch

from gankit.errors import GankitError, RunError
from gankit.serve.runs import ServedRun

MAX_SAMPLES = 64  # images or points per request: a grid that fits a page, quick on a CPU
MAX_LINES = 20
MAX_SEGMENTS = 8
CELL = 64  # small images are enlarged (nearest neighbour) to at least this many pixels a side
DEFAULT_MAX_IMAGE_PIXELS = 16 * 1024 * 1024  # uploads above this are refused from the header
TILE_PIXELS = 1024 * 1024  # larger uploads are translated in tiles, as `gankit translate` does
KEEP_OUTPUTS = 256  # request folders kept in the app's output folder (gradio copies what it shows)


def check_count(n: float, most: int, what: str) -> int:
    """n as a whole number in 1..most, or a one-line error."""
    if n is None or not float(n).is_integer() or not 1 <= n <= most:
        raise GankitError(f"{what} must be a whole number from 1 to {most}, got {n}")
    return int(n)


def check_seed(seed: float) -> int:
    if seed is None or not float(seed).is_integer() or not 0 <= seed < 2**63:
        raise GankitError(f"the seed must be a whole number from 0 to 2**63 - 1, got {seed}")
    return int(seed)


def needs(run: ServedRun, kinds: tuple[str, ...], what: str) -> None:
    """Raises unless the run can be served and its model does `what` (its data kind)."""
    if run.problem:
        raise RunError(run.problem)
    if run.kind not in kinds:
        raise GankitError(f"{run.name} is a {run.model_name} run: it does not {what}")


def grid(x: torch.Tensor, nrow: int, cell: int = CELL) -> np.ndarray:
    """Images [N, C, H, W] in [-1, 1] as one uint8 picture [H', W', 3]: `nrow` a row, 2 white
    pixels between them, enlarged by a whole factor (nearest neighbour) until a cell is at
    least `cell` pixels high, so an 8x8 digit is not a blur in the browser."""
    from torchvision.utils import make_grid

    from gankit.metrics.features import quantize

    x = x.detach().cpu().float()
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    k = max(1, math.ceil(cell / x.shape[-2]))
    big = quantize(x).repeat_interleave(k, -2).repeat_interleave(k, -1)
    return make_grid(big, nrow=nrow, padding=2, pad_value=255).permute(1, 2, 0).numpy()


def class_labels(run: ServedRun, n: int, class_name: str | None) -> tuple[torch.Tensor, int]:
    """(labels [n'], images a row) of a conditional run: one class, or every class (a column
    each, n rounded up to fill the rows) when `class_name` is empty."""
    k = len(run.class_names)
    if class_name:
        if class_name not in run.class_names:
            raise GankitError(f"{run.name} has no class {class_name!r}; choose one of the list")
        return torch.full((n,), run.class_names.index(class_name)), math.ceil(math.sqrt(n))
    rows = math.ceil(n / k)
    return torch.arange(rows * k) % k, k


def sample_images(run: ServedRun, n: float, seed: float, class_name: str | None = None):
    """A grid of n samples (uint8 [H, W, 3]) drawn with `seed`; for a conditional run, of one
    class or of every class (a column each). Points are drawn as a scatter picture."""
    needs(run, ("image", "points"), "draw images")
    n, seed = check_count(n, MAX_SAMPLES, "the number of samples"), check_seed(seed)
    labels, nrow = None, math.ceil(math.sqrt(n))
    if run.conditional:
        labels, nrow = class_labels(run, n, class_name)
    with run.lock:
        x = run.model().sample(len(labels) if labels is not None else n, seed=seed, labels=labels)
    if run.kind == "points":
        return scatter(run, x)
    return grid(x, nrow)


def scatter(run: ServedRun, x: torch.Tensor) -> np.ndarray:
    """2-D samples as the picture `gankit sample` draws (with the data's centres)."""
    from PIL import Image

    from gankit.viz.plots import save_snapshot

    folder = new_output_folder(run)
    save_snapshot(x.cpu().numpy(), folder / "points.png", "", run.info.get("centers"))
    with Image.open(folder / "points.png") as img:
        return np.array(img.convert("RGB"))


def interpolate(
    run: ServedRun, seed_a: float, seed_b: float, t: float, class_name: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(the image at fraction t of the way from seed_a's noise to seed_b's, the path from one
    to the other in 8 steps), along the sphere (slerp) as the run's interpolation picture."""
    from gankit.viz.pictures import slerp

    needs(run, ("image",), "draw images")
    seed_a, seed_b = check_seed(seed_a), check_seed(seed_b)
    if t is None or not 0.0 <= t <= 1.0:
        raise GankitError(f"the position must be from 0 to 1, got {t}")
    label = 0
    if run.conditional and class_name:
        label = class_labels(run, 1, class_name)[0][0]
    with run.lock:
        model = run.model()
        z_a = model.noise(1, torch.Generator().manual_seed(seed_a)).cpu()
        z_b = model.noise(1, torch.Generator().manual_seed(seed_b)).cpu()
        ts = torch.cat([torch.tensor([float(t)]), torch.linspace(0, 1, 8)])
        z = slerp(z_a, z_b, ts)[0]  # [9, z_dim]
        labels = torch.full((len(z),), int(label)) if run.conditional else None
        x = model.sample(z=z, labels=labels)
    return grid(x[:1], 1, cell=4 * CELL), grid(x[1:], 8)


def read_upload(path: str | None, uploads: Path, max_pixels: int, channels: int):
    """An uploaded file as uint8 [1, C, H, W] through gankit's one decoder; the path must be a
    file the web library stored in `uploads` (no path from a page reaches anything else)."""
    from gankit.data.pixels import TooLarge, as_channels, open_image

    if not path:
        raise GankitError("upload an image first")
    file = Path(path).resolve()
    if not file.is_relative_to(Path(uploads).resolve()):
        raise GankitError("only files uploaded through this page can be translated")
    try:
        img = open_image(file, max_pixels)
    except TooLarge as e:
        raise GankitError(
            f"{_shown_name(e, file)}; scale it down, or use `gankit translate`"
        ) from None
    except GankitError as e:
        raise GankitError(_shown_name(e, file)) from None
    return as_channels(img, channels)[0][None]


def _shown_name(e: Exception, file: Path) -> str:
    """The decoder's message with the upload's own name for the server's path of it."""
    return str(e).replace(str(file), file.name)


def translate_upload(
    run: ServedRun, path: str | None, direction: str, uploads: Path, max_pixels: int
) -> tuple[np.ndarray, np.ndarray, Path]:
    """(the input as the model sees it, its translation, the translation as a PNG file) of an
    uploaded image, at its own size (in tiles when large)."""
    from gankit.translate import translate_pixels, write_image

    needs(run, ("paired", "unpaired"), "translate images")
    with run.lock:
        model = run.model()
        x = read_upload(path, uploads, max_pixels, model.input_channels(direction))
        y = translate_pixels(model, x, direction, TILE_PIXELS)
    out = new_output_folder(run) / f"{Path(path).stem}_{direction}.png"
    write_image(y, out)
    return _rgb(x), _rgb(y), out


def _rgb(x: torch.Tensor) -> np.ndarray:
    """uint8 [1, C, H, W] -> [H, W, 3] for the page."""
    return x[0].expand(3, -1, -1).permute(1, 2, 0).numpy() if x.shape[1] == 1 else _hwc(x)


def _hwc(x: torch.Tensor) -> np.ndarray:
    return x[0].permute(1, 2, 0).numpy()


def generate_text(run: ServedRun, n: float, seed: float, temperature: float) -> str:
    """n generated lines, one a line, at the softmax `temperature`."""
    from gankit.data.text import decode_text

    needs(run, ("text",), "write text")
    n, seed = check_count(n, MAX_LINES, "the number of lines"), check_seed(seed)
    if temperature is None or not 0.05 <= temperature <= 5:
        raise GankitError(f"the temperature must be from 0.05 to 5, got {temperature}")
    extra = {"temperature": float(temperature)} if "temperature" in run.sample_options else {}
    with run.lock:
        x = run.model().sample(n, seed=seed, **extra)
    return "\n".join(line.replace("\n", " ") for line in decode_text(x.cpu().numpy(), run.info))


def generate_music(run: ServedRun, n: float, seed: float) -> tuple[Path, Path, Path]:
    """(WAV, MIDI, piano-roll picture) of n generated segments, one after another."""
    from gankit.metrics.music import binarize
    from gankit.viz.music import write_midi, write_piano_rolls, write_wav

    needs(run, ("music",), "make music")
    n, seed = check_count(n, MAX_SEGMENTS, "the number of segments"), check_seed(seed)
    with run.lock:
        x = run.model().sample(n, seed=seed)
    rolls = binarize(x.cpu().numpy())
    folder = new_output_folder(run)
    stem = f"{run.key}_seed{seed}"
    wav, mid, png = (folder / f"{stem}{s}" for s in (".wav", ".mid", ".png"))
    write_wav(rolls, run.info, wav)
    write_midi(rolls, run.info, mid)
    write_piano_rolls(rolls, run.info, png, f"{n} segment(s), seed {seed}", min(n, 4))
    return wav, mid, png


def metrics_table(run: ServedRun) -> list[list]:
    """[metric, value, step] of the newest value of every eval/ metric of metrics.jsonl."""
    from gankit.viz import read_metrics

    latest: dict[str, tuple] = {}
    for row in read_metrics(run.path / "metrics.jsonl"):
        for k, v in row.items():
            if k.startswith("eval/") and isinstance(v, int | float):
                latest[k] = (k.removeprefix("eval/"), round(float(v), 6), row.get("step"))
    return [list(v) for v in latest.values()]


def curves(run: ServedRun) -> Path | None:
    """The training curves as a PNG (the report's loss panel), or None before any loss row."""
    from gankit.viz import loss_curves, read_metrics

    out = new_output_folder(run) / "curves.png"
    return out if loss_curves(read_metrics(run.path / "metrics.jsonl"), out) else None


def config_text(run: ServedRun) -> str:
    from gankit.training.run import CONFIG

    try:
        return (run.path / CONFIG).read_text(encoding="utf-8", errors="replace")
    except OSError as e:
        return f"# cannot read {CONFIG}: {e.strerror}"


# ------------------------------------------------------------ the app's own output files
OUTPUT_ROOT: Path | None = None  # set by the app to a private temporary folder


def new_output_folder(run: ServedRun) -> Path:
    """A fresh folder for one request's files (the web library copies what it shows); the
    oldest are deleted beyond KEEP_OUTPUTS, so disk use stays bounded."""
    import tempfile

    global OUTPUT_ROOT
    if OUTPUT_ROOT is None:
        OUTPUT_ROOT = Path(tempfile.mkdtemp(prefix="gankit-serve-out-"))
    folder = OUTPUT_ROOT / f"{run.key}-{uuid.uuid4().hex[:12]}"
    folder.mkdir(parents=True)
    old = sorted(OUTPUT_ROOT.iterdir(), key=lambda p: p.stat().st_mtime)[:-KEEP_OUTPUTS]
    for p in old:
        shutil.rmtree(p, ignore_errors=True)
    return folder
