"""Music metrics on binary piano rolls: MuseGAN's (Dong et al. 2018) empty bars, used pitch
classes per bar, qualified notes and polyphony, muspy's (Dong et al. 2020) scale consistency,
a pitch-class histogram distance, and test-set NLL for models with a likelihood.

Computed here on the rolls with numpy rather than with muspy: muspy (0.5, which imports fine
with numpy 2) measures a `Music` object that ends at its last note, so trailing empty bars of a
fixed-length segment would not count as empty. The definitions follow muspy's and MuseGAN's; each
metric returns a `*_protocol` string that says exactly what was counted.
"""

from __future__ import annotations

import numpy as np
import torch

from gankit.errors import MetricError
from gankit.registry import register_metric

DEFAULT_N = 1000  # generated segments per evaluation
MAJOR = np.array([0, 2, 4, 5, 7, 9, 11])  # a major scale (and its relative natural minor)


# ------------------------------------------------------------------ statistics of rolls


def binarize(x) -> np.ndarray:
    """Samples [N, 1, T, P] (or [N, T, P]) in [-1, 1] -> bool [N, T, P]: a note sounds where > 0."""
    a = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    return (a.reshape(len(a), *a.shape[-2:]) > 0) if len(a) else np.zeros((0, 1, 1), bool)


