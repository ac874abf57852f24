"""Evaluation metrics; each takes a model and its data source and returns named numbers."""

from __future__ import annotations

import torch

from gankit.errors import MetricError
from gankit.metrics.modes import DEFAULT_SAMPLES, mode_metrics
from gankit.registry import METRICS, register_metric


@register_metric("modes")
def modes(model, data, n: int = DEFAULT_SAMPLES, seed: int = 0) -> dict[str, float]:
    """Modes covered, % high-quality samples and reverse KL on a 2-D mixture (2,500 samples)."""
    info = data.info()
    if "centers" not in info:
        raise MetricError(
            "metric 'modes' needs a Gaussian mixture data set (ring, grid or mixture), "
            f"not {data.cfg.name!r}"
        )
    z = model.noise(n, generator=torch.Generator().manual_seed(seed))
    x = model.sample(z=z).cpu()
    return mode_metrics(x, torch.tensor(info["centers"]), info["std"])


def evaluate(model, data, names: list[str], n: int, seed: int = 0) -> dict[str, float]:
    """Runs the named metrics; keys come back prefixed `eval/`."""
    out: dict[str, float] = {}
    for name in names:
        for key, value in METRICS.get(name)(model, data, n=n, seed=seed).items():
            out[f"eval/{key}"] = float(value)
    return out
