"""Paired-translation metrics (pix2pix, Isola et al. 2017): L1, SSIM (Wang et al. 2004) and PSNR
of G(a) against the target b over the test pairs, computed by torchmetrics."""

from __future__ import annotations

import torch
from torch import Tensor

from gankit.errors import MetricError
from gankit.metrics.features import quantize
from gankit.registry import register_metric

DEFAULT_N = 10_000
CHUNK = 250


def _needs_pairs(data) -> None:
    if data.info().get("kind") != "paired":
        raise MetricError(
            f"metric 'translation' needs paired data (edges2fashion, edges2digits, gray2color, "
            f"paired-folder), not {data.cfg.name!r}; name another metric"
        )


def translate_all(model, x: Tensor, direction: str = "AtoB", chunk: int = CHUNK) -> Tensor:
    """model.translate over x [N, C, H, W] in chunks, on the CPU."""
    return torch.cat([model.translate(c, direction).cpu() for c in x.split(chunk)])


def to_unit(x: Tensor) -> Tensor:
    """Images in [-1, 1] -> [0, 1], rounded to 8 bits as a saved PNG would be."""
    return quantize(x).float() / 255


def paired_scores(fake: Tensor, real: Tensor) -> dict[str, float]:
    """Mean absolute error, SSIM (11x11 Gaussian window, sigma 1.5) and mean per-image PSNR of
    images in [-1, 1], all on the [0, 1] scale (data_range 1)."""
    from torchmetrics.functional.image import (  # lazy: torchmetrics takes seconds to import
        peak_signal_noise_ratio,
        structural_similarity_index_measure,
    )

    fake, real = to_unit(fake), to_unit(real)
    psnr = peak_signal_noise_ratio(fake, real, data_range=1.0, dim=(1, 2, 3), reduction="none")
    return {
        "l1": float((fake - real).abs().mean()),
        "ssim": float(structural_similarity_index_measure(fake, real, data_range=1.0)),
        "psnr": float(psnr.mean()),
    }


@register_metric("translation")
def translation(model, data, n: int = DEFAULT_N, seed: int = 0) -> dict[str, float | str]:
    """L1, SSIM and PSNR of translated test inputs against their targets (higher SSIM and PSNR,
    lower L1 are closer; none of them rewards sharpness: a blurry mean scores well)."""
    _needs_pairs(data)
    split = "test" if data.test is not None else "train"
    a, b = data.pairs(n, split)
    scores = paired_scores(translate_all(model, a), b)
    protocol = (
        f"n={len(a)} pairs ref={data.cfg.name} {split}, 8-bit [0, 1] images; "
        "SSIM gaussian 11x11 sigma 1.5, PSNR per image then mean (torchmetrics)"
    )
    return {**scores, "translation_protocol": protocol}


translation.check = _needs_pairs
