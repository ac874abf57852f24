"""D's decision surface on 2-D data: what D believes about every point of the plane, drawn under
the data's centres and G's samples (the picture of Goodfellow et al. 2014's Figure 1)."""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.figure import Figure

from gankit.viz.plots import _CENTER_COLOR, _save_fig, _square_limits

GRID = 120  # points per side of the grid: 14,400 D evaluations, a few ms for an MLP


def d_surface(
    model, lims: tuple[tuple[float, float], tuple[float, float]], size: int = GRID
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(xs [size], ys [size], values [size, size]) with values[i, j] = model.verdict at
    (xs[j], ys[i]): D's probability that the point is real, or a critic's score."""
    (x0, x1), (y0, y1) = lims
    xs, ys = np.linspace(x0, x1, size), np.linspace(y0, y1, size)
    gx, gy = np.meshgrid(xs, ys)  # [size, size] each, rows along y
    points = torch.from_numpy(np.stack([gx.ravel(), gy.ravel()], 1)).float()  # [size^2, 2]
    device = next(model.parameters()).device
    values = model.verdict(points.to(device)).cpu().numpy()
    return xs, ys, values.reshape(size, size)


def surface_figure(
    model, samples: np.ndarray, centers: np.ndarray | None, path, title: str
) -> bool:
    """Writes D's surface over the samples' (or the centres') square view, with the centres
    (x) and the samples (dots) on top. Returns whether D gives probabilities (a 0-1 scale
    centred on 1/2) rather than a critic's scores."""
    lims = _square_limits(samples, centers)
    xs, ys, values = d_surface(model, lims)
    probabilities = bool(model.objective.probabilities)
    fig = Figure(figsize=(5.6, 4.6), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    if probabilities:  # white at 1/2, where D cannot tell: the equilibrium
        mesh = ax.pcolormesh(xs, ys, values, cmap="RdBu_r", vmin=0, vmax=1, shading="auto")
        ax.contour(xs, ys, values, levels=[0.5], colors="0.2", linewidths=0.8)
        label = "D(x): probability that x is real"
    else:
        mesh = ax.pcolormesh(xs, ys, values, cmap="viridis", shading="auto")
        label = "critic score D(x)"
    fig.colorbar(mesh, ax=ax, label=label)
    finite = samples[np.isfinite(samples).all(axis=1)]
    dots = "k" if probabilities else "w"  # seen on white-at-1/2, and on a dark critic scale
    ax.scatter(finite[:, 0], finite[:, 1], s=2, c=dots, alpha=0.35, linewidths=0, rasterized=True)
    if centers is not None and len(centers):
        ax.scatter(centers[:, 0], centers[:, 1], marker="x", s=50, c=_CENTER_COLOR, linewidths=1.5)
    ax.set_xlim(*lims[0])
    ax.set_ylim(*lims[1])
    ax.set_aspect("equal", adjustable="box")
    ax.set_title(title, fontsize=11)
    fig.tight_layout()
    _save_fig(fig, path)
    return probabilities
