"""Pictures of a run: sample snapshots, time-lapses of training, loss curves, metric reading."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

if TYPE_CHECKING:
    from torch import Tensor

__all__ = [
    "eval_curves",
    "list_snapshots",
    "loss_curves",
    "read_metrics",
    "save_snapshot",
    "timelapse",
]

_DOT_COLOR = "#1f5fa8"
_CENTER_COLOR = "#d62728"
_SNAPSHOT_RE = re.compile(r"^step_(\d+)\.npy$")
_GIF_FRAME_MS = 250  # ~4 frames per second
_MAX_GRID_SAMPLES = 100  # images in a snapshot picture or a GIF frame
_MAX_PANEL_SAMPLES = 25  # images in one panel of the time-lapse grid


# --------------------------------------------------------------------------------------------
# reading a run folder


def read_metrics(path: Path) -> list[dict]:
    """Rows of a metrics.jsonl file; blank, corrupt or non-object lines are skipped.

    A missing file gives []. A crash can leave a half-written last line, which is skipped.
    """
    path = Path(path)
    if not path.is_file():
        return []
    rows: list[dict] = []
    with path.open("r", encoding="utf-8", errors="replace") as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if isinstance(row, dict):
                rows.append(row)
    return rows


def list_snapshots(run_dir: Path) -> list[tuple[int, Path]]:
    """(step, path) of every `samples/step_NNNNNNN.npy` in a run folder, sorted by step."""
    samples = Path(run_dir) / "samples"
    if not samples.is_dir():
        return []
    found = []
    for p in samples.iterdir():
        m = _SNAPSHOT_RE.match(p.name)
        if m and p.is_file():
            found.append((int(m.group(1)), p))
    found.sort(key=lambda sp: sp[0])
    return found


# --------------------------------------------------------------------------------------------
# sample arrays


def _to_numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):  # a torch tensor; torch is imported only by the caller
        x = x.detach().to("cpu").float().numpy()
    return np.asarray(x, dtype=np.float32)


def _classify(x: Any) -> tuple[str, np.ndarray]:
    """("points", [N, 2]) or ("images", [N, C, H, W]); ValueError for anything else.

    Vectors of another width are drawn by their first two coordinates (a 1-D sample is put on
    the x axis), so a user's points of any width still get a picture.
    """
    a = _to_numpy(x)
    if a.ndim == 2:
        if a.shape[1] == 1:
            a = np.concatenate([a, np.zeros_like(a)], axis=1)
        return "points", a[:, :2]
    if a.ndim == 3:  # [N, H, W]: one channel
        a = a[:, None]
    if a.ndim == 4 and a.shape[1] in (1, 3):
        return "images", a
    raise ValueError(
        f"cannot draw samples of shape {tuple(a.shape)}: expected [N, D] points or "
        "[N, C, H, W] images with C in (1, 3)"
    )


def _image_grid(imgs: np.ndarray, max_n: int, nrow: int | None = None) -> np.ndarray:
    """First max_n images of [N, C, H, W] in [-1, 1] as one [H', W', 3] float grid in [0, 1],
    `nrow` images per row (default: a square)."""
    import torch
    from torchvision.utils import make_grid

    imgs = np.nan_to_num(imgs[:max_n], nan=0.0, posinf=1.0, neginf=-1.0)
    t = torch.from_numpy(np.ascontiguousarray(imgs)).float()
    t = ((t + 1.0) / 2.0).clamp(0.0, 1.0)
    nrow = nrow or max(1, math.ceil(math.sqrt(t.shape[0])))
    grid = make_grid(t, nrow=nrow, padding=2, pad_value=1.0)
    return grid.permute(1, 2, 0).numpy()


# --------------------------------------------------------------------------------------------
# drawing


def _square_limits(
    points: np.ndarray, centers: np.ndarray | None
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Square x/y limits: around the true centres when known, else robustly around the data."""
    if centers is not None and len(centers):
        c = np.asarray(centers, dtype=np.float64).reshape(-1, 2)
        lo, hi = c.min(axis=0), c.max(axis=0)
        span = float((hi - lo).max())
        margin = 0.25 * span if span > 0 else 1.0
    else:
        p = points[np.isfinite(points).all(axis=1)] if len(points) else points
        if len(p) == 0:
            lo, hi, margin = np.array([-1.0, -1.0]), np.array([1.0, 1.0]), 0.0
        else:
            lo = np.percentile(p, 1, axis=0)
            hi = np.percentile(p, 99, axis=0)
            span = float((hi - lo).max())
            margin = 0.15 * span if span > 1e-9 else 1.0
    mid = (lo + hi) / 2.0
    half = float((hi - lo).max()) / 2.0 + margin
    return (mid[0] - half, mid[0] + half), (mid[1] - half, mid[1] + half)


