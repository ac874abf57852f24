"""Pictures of a trained image generator: latent interpolations and nearest training images."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from gankit.viz.plots import save_snapshot

INTERPOLATION = "interpolation.png"
NEAREST = "nearest.png"


def slerp(z0: Tensor, z1: Tensor, t: Tensor) -> Tensor:
    """Spherical interpolation [N, D] x [N, D] x [T] -> [N, T, D]; keeps |z| typical of N(0, I)
    along the path, where a straight line would pass through improbably short vectors."""
    cos = (z0 * z1).sum(1, keepdim=True) / (
        z0.norm(dim=1, keepdim=True) * z1.norm(dim=1, keepdim=True)
    )
    omega = torch.acos(cos.clamp(-1 + 1e-7, 1 - 1e-7))[:, None]  # [N, 1, 1]
    t = t[None, :, None]
    w0, w1 = torch.sin((1 - t) * omega), torch.sin(t * omega)
    return (w0 * z0[:, None] + w1 * z1[:, None]) / torch.sin(omega)


@torch.no_grad()
def interpolations(model, rows: int = 8, steps: int = 10, seed: int = 0) -> Tensor:
    """[rows * steps, C, H, W]: each row walks from one z to another (a conditional model keeps
    one class per row). Smooth rows mean G learnt a continuous map, not a look-up table."""
    g = torch.Generator().manual_seed(seed)
    z0, z1 = model.noise(rows, g).cpu(), model.noise(rows, g).cpu()
    z = slerp(z0, z1, torch.linspace(0, 1, steps)).reshape(rows * steps, -1)
    labels = None
    if model.num_classes:
        labels = (torch.arange(rows) % model.num_classes).repeat_interleave(steps)
    return model.sample(z=z, labels=labels).cpu()


def nearest_images(samples: Tensor, chunks) -> Tensor:
    """Each sample's closest image [N, ...] in pixel L2 distance among the images of `chunks`
    (an iterable of (images, labels) pieces, as `reference_chunks` gives): one piece in memory
    at a time, so the training set need not fit."""
    s = samples.flatten(1).float()
    best_d = torch.full((len(s),), float("inf"))
    nearest = torch.zeros_like(samples)
    for train, _ in chunks:
        val, idx = torch.cdist(s, train.flatten(1).float()).min(dim=1)
        better = val < best_d
        best_d[better], nearest[better] = val[better], train[idx[better]].to(samples.dtype)
    return nearest


def nearest_panel(model, data, n: int = 16, n_train: int = 10_000, seed: int = 0) -> Tensor:
    """[2n, C, H, W]: samples interleaved with their nearest training images (pairs side by side),
    to show that G does not reproduce its training set."""
    x = model.sample(n, seed=seed).cpu()
    nearest = nearest_images(x, data.reference_chunks(n_train, "train"))
    return torch.stack([x, nearest], dim=1).reshape(2 * n, *x.shape[1:])


def save_final_pictures(model, data, folder: Path, seed: int = 0) -> list[Path]:
    """Writes the interpolation and nearest-neighbour pictures for image data; none otherwise."""
    if data.info().get("kind") != "images":
        return []
    folder.mkdir(parents=True, exist_ok=True)
    steps = 10
    save_snapshot(
        interpolations(model, steps=steps, seed=seed), folder / INTERPOLATION,
        "latent interpolations (slerp)", nrow=steps,
    )  # fmt: skip
    save_snapshot(
        nearest_panel(model, data, seed=seed), folder / NEAREST,
        "samples (left) beside their nearest training images", nrow=8,
    )  # fmt: skip
    return [folder / INTERPOLATION, folder / NEAREST]