def note_runs(rolls: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every note of bool rolls [N, T, P] as (sample, pitch row, length in steps), flat arrays;
    a note is a maximal run of sounding steps of one pitch."""
    n, t, p = rolls.shape
    seqs = rolls.transpose(0, 2, 1).reshape(n * p, t).astype(np.int8)  # one row per (sample, pitch)
    diff = np.diff(np.pad(seqs, ((0, 0), (1, 1))), axis=1)
    rows, starts = np.nonzero(diff == 1)  # row-major: runs come in order within each row
    _, ends = np.nonzero(diff == -1)
    return rows // p, rows % p, ends - starts


def pitch_class_counts(rolls: np.ndarray, pitch_low: int) -> np.ndarray:
    """Notes per pitch class [N, 12] of each roll (C = 0)."""
    sample, row, _ = note_runs(rolls)
    counts = np.zeros((len(rolls), 12))
    np.add.at(counts, (sample, (row + pitch_low) % 12), 1)
    return counts


def empty_bar_rate(rolls: np.ndarray, steps_per_bar: int) -> float:
    """Share of bars in which no note sounds."""
    n, t, p = rolls.shape
    bars = rolls[:, : t - t % steps_per_bar].reshape(n, -1, steps_per_bar, p)
    return float(1 - bars.any(axis=(2, 3)).mean())


def pitch_classes_per_bar(rolls: np.ndarray, steps_per_bar: int, pitch_low: int) -> float:
    """Mean number of distinct pitch classes sounding in a bar (0..12), empty bars included."""
    n, t, p = rolls.shape
    used = rolls[:, : t - t % steps_per_bar].reshape(n, -1, steps_per_bar, p).any(2)  # [N, B, P]
    classes = np.zeros((*used.shape[:2], 12), dtype=bool)
    for row in range(p):
        classes[..., (row + pitch_low) % 12] |= used[..., row]
    return float(classes.sum(-1).mean())


def qualified_note_rate(rolls: np.ndarray, min_steps: int) -> float:
    """Share of notes at least `min_steps` long (0 when there are no notes)."""
    lengths = note_runs(rolls)[2]
    return float((lengths >= min_steps).mean()) if len(lengths) else 0.0


def polyphony(rolls: np.ndarray) -> float:
    """Mean number of sounding pitches over the steps where at least one sounds (muspy's)."""
    per_step = rolls.sum(-1)
    sounding = per_step[per_step > 0]
    return float(sounding.mean()) if len(sounding) else 0.0


def in_scale_ratio(rolls: np.ndarray, pitch_low: int) -> float:
    """Mean over rolls with notes of the largest share of their notes in one major scale (the
    12 major keys; a natural minor scale is its relative major's set): muspy's scale
    consistency."""
    counts = pitch_class_counts(rolls, pitch_low)
    total = counts.sum(1)
    keep = total > 0
    if not keep.any():
        return 0.0
    in_key = np.stack([counts[:, (MAJOR + k) % 12].sum(1) for k in range(12)], 1)  # [N, 12]
    return float((in_key.max(1)[keep] / total[keep]).mean())


def pc_histogram(rolls: np.ndarray, pitch_low: int) -> np.ndarray:
    """The pitch-class histogram [12] of all notes of a set of rolls, summing to 1."""
    counts = pitch_class_counts(rolls, pitch_low).sum(0)
    return counts / counts.sum() if counts.sum() else np.full(12, 1 / 12)


def pc_hist_distance(rolls: np.ndarray, reference: np.ndarray, pitch_low: int) -> float:
    """Total variation (half the L1 distance, 0..1) between two sets' pitch-class histograms."""
    return float(
        0.5 * np.abs(pc_histogram(rolls, pitch_low) - pc_histogram(reference, pitch_low)).sum()
    )


def roll_grid(info: dict) -> tuple[int, int, int]:
    """(steps per bar, minimum steps of a qualified note, lowest pitch) of a music data set."""
    res = int(info["resolution"])
    return res * int(info.get("beats_per_bar", 4)), max(1, (res + 1) // 2), int(info["pitch_low"])


def roll_metrics(rolls: np.ndarray, reference: np.ndarray, info: dict) -> dict[str, float]:
    """Every sample statistic of bool rolls [N, T, P], against `reference` rolls for the
    pitch-class histogram distance; keys as the registered metrics return them."""
    spb, min_steps, low = roll_grid(info)
    return {
        "empty_bar_rate": empty_bar_rate(rolls, spb),
        "pitch_classes_per_bar": pitch_classes_per_bar(rolls, spb, low),
        "qualified_note_rate": qualified_note_rate(rolls, min_steps),
        "polyphony": polyphony(rolls),
        "in_scale_ratio": in_scale_ratio(rolls, low),
        "pc_hist_distance": pc_hist_distance(rolls, reference, low),
    }


# ------------------------------------------------------------------ registered metrics


def _needs_music(data) -> None:
    if data.info().get("kind") != "music":
        raise MetricError(
            f"music metrics need a music data set (jsb-chorales, bach-music21, midi-folder), "
            f"not {data.cfg.name!r}"
        )


def protocols(info: dict, n: int, seed: int) -> dict[str, str]:
    """What each number is, for metrics.jsonl: samples, grid, and the definition's details."""
    spb, min_steps, _ = roll_grid(info)
    base = f"{n} generated segments (seed {seed}), binarised at 0"
    return {
        "empty_bar_rate_protocol": f"{base}; share of {spb}-step bars with no note",
        "pitch_classes_per_bar_protocol": f"{base}; distinct pitch classes per bar, all bars",
        "qualified_note_rate_protocol": (
            f"{base}; share of notes (runs of one pitch) of at least {min_steps} steps "
            f"(an 8th note; MuseGAN's 32nd is below one step of this grid)"
        ),
        "polyphony_protocol": f"{base}; mean pitches sounding over steps with any (muspy's)",
        "in_scale_ratio_protocol": (
            f"{base}; per segment the largest share of its notes in one major scale, mean "
            "(muspy's scale consistency)"
        ),
        "pc_hist_distance_protocol": (
            f"{base}; total variation between pitch-class histograms of all notes, samples vs "
            "the whole train split"
        ),
    }


def music_metrics(model, data, n: int, seed: int, keys: tuple[str, ...]) -> dict[str, float | str]:
    """The named statistics of n samples of `model`, with their protocols."""
    _needs_music(data)
    info = data.info()
    rolls = binarize(model.sample(n, seed=seed))
    reference = binarize(data.reference(10**9, "train")[0])
    stats = roll_metrics(rolls, reference, info)
    about = protocols(info, n, seed)
    return {
        k: v
        for key in keys
        for k, v in ((key, stats[key]), (f"{key}_protocol", about[f"{key}_protocol"]))
    }


def _register(name: str, keys: tuple[str, ...], doc: str) -> None:
    def metric(model, data, n: int = DEFAULT_N, seed: int = 0) -> dict[str, float | str]:
        return music_metrics(model, data, n, seed, keys)

    metric.check = _needs_music  # lets a run fail before training, not after
    register_metric(name, help=doc)(metric)


ALL_KEYS = (
    "empty_bar_rate",
    "pitch_classes_per_bar",
    "qualified_note_rate",
    "polyphony",
    "in_scale_ratio",
    "pc_hist_distance",
)
_register("music", ALL_KEYS, "All six piano-roll statistics below, from one set of samples")
_register("empty-bars", ("empty_bar_rate",), "Share of bars without notes (MuseGAN)")
_register("pitch-classes", ("pitch_classes_per_bar",), "Pitch classes used per bar (MuseGAN)")
_register("qualified-notes", ("qualified_note_rate",), "Share of notes of an 8th or longer")
_register("polyphony", ("polyphony",), "Mean pitches sounding at once (muspy)")
_register("in-scale", ("in_scale_ratio",), "Share of notes in the best major scale (muspy)")
_register("pc-distance", ("pc_hist_distance",), "Pitch-class histogram distance to the data")


def _needs_test_split(data) -> None:
    _needs_music(data)
    if "test" not in data.info()["splits"]:
        raise MetricError(f"metric test-nll needs a test split; {data.cfg.name!r} has none")


@register_metric("test-nll")
def test_nll(model, data, n: int = DEFAULT_N, seed: int = 0) -> dict[str, float | str]:
    """Test-set NLL in nats per time step, for models with a likelihood (music-rnn)."""
    _needs_test_split(data)
    if not hasattr(model, "test_nll"):
        raise MetricError(
            f"metric test-nll needs a model with a likelihood (music-rnn); "
            f"{model.cfg.name!r} has none"
        )
    x = data.reference(10**9, "test")[0]
    nll = torch.cat([model.test_nll(chunk) for chunk in x.split(256)])
    return {
        "test_nll": float(nll.mean()),
        "test_nll_protocol": (
            f"all {len(x)} test segments; nats per time step (sum over pitches of Bernoulli "
            "NLL, mean over steps and segments)"
        ),
    }


test_nll.check = _needs_test_split
