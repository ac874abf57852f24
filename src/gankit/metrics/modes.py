"""Mode coverage, high-quality rate and reverse KL of the Unrolled GAN / VEEGAN / PacGAN protocol."""  # noqa: E501

from __future__ import annotations

import math
import numbers

import torch
from torch import Tensor

from gankit.errors import MetricError

DEFAULT_SAMPLES = 2500
"""Number of generated samples the protocol scores (Metz et al. 2016; Srivastava et al. 2017)."""


def _shape(x: object) -> str:
    shape = getattr(x, "shape", None)
    return str(tuple(shape)) if shape is not None else type(x).__name__


def mode_metrics(
    samples: Tensor, centers: Tensor, std: float, threshold: float = 3.0
) -> dict[str, float]:
    """Score samples of a Gaussian mixture: modes covered, % high quality and reverse KL.

    A sample is high quality (HQ) if its Euclidean distance to its nearest centre is at most
    ``threshold * std`` (ties between equidistant centres go to the lower index); non-finite
    samples are never HQ. A mode is covered if it is the nearest centre of at least one HQ
    sample. With q the histogram of HQ samples over their nearest modes, the reverse KL is
    KL(q || uniform over the M modes) = sum over q_i > 0 of q_i * log(q_i * M) (natural log).

    If no sample is HQ, q is undefined; we then report modes = 0, hq_pct = 0 and
    rev_kl = log(M), the KL of a point mass, i.e. the worst value any covered distribution
    can reach, so a run that produces nothing near any mode never scores better than one
    that collapses onto a single mode.

    Args:
        samples: generated points [N, D] (the protocol uses N = ``DEFAULT_SAMPLES``).
        centers: mixture centres [M, D].
        std: standard deviation of each mixture component.
        threshold: HQ radius in units of ``std`` (3 in the literature).

    Returns:
        {"modes": covered modes (as float), "hq_pct": 100 * HQ fraction, "rev_kl": reverse KL}.

    Raises:
        MetricError: if the shapes do not match or std / threshold are not valid numbers.
    """
    if not isinstance(centers, Tensor) or centers.ndim != 2 or centers.shape[0] < 1:
        raise MetricError(
            f"mode metrics need mixture centres of shape [modes, dims] with at least one mode, "
            f"got {_shape(centers)}; pass the data set's centres, e.g. ring_centers(8)"
        )
    dims = centers.shape[1]
    if not isinstance(samples, Tensor) or samples.ndim != 2 or samples.shape[1] != dims:
        raise MetricError(
            f"mode metrics need samples of shape [N, {dims}] to match centres {_shape(centers)}, "
            f"got {_shape(samples)}; score a generator trained on this {dims}-D mixture"
        )
    if samples.shape[0] < 1:
        raise MetricError(
            f"mode metrics need at least one sample, got shape {_shape(samples)}; "
            f"draw samples first (the protocol uses {DEFAULT_SAMPLES})"
        )
    for name, value in (("std", std), ("threshold", threshold)):
        if (
            not isinstance(value, numbers.Real)
            or isinstance(value, bool)
            or not math.isfinite(value)
            or value <= 0
        ):
            raise MetricError(
                f"mode metrics need {name} to be a finite number > 0, got {value!r}; "
                "pass the mixture's std and a threshold such as 3.0"
            )
    if samples.is_complex() or centers.is_complex():
        raise MetricError("mode metrics need real-valued samples and centres; drop imaginary parts")

    n_modes = centers.shape[0]
    samples = samples.detach().to(torch.float64)
    centers = centers.detach().to(device=samples.device, dtype=torch.float64)

    finite = torch.isfinite(samples).all(dim=1)
    good = samples[finite]
    radius = float(threshold) * float(std)
    if good.shape[0] > 0:
        # The direct (non-matmul) distance keeps exact boundary points exact.
        dist = torch.cdist(good, centers, compute_mode="donot_use_mm_for_euclid_dist")
        nearest_dist, nearest = dist.min(dim=1)
        hq = nearest_dist <= radius
        counts = torch.bincount(nearest[hq], minlength=n_modes)
    else:
        counts = torch.zeros(n_modes, dtype=torch.long, device=samples.device)

    n_hq = int(counts.sum())
    if n_hq == 0:
        return {"modes": 0.0, "hq_pct": 0.0, "rev_kl": math.log(n_modes)}

    q = counts[counts > 0].to(torch.float64) / n_hq
    rev_kl = float((q * torch.log(q * n_modes)).sum())
    return {
        "modes": float((counts > 0).sum()),
        "hq_pct": 100.0 * n_hq / samples.shape[0],
        "rev_kl": max(rev_kl, 0.0),  # KL >= 0; clip rounding noise
    }