def _draw_points(
    ax,
    pts: np.ndarray,
    title: str,
    centers: np.ndarray | None,
    lims: tuple[tuple[float, float], tuple[float, float]],
    small: bool = False,
) -> None:
    finite = np.isfinite(pts).all(axis=1)
    p = pts[finite]
    n = max(len(p), 1)
    alpha = float(np.clip(1500.0 / n, 0.25, 0.9))
    size = 1.5 if small else 3.0
    ax.scatter(
        p[:, 0], p[:, 1], s=size, c=_DOT_COLOR, alpha=alpha, linewidths=0, zorder=2, rasterized=True
    )
    if centers is not None and len(centers):
        c = np.asarray(centers, dtype=np.float64).reshape(-1, 2)
        ax.scatter(
            c[:, 0],
            c[:, 1],
            marker="x",
            s=25 if small else 50,
            c=_CENTER_COLOR,
            linewidths=1.0 if small else 1.5,
            zorder=1,
        )
    (x0, x1), (y0, y1) = lims
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal", adjustable="box")
    ax.grid(True, linewidth=0.4, alpha=0.4)
    if small:
        ax.tick_params(labelsize=6, length=2)
    else:
        ax.tick_params(labelsize=8)
    if title:
        ax.set_title(title, fontsize=9 if small else 11)
    outside = int(((p[:, 0] < x0) | (p[:, 0] > x1) | (p[:, 1] < y0) | (p[:, 1] > y1)).sum())
    notes = []
    if outside:
        notes.append(f"{outside} outside view")
    if (~finite).any():
        notes.append(f"{int((~finite).sum())} non-finite")
    if notes:
        ax.text(
            0.02,
            0.02,
            ", ".join(notes),
            transform=ax.transAxes,
            fontsize=6 if small else 8,
            color="#666666",
            va="bottom",
        )


def _points_figure(pts, title, centers, lims, inches: float = 4.5) -> Figure:
    fig = Figure(figsize=(inches, inches), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    _draw_points(ax, pts, title, centers, lims)
    fig.subplots_adjust(left=0.11, right=0.97, bottom=0.08, top=0.92)
    return fig


def _images_figure(grid: np.ndarray, title: str, target_px: int = 440) -> Figure:
    """A figure showing the grid at an integer scale (crisp pixels), title above it."""
    h, w = grid.shape[:2]
    scale = max(1, round(target_px / max(h, w)))
    title_px = 28 if title else 0
    width_px, height_px = w * scale, h * scale + title_px
    dpi = 100
    fig = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)
    ax = fig.add_axes((0.0, 0.0, 1.0, h * scale / height_px))
    ax.imshow(grid, interpolation="nearest", vmin=0.0, vmax=1.0)
    ax.set_axis_off()
    if title:
        fig.text(0.5, 1.0 - (title_px / 2) / height_px, title, ha="center", va="center", size=11)
    return fig


def _fig_to_pil(fig: Figure) -> Image.Image:
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return Image.fromarray(np.asarray(canvas.buffer_rgba())[..., :3].copy())


