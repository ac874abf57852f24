"""Differentiable augmentation (DiffAugment; Zhao, Liu, Lin, Zhu and Han 2020, "Differentiable
Augmentation for Data-Efficient GAN Training", NeurIPS), and `Augment`, the option that turns it on.

With little data D memorises the real images and its feedback to G stops meaning anything. The
paper's remedy: every image D sees, real and fake, in D's step and in G's, goes through the same
kind of random transformation, and the transformations are differentiable, so G's gradient reaches
it through them. Augmenting only the reals would teach G to draw augmented images; augmenting the
fakes only in D's step would leave G's step a different game. The policies are the paper's:

    color        brightness + U(-0.5, 0.5), saturation x U(0, 2), contrast x U(0.5, 1.5)
    translation  by up to 1/8 of each side, in whole pixels, the uncovered border zero
    cutout       a square of half the side set to 0, centred anywhere (clipped at the border)

Images are [N, C, H, W] in [-1, 1] (the ranges above are for that scale). Every draw is one per
sample, from a `torch.Generator` on the CPU, so a run gives the same augmentations on every
device, and a checkpoint of the generator's state resumes a run bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from gankit.options import option

POLICIES = ("color", "translation", "cutout")


@dataclass
class Augment:
    """The DiffAugment option of an image model (a config part): a comma-separated policy such
    as "color,translation,cutout" (the paper's choice for small data sets), "" for none."""

    augment: str = option("", parts=POLICIES)


def policy_parts(policy: str) -> tuple[str, ...]:
    """ "color, translation" -> ("color", "translation"); "" -> (). Names are checked by the
    config's option rule (`Augment.augment`), so here they are only split."""
    return tuple(p.strip() for p in policy.split(",")) if policy.strip() else ()


# ------------------------------------------------------------ the transformations
# Each takes the images and its per-sample parameters, so a test can give them by hand; the
# parameters are drawn below. All are per sample: no image's result depends on another's, so
# real and fake may be augmented in one batch.


def _per_sample(v: Tensor, x: Tensor) -> Tensor:
    """[N] parameters as [N, 1, 1, 1] on x's device and dtype, to broadcast over an image."""
    return v.to(device=x.device, dtype=x.dtype).view(-1, 1, 1, 1)


def brightness(x: Tensor, shift: Tensor) -> Tensor:
    """x + shift per image; shift in [-0.5, 0.5)."""
    return x + _per_sample(shift, x)


def saturation(x: Tensor, factor: Tensor) -> Tensor:
    """Each pixel's colour pulled towards (factor < 1) or pushed from (> 1) its grey, the mean
    over channels; factor in [0, 2). A grey image (one channel) is unchanged."""
    grey = x.mean(dim=1, keepdim=True)
    return (x - grey) * _per_sample(factor, x) + grey


def contrast(x: Tensor, factor: Tensor) -> Tensor:
    """Each image scaled about its own mean by factor in [0.5, 1.5)."""
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * _per_sample(factor, x) + mean


def translate(x: Tensor, dy: Tensor, dx: Tensor) -> Tensor:
    """Image i moved down by dy[i] and right by dx[i] whole pixels (negative: up, left); what
    comes in from outside is 0.

    A gather rather than a roll of each image: one kernel for the batch, and the gradient of
    each output pixel flows back to the input pixel it came from.
    """
    n, c, h, w = x.shape
    dy, dx = dy.to(x.device).view(n, 1, 1), dx.to(x.device).view(n, 1, 1)
    # the source of output pixel (r, q) is (r - dy, q - dx)
    rows = torch.arange(h, device=x.device).view(1, h, 1) - dy
    cols = torch.arange(w, device=x.device).view(1, 1, w) - dx
    inside = (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)  # [n, h, w]
    source = rows.clamp(0, h - 1) * w + cols.clamp(0, w - 1)
    index = source.view(n, 1, h * w).expand(n, c, h * w)
    moved = x.reshape(n, c, h * w).gather(2, index).view(n, c, h, w)
    return torch.where(inside.unsqueeze(1), moved, moved.new_zeros(()))


def cutout(x: Tensor, cy: Tensor, cx: Tensor) -> Tensor:
    """Image i with a square of half its side (H/2 x W/2) set to 0, centred at (cy[i], cx[i]);
    the part of the square outside the image is simply not there."""
    n, _, h, w = x.shape
    sh, sw = h // 2, w // 2
    top, left = cy.to(x.device).view(n, 1, 1) - sh // 2, cx.to(x.device).view(n, 1, 1) - sw // 2
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    hole = (rows >= top) & (rows < top + sh) & (cols >= left) & (cols < left + sw)  # [n, h, w]
    return torch.where(hole.unsqueeze(1), x.new_zeros(()), x)


# ------------------------------------------------------------ the draws


def _uniform(n: int, low: float, high: float, g: torch.Generator) -> Tensor:
    return torch.rand(n, generator=g) * (high - low) + low


def draw(policy: tuple[str, ...], n: int, size: tuple[int, int], g: torch.Generator) -> dict:
    """The random parameters of `policy` for n images of `size` (H, W), from g, on the CPU:
    {name: [n] tensor}. Drawn in the policy's order, so a policy is one stream of draws."""
    h, w = size
    params: dict[str, Tensor] = {}
    for part in policy:
        if part == "color":
            params["brightness"] = _uniform(n, -0.5, 0.5, g)
            params["saturation"] = _uniform(n, 0.0, 2.0, g)
            params["contrast"] = _uniform(n, 0.5, 1.5, g)
        elif part == "translation":
            # at most 1/8 of the side either way (0 on images under 8 pixels)
            params["dy"] = torch.randint(-(h // 8), h // 8 + 1, (n,), generator=g)
            params["dx"] = torch.randint(-(w // 8), w // 8 + 1, (n,), generator=g)
        elif part == "cutout":
            # centres from 0 to the side (the paper's range), so the square may stick out
            # by up to a quarter of the side: the border is cut as often as the middle
            params["cy"] = torch.randint(0, h + 1 - (h // 2) % 2, (n,), generator=g)
            params["cx"] = torch.randint(0, w + 1 - (w // 2) % 2, (n,), generator=g)
        else:
            raise ValueError(f"unknown augmentation {part!r}; choose from {', '.join(POLICIES)}")
    return params


def apply(x: Tensor, policy: tuple[str, ...], params: dict) -> Tensor:
    """x through the transformations of `policy`, in its order, with parameters from `draw`."""
    steps: dict[str, Callable[[Tensor], Tensor]] = {
        "color": lambda t: contrast(
            saturation(brightness(t, params["brightness"]), params["saturation"]),
            params["contrast"],
        ),
        "translation": lambda t: translate(t, params["dy"], params["dx"]),
        "cutout": lambda t: cutout(t, params["cy"], params["cx"]),
    }
    for part in policy:
        x = steps[part](x)
    return x


def diff_augment(
    x: Tensor, policy: tuple[str, ...], g: torch.Generator, rank: int = 0, world: int = 1
) -> Tensor:
    """x [N, C, H, W] with fresh random transformations of `policy` drawn from g.

    In a distributed run (process `rank` of `world`), each process draws the parameters of the
    global batch (N * world images) and keeps its own rows, as it does noise: every process's
    generator stays in the same state, so rank 0's checkpoint of it serves all.
    """
    if not policy:
        return x
    n = x.shape[0]
    params = draw(policy, n * world, (x.shape[2], x.shape[3]), g)
    if world > 1:
        params = {k: v[rank * n : (rank + 1) * n] for k, v in params.items()}
    return apply(x, policy, params)
