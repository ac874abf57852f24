"""Tests for the toy Gaussian mixtures (gankit.data.toy) and their mode metrics."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gankit.data.toy import (
    check_mixture,
    grid_centers,
    load_points,
    ring_centers,
    sample_mixture,
)
from gankit.errors import DataError, MetricError
from gankit.metrics.modes import DEFAULT_SAMPLES, mode_metrics

# ---------------------------------------------------------------------------- centres


def test_ring_centers_at_exact_angles():
    c = ring_centers(8, radius=1.0)
    assert c.shape == (8, 2) and c.dtype == torch.float32
    torch.testing.assert_close(c[0], torch.tensor([1.0, 0.0]), atol=1e-6, rtol=0)
    torch.testing.assert_close(c[2], torch.tensor([0.0, 1.0]), atol=1e-6, rtol=0)
    torch.testing.assert_close(c[4], torch.tensor([-1.0, 0.0]), atol=1e-6, rtol=0)
    s = math.sqrt(0.5)
    torch.testing.assert_close(c[1], torch.tensor([s, s]), atol=1e-6, rtol=0)
    assert torch.allclose(c.norm(dim=1), torch.ones(8))
    assert torch.cdist(c, c).add(torch.eye(8) * 10).min() > 0.7  # 8 distinct points


def test_ring_centers_radius_and_count():
    c = ring_centers(3, radius=2.0)
    assert c.shape == (3, 2)
    torch.testing.assert_close(c[0], torch.tensor([2.0, 0.0]))
    angle = 2 * math.pi / 3
    torch.testing.assert_close(c[1], torch.tensor([2 * math.cos(angle), 2 * math.sin(angle)]))
    with pytest.raises(DataError, match="n_modes"):
        ring_centers(0)


def test_grid_centers():
    c = grid_centers()
    assert c.shape == (25, 2) and c.dtype == torch.float32
    assert len({tuple(p) for p in c.tolist()}) == 25
    expected = {-4.0, -2.0, 0.0, 2.0, 4.0}
    assert set(c[:, 0].tolist()) == expected and set(c[:, 1].tolist()) == expected
    assert {tuple(p) for p in c.tolist()} == {(x, y) for x in expected for y in expected}
    assert grid_centers((0, 1)).tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]


# ---------------------------------------------------------------------------- sampling


def test_sample_mixture_reproducible_from_generator_state():
    centers = ring_centers(8)
    g = torch.Generator().manual_seed(123)
    a = sample_mixture(centers, 0.02, 500, generator=g)
    state = g.get_state()
    b = sample_mixture(centers, 0.02, 500, generator=g)
    assert a.shape == (500, 2) and a.dtype == torch.float32
    assert not torch.equal(a, b)
    torch.testing.assert_close(
        a, sample_mixture(centers, 0.02, 500, torch.Generator().manual_seed(123)), rtol=0, atol=0
    )
    g.set_state(state)
    torch.manual_seed(999)  # the global RNG must not matter
    torch.testing.assert_close(b, sample_mixture(centers, 0.02, 500, generator=g), rtol=0, atol=0)


def test_sample_mixture_statistics():
    centers = ring_centers(8)
    std, n = 0.05, 40_000
    x = sample_mixture(centers, std, n, torch.Generator().manual_seed(0))
    dist, idx = torch.cdist(x, centers).min(dim=1)
    assert dist.max() < 6 * std  # every sample sits near one centre
    freq = torch.bincount(idx, minlength=8).double() / n
    assert (freq - 1 / 8).abs().max() < 0.01  # ~5 binomial std errors
    residual = x - centers[idx]
    assert residual.mean(dim=0).abs().max() < 0.002
    torch.testing.assert_close(residual.std(dim=0), torch.full((2,), std), rtol=0.03, atol=0)


def test_sample_mixture_grid_and_zero():
    x = sample_mixture(grid_centers(), 0.1, 0, torch.Generator().manual_seed(0))
    assert x.shape == (0, 2)
    x = sample_mixture(grid_centers(), 0.0, 100, torch.Generator().manual_seed(0))
    assert set(map(tuple, x.tolist())) <= set(map(tuple, grid_centers().tolist()))


# ---------------------------------------------------------------------------- check_mixture


def test_check_mixture_accepts_pairs():
    c = check_mixture([[0, 0], [1, 1.5]], 0.1)
    assert c.dtype == torch.float32 and c.tolist() == [[0.0, 0.0], [1.0, 1.5]]
    assert check_mixture(((2, 3),), 1).tolist() == [[2.0, 3.0]]


@pytest.mark.parametrize(
    "centers, std",
    [
        ([], 0.1),
        ("[[0,0]]", 0.1),
        (5, 0.1),
        ([[0, 0, 0]], 0.1),
        ([[0]], 0.1),
        ([[0, "a"]], 0.1),
        ([[0, float("nan")]], 0.1),
        ([[0, float("inf")]], 0.1),
        ([[True, 0]], 0.1),
        ([[0, 0]], 0.0),
        ([[0, 0]], -1.0),
        ([[0, 0]], float("nan")),
        ([[0, 0]], "0.1"),
    ],
)
def test_check_mixture_rejects(centers, std):
    with pytest.raises(DataError) as info:
        check_mixture(centers, std)
    message = str(info.value)
    assert "\n" not in message and ";" in message  # one line: what is wrong; how to fix it


def test_check_mixture_message():
    with pytest.raises(DataError, match=r"data\.centers.*--set data\.centers="):
        check_mixture([1, 2], 0.1)


# ---------------------------------------------------------------------------- mode_metrics

RING = ring_centers(8)


def test_default_samples():
    assert DEFAULT_SAMPLES == 2500


def test_all_samples_on_one_centre():
    samples = RING[3].repeat(100, 1)
    m = mode_metrics(samples, RING, std=0.02)
    assert m == {"modes": 1.0, "hq_pct": 100.0, "rev_kl": pytest.approx(math.log(8))}


def test_samples_evenly_on_all_centres():
    samples = RING.repeat(5, 1)
    m = mode_metrics(samples, RING, std=0.02)
    assert m["modes"] == 8.0 and m["hq_pct"] == 100.0
    assert m["rev_kl"] == pytest.approx(0.0, abs=1e-12)


def test_uneven_hand_computed():
    # 4 HQ samples on modes 0, 0, 5, 7 of 8, plus 1 sample far from every mode.
    samples = torch.stack([RING[0], RING[0], RING[5], RING[7], torch.tensor([10.0, 10.0])])
    m = mode_metrics(samples, RING, std=0.02)
    expected = 0.5 * math.log(0.5 * 8) + 2 * 0.25 * math.log(0.25 * 8)
    assert m["modes"] == 3.0
    assert m["hq_pct"] == pytest.approx(80.0)
    assert m["rev_kl"] == pytest.approx(expected)


def test_samples_far_from_every_centre():
    samples = torch.full((50, 2), 5.0)
    m = mode_metrics(samples, RING, std=0.02)
    assert m == {"modes": 0.0, "hq_pct": 0.0, "rev_kl": pytest.approx(math.log(8))}


def test_threshold_boundary_is_inclusive():
    centers = torch.tensor([[0.0, 0.0], [10.0, 0.0]])
    std = 0.25  # threshold * std = 0.75, exactly representable
    at = torch.tensor([[0.75, 0.0], [10.0, -0.75]])
    past = torch.tensor([[0.7501, 0.0], [10.0, -0.7501]])
    assert mode_metrics(at, centers, std) == {"modes": 2.0, "hq_pct": 100.0, "rev_kl": 0.0}
    assert mode_metrics(past, centers, std)["hq_pct"] == 0.0
    assert mode_metrics(past, centers, std, threshold=3.001)["hq_pct"] == 100.0


def test_threshold_on_ring_centre():
    std = 0.25
    at = RING[0] + torch.tensor([3 * std, 0.0])  # (1.75, 0): exact in float32
    past = RING[0] + torch.tensor([3 * std + 1e-4, 0.0])
    m = mode_metrics(torch.stack([at, past]), RING, std)
    assert m["hq_pct"] == 50.0 and m["modes"] == 1.0


def test_non_finite_samples_are_low_quality():
    nan = float("nan")
    samples = torch.tensor(
        [[1.0, 0.0], [nan, 0.0], [nan, nan], [float("inf"), 0.0], [0.0, -float("inf")]]
    )
    m = mode_metrics(samples, RING, std=0.02)
    assert m["modes"] == 1.0 and m["hq_pct"] == pytest.approx(20.0)
    assert m["rev_kl"] == pytest.approx(math.log(8))
    m = mode_metrics(torch.full((4, 2), nan), RING, std=0.02)
    assert m == {"modes": 0.0, "hq_pct": 0.0, "rev_kl": pytest.approx(math.log(8))}


def test_mode_metrics_on_real_mixture_samples():
    samples = sample_mixture(
        grid_centers(), 0.05, DEFAULT_SAMPLES, torch.Generator().manual_seed(1)
    )
    m = mode_metrics(samples, grid_centers(), 0.05)
    assert m["modes"] == 25.0
    assert m["hq_pct"] > 98.0  # P(|N(0, I_2)| <= 3) = 1 - exp(-4.5) ~ 98.9 %
    assert m["rev_kl"] < 0.02


@pytest.mark.parametrize(
    "samples, centers",
    [
        (torch.zeros(10), RING),
        (torch.zeros(10, 3), RING),
        (torch.zeros(2, 10, 2), RING),
        (torch.zeros(0, 2), RING),
        (torch.zeros(10, 2), torch.zeros(0, 2)),
        (torch.zeros(10, 2), torch.zeros(2)),
        (np.zeros((10, 2)), RING),
    ],
)
def test_mode_metrics_rejects_bad_shapes(samples, centers):
    with pytest.raises(MetricError) as info:
        mode_metrics(samples, centers, 0.02)
    assert "\n" not in str(info.value) and ";" in str(info.value)


@pytest.mark.parametrize("std, threshold", [(0.0, 3.0), (-1.0, 3.0), (float("nan"), 3.0), (0.1, 0)])
def test_mode_metrics_rejects_bad_std(std, threshold):
    with pytest.raises(MetricError):
        mode_metrics(torch.zeros(4, 2), RING, std, threshold)


# ---------------------------------------------------------------------------- load_points

POINTS = np.array([[0.0, 1.0], [2.5, -3.0], [4.0, 5.0]])


def test_load_npy(tmp_path):
    path = tmp_path / "pts.npy"
    np.save(path, POINTS)
    x = load_points(path)
    assert x.dtype == torch.float32 and x.shape == (3, 2)
    assert x.tolist() == POINTS.tolist()
    np.save(path, np.arange(12, dtype=np.int64).reshape(4, 3))
    assert load_points(str(path)).tolist() == np.arange(12).reshape(4, 3).tolist()


@pytest.mark.parametrize("header", ["", "x,y\n", '"x","y"\n'])
def test_load_csv(tmp_path, header):
    path = tmp_path / "pts.csv"
    path.write_text(header + "0,1\n2.5, -3\n4.0,5e0\n")
    x = load_points(path)
    assert x.dtype == torch.float32 and x.tolist() == POINTS.tolist()


def test_load_csv_single_column_and_trailing_blank(tmp_path):
    path = tmp_path / "pts.CSV"
    path.write_text("v\n1\n2\n\n")
    assert load_points(path).tolist() == [[1.0], [2.0]]


def _write(path, content):
    if isinstance(content, np.ndarray):
        with open(path, "wb") as fh:  # np.save would append .npy to other names
            np.save(fh, content, allow_pickle=True)
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)


BAD_FILES = {
    "garbled_npy": ("pts.npy", b"this is not numpy at all\n"),
    "text_csv_as_npy": ("pts.npy", "0,1\n2,3\n"),
    "truncated_npy": ("pts.npy", "TRUNCATE"),
    "pickle_npy": ("pts.npy", np.array([{"a": 1}, None], dtype=object)),
    "npz_as_npy": ("pts.npy", "NPZ"),
    "string_npy": ("pts.npy", np.array([["a", "b"], ["c", "d"]])),
    "one_d_npy": ("pts.npy", np.arange(6.0)),
    "three_d_npy": ("pts.npy", np.zeros((2, 3, 2))),
    "one_row_npy": ("pts.npy", np.zeros((1, 2))),
    "zero_rows_npy": ("pts.npy", np.zeros((0, 2))),
    "nan_npy": ("pts.npy", np.array([[0.0, 1.0], [np.nan, 2.0]])),
    "inf_npy": ("pts.npy", np.array([[0.0, 1.0], [1.0, np.inf]])),
    "overflow_npy": ("pts.npy", np.array([[0.0, 1.0], [1.0, 1e300]])),
    "empty_npy": ("pts.npy", b""),
    "empty_csv": ("pts.csv", ""),
    "header_only_csv": ("pts.csv", "x,y\n"),
    "blank_csv": ("pts.csv", "\n  \n"),
    "garbled_csv": ("pts.csv", "x,y\n0,1\n2,banana\n"),
    "ragged_csv": ("pts.csv", "0,1\n2,3,4\n"),
    "binary_csv": ("pts.csv", b"\xff\xfe\x00\x81garbage\x00"),
    "one_row_csv": ("pts.csv", "x,y\n0,1\n"),
    "nan_csv": ("pts.csv", "0,1\nnan,2\n"),
    "inf_csv": ("pts.csv", "0,1\n1,inf\n"),
    "unknown_ext": ("pts.txt", "0,1\n2,3\n"),
    "no_ext": ("pts", "0,1\n2,3\n"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_load_points_bad_files(tmp_path, case):
    name, content = BAD_FILES[case]
    path = tmp_path / name
    if isinstance(content, str) and content == "TRUNCATE":
        np.save(path, np.zeros((100, 2)))
        path.write_bytes(path.read_bytes()[:200])
    elif isinstance(content, str) and content == "NPZ":
        np.savez(tmp_path / "a.npz", x=POINTS)
        path.write_bytes((tmp_path / "a.npz").read_bytes())
    else:
        _write(path, content)
    with pytest.raises(DataError) as info:
        load_points(path)
    message = str(info.value)
    assert str(path) in message
    assert "\n" not in message and ";" in message
    assert info.value.__cause__ is None  # no numpy traceback chained


def test_load_points_missing_and_directory(tmp_path):
    missing = tmp_path / "nope.npy"
    with pytest.raises(DataError, match="does not exist") as info:
        load_points(missing)
    assert str(missing) in str(info.value)
    with pytest.raises(DataError, match="directory") as info:
        load_points(tmp_path)
    assert str(tmp_path) in str(info.value)


def test_load_points_messages_say_what_is_accepted(tmp_path):
    path = tmp_path / "pts.txt"
    path.write_text("0,1\n2,3\n")
    with pytest.raises(DataError, match=r"\.npy.*\.csv"):
        load_points(path)
    path = tmp_path / "pts.csv"
    path.write_text("0,1\n2,3\n4,x\n")
    with pytest.raises(DataError, match="line 3"):
        load_points(path)
    path.write_text("0,1\n2,3,4\n")
    with pytest.raises(DataError, match="line 2 has 3 values"):
        load_points(path)
