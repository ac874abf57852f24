"""Evaluation metrics; each takes a model and its data source and returns named numbers
(and `*_protocol` strings that say how they were measured)."""

from __future__ import annotations

from collections.abc import Callable

import torch

from gankit.errors import MetricError
from gankit.metrics import features, images, music, text, translation  # noqa: F401  (register)
from gankit.metrics.modes import DEFAULT_SAMPLES, mode_metrics
from gankit.registry import METRICS, register_metric


def _needs_mixture(data) -> None:
    if "centers" not in data.info():
        raise MetricError(
            "metric 'modes' needs a Gaussian mixture data set (ring, grid or mixture), "
            f"not {data.cfg.name!r}; name another metric or data set"
        )


@register_metric("modes")
def modes(model, data, n: int = DEFAULT_SAMPLES, seed: int = 0) -> dict[str, float]:
    """Modes covered, % high-quality samples and reverse KL on a 2-D mixture (2,500 samples)."""
    _needs_mixture(data)
    info = data.info()
    x = model.sample(n, seed=seed).cpu()
    return mode_metrics(x, torch.tensor(info["centers"]), info["std"])


modes.check = _needs_mixture  # lets a run fail before training, not after


def check_metrics(names: list[str], data) -> None:
    """Fails early, with the fix, when a metric is unknown or does not fit the data."""
    for name in names:
        check = getattr(METRICS.get(name), "check", None)
        if check is not None:
            check(data)


def evaluate(
    model,
    data,
    names: list[str],
    n: int,
    seed: int = 0,
    report: Callable[[str], None] | None = None,
) -> dict[str, float | str]:
    """Runs the named metrics; keys come back prefixed `eval/`.

    Numbers come back as floats; strings (a metric's protocol, e.g. `eval/fid_protocol`) as
    they are. `report`, when given, hears what is being computed ("fid: 750 images").
    """
    out: dict[str, float | str] = {}
    for name in names:
        seen = 0

        def count(k: int, name: str = name) -> None:
            nonlocal seen
            seen += k
            report(f"{name}: {seen} images")

        if report is not None:
            report(f"{name} ...")
        with features.progress(count if report is not None else None):
            results = METRICS.get(name)(model, data, n=n, seed=seed)
        for key, value in results.items():
            out[f"eval/{key}"] = value if isinstance(value, str) else float(value)
    return out