def _save_fig(fig: Figure, path: Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(fig)
    fig.savefig(path, format="png", facecolor="white")


def save_snapshot(
    x: np.ndarray | Tensor,
    path: Path,
    title: str = "",
    centers: np.ndarray | None = None,
    nrow: int | None = None,
) -> None:
    """Write a PNG of samples: a scatter plot for [N, D] points, an image grid for images.

    Images are [N, C, H, W] in [-1, 1]; the first 100 are shown, `nrow` per row. Points get
    fixed limits around `centers` (marked with x) when given, else limits from the 1st-99th
    percentiles of the data, so outliers do not squash the view.
    """
    kind, a = _classify(x)
    if kind == "points":
        fig = _points_figure(a, title, centers, _square_limits(a, centers))
    else:
        fig = _images_figure(_image_grid(a, _MAX_GRID_SAMPLES, nrow), title)
    _save_fig(fig, path)


def _panel_indices(n: int, max_panels: int) -> list[int]:
    k = max(1, min(n, max_panels))
    if k == 1:
        return [n - 1]
    return sorted({int(round(i)) for i in np.linspace(0, n - 1, k)})


def _grid_shape(k: int) -> tuple[int, int]:
    """(rows, cols) for k panels: near-square, with as few empty slots as possible."""
    base = math.ceil(math.sqrt(k))
    cols = min(range(base, base + 3), key=lambda c: (math.ceil(k / c) * c - k, c))
    cols = min(cols, k)
    return math.ceil(k / cols), cols


def timelapse(
    snapshots: Sequence[tuple[int, np.ndarray]],
    grid_path: Path,
    gif_path: Path,
    centers: np.ndarray | None = None,
    max_panels: int = 16,
    titles: dict[int, str] | None = None,
) -> None:
    """Write a PNG grid of up to max_panels snapshots and an animated GIF of all of them.

    Panels are chosen evenly over the snapshots and always include the last one. Points use
    the same axis limits in every panel and frame, so mass moving between modes shows.
    `titles` maps a snapshot's step to its panel title (default "step N").
    """
    titles = titles or {}
    if not snapshots:
        raise ValueError("timelapse needs at least one snapshot")
    snaps = sorted(((int(s), x) for s, x in snapshots), key=lambda sx: sx[0])
    classified = [(s, *_classify(x)) for s, x in snaps]
    kinds = {k for _, k, _ in classified}
    if len(kinds) != 1:
        raise ValueError("timelapse snapshots mix 2-D points and images")
    kind = kinds.pop()

    lims = None
    if kind == "points":
        lims = _square_limits(np.concatenate([a for _, _, a in classified]), centers)

    # the grid of panels
    idx = _panel_indices(len(classified), max_panels)
    nrows, ncols = _grid_shape(len(idx))
    panel_in = 2.6
    fig = Figure(
        figsize=(ncols * panel_in, nrows * (panel_in + 0.2)), dpi=100, layout="constrained"
    )
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for slot, ax in enumerate(axes.flat):
        if slot >= len(idx):
            ax.set_axis_off()
            continue
        step, _, a = classified[idx[slot]]
        if kind == "points":
            _draw_points(ax, a, titles.get(step, f"step {step}"), centers, lims, small=True)
        else:
            ax.imshow(_image_grid(a, _MAX_PANEL_SAMPLES), vmin=0.0, vmax=1.0)
            ax.set_axis_off()
            ax.set_title(titles.get(step, f"step {step}"), fontsize=9)
    _save_fig(fig, grid_path)

    # the animation: one frame per snapshot, all of the same size
    frames: list[Image.Image] = []
    for step, _, a in classified:
        title = titles.get(step, f"step {step}")
        if kind == "points":
            f = _points_figure(a, title, centers, lims, inches=4.5)
        else:
            f = _images_figure(_image_grid(a, _MAX_GRID_SAMPLES), title)
        img = _fig_to_pil(f)
        if frames and img.size != frames[0].size:
            img = img.resize(frames[0].size)
        frames.append(img.convert("P", palette=Image.Palette.ADAPTIVE, colors=255))
    gif_path = Path(gif_path)
    gif_path.parent.mkdir(parents=True, exist_ok=True)
    frames[0].save(
        gif_path,
        format="GIF",
        save_all=True,
        append_images=frames[1:],
        duration=_GIF_FRAME_MS,
        loop=0,
        disposal=1,
    )


# --------------------------------------------------------------------------------------------
# training curves


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _series(rows: list[dict], key: str) -> tuple[np.ndarray, np.ndarray]:
    pts = [
        (r["step"], r[key]) for r in rows if _is_number(r.get("step")) and _is_number(r.get(key))
    ]
    pts.sort(key=lambda sv: sv[0])
    if not pts:
        return np.zeros(0), np.zeros(0)
    arr = np.asarray(pts, dtype=np.float64)
    return arr[:, 0], arr[:, 1]


def _moving_average(steps: np.ndarray, vals: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """A trailing moving average over about 2% of the points; None for short series."""
    n = len(vals)
    if n < 20:
        return None
    w = max(2, n // 50)
    c = np.cumsum(np.insert(vals, 0, 0.0))
    return steps[w - 1 :], (c[w:] - c[:-w]) / w


def _plot_series(ax, steps, vals, label, color) -> None:
    smooth = _moving_average(steps, vals)
    if smooth is None:
        ax.plot(steps, vals, color=color, linewidth=1.2, label=label)
    else:
        ax.plot(steps, vals, color=color, linewidth=0.8, alpha=0.3)
        ax.plot(*smooth, color=color, linewidth=1.5, label=label)


def _robust_ylim(ax, all_vals: list[np.ndarray]) -> None:
    """Zoom the y axis to the bulk of the values when a few spikes would squash the curves."""
    v = np.concatenate(all_vals)
    if len(v) < 20:
        return
    lo, hi = np.percentile(v, [0.5, 99.5])
    full = v.max() - v.min()
    if hi > lo and full > 3 * (hi - lo):
        pad = 0.1 * (hi - lo)
        ax.set_ylim(lo - pad, hi + pad)


def _panel(ax, title: str, ylabel: str, resumes: Sequence[int]) -> None:
    """Titles, grid and a dotted line at every step a stopped run resumed from."""
    for i, step in enumerate(resumes):
        ax.axvline(
            step, color="0.45", linestyle=":", linewidth=1, label="resumed" if not i else None
        )
    ax.set_title(title)
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    ax.grid(True, linewidth=0.4, alpha=0.5)


def _reference(ax, value: float, label: str, color: str) -> None:
    """A dashed horizontal line, kept in view when the y axis was zoomed to the curves."""
    ax.axhline(value, color=color, linestyle="--", linewidth=1.1, alpha=0.8, label=label)
    lo, hi = ax.get_ylim()
    pad = 0.05 * (max(hi, value) - min(lo, value))
    ax.set_ylim(min(lo, value - pad), max(hi, value + pad))


def loss_curves(
    rows: list[dict],
    path: Path,
    equilibrium: dict[str, float] | None = None,
    resumes: Sequence[int] = (),
) -> bool:
    """Plot every `loss/*` key against step, with its `equilibrium` value (log key -> value)
    dashed; D's mean verdicts `d/real` and `d/fake` with their equilibrium 1/2 in a second panel
    and the `wdist` estimate in a third, when logged; a dotted line at each step in `resumes`.

    Returns False, writing nothing, when no row has a numeric loss or wdist.
    """
    keys = sorted({k for r in rows for k in r if isinstance(k, str) and k.startswith("loss/")})
    losses = {k: s for k in keys if len((s := _series(rows, k))[0])}
    verdicts = {k: s for k in ("d/real", "d/fake") if len((s := _series(rows, k))[0])}
    wdist = _series(rows, "wdist")
    has_w = len(wdist[0]) > 0
    if not losses and not has_w:
        return False

    panels = int(bool(losses)) + int(bool(verdicts)) + int(has_w)
    fig = Figure(figsize=(6.2 if panels == 1 else 5.2 * panels, 3.8), dpi=100)
    axes = iter(fig.subplots(1, panels, squeeze=False)[0])
    colors = [f"C{i}" for i in range(10)]
    if losses:
        ax = next(axes)
        _panel(ax, "losses", "loss", resumes)
        for i, (k, (s, v)) in enumerate(losses.items()):
            _plot_series(ax, s, v, k.removeprefix("loss/"), colors[i % len(colors)])
        _robust_ylim(ax, [v for _, v in losses.values()])
        for i, (k, _) in enumerate(losses.items()):
            if k in (equilibrium or {}):
                value = equilibrium[k]
                label = f"{k.removeprefix('loss/')} at equilibrium ({value:.3f})"
                _reference(ax, value, label, colors[i % len(colors)])
        ax.legend(fontsize=8, loc="best")
    if verdicts:
        ax = next(axes)
        _panel(ax, "D's mean verdict: P(real)", "mean D(x)", resumes)
        for (k, (s, v)), color in zip(verdicts.items(), ("C2", "C3"), strict=False):
            _plot_series(ax, s, v, k.replace("d/", "D(") + ")", color)
        _reference(ax, 0.5, "equilibrium (1/2)", "0.3")
        ax.set_ylim(-0.02, 1.02)
        ax.legend(fontsize=8, loc="best")
    if has_w:
        ax = next(axes)
        _panel(ax, "Wasserstein estimate (critic)", "W estimate", resumes)
        _plot_series(ax, wdist[0], wdist[1], "wdist", "C4")
        _robust_ylim(ax, [wdist[1]])
    fig.tight_layout()
    _save_fig(fig, path)
    return True


def _curve_keys(rows: list[dict]) -> list[str]:
    """Numeric `eval/*` keys evaluated at two steps or more, without spreads and per-class
    breakdowns (class_acc/7): the ones worth a curve."""
    keys = sorted({k for r in rows for k in r if isinstance(k, str) and k.startswith("eval/")})
    return [
        k
        for k in keys
        if "/" not in k.removeprefix("eval/")
        and not k.endswith("_std")
        and len(_series(rows, k)[0]) >= 2
    ]


def eval_curves(
    rows: list[dict],
    path: Path,
    totals: dict[str, float] | None = None,
    resumes: Sequence[int] = (),
) -> bool:
    """Plot each evaluation key against step, one panel each; `totals` (key without `eval/` ->
    its best value, e.g. {"modes": 8}) adds a dashed line at it. False (nothing written) when
    no key was evaluated twice."""
    keys = sorted(_curve_keys(rows), key=lambda k: k != "eval/modes")  # the headline first
    if not keys:
        return False
    nrows, ncols = _grid_shape(len(keys))
    fig = Figure(figsize=(4.2 * ncols, 3.2 * nrows), dpi=100, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).flat
    for ax, key in zip(axes, keys + [""] * (nrows * ncols - len(keys)), strict=True):
        if not key:
            ax.set_axis_off()
            continue
        name = key.removeprefix("eval/")
        _panel(ax, name, name, resumes)
        steps, vals = _series(rows, key)
        ax.plot(steps, vals, color="C0", marker="o", markersize=3, linewidth=1.2, label=name)
        if vals.min() >= 0:  # scores of this kind are >= 0: show how far from 0 they are
            ax.set_ylim(bottom=0)
        if name in (totals or {}):
            _reference(ax, totals[name], f"all {totals[name]:g}", "C3")
        if name in (totals or {}) or resumes:
            ax.legend(fontsize=8, loc="best")
    _save_fig(fig, path)
    return True
