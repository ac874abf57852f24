"""2-D Gaussian mixtures of the mode-collapse literature, e.g. Metz et al. 2016 (Unrolled GAN) ring and Srivastava et al. 2017 (VEEGAN) grid."""  # noqa: E501

from __future__ import annotations

import io
import math
import numbers
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from gankit.errors import DataError

ACCEPTED_SUFFIXES = (".npy", ".csv")

_NPY_MAGIC = b"\x93NUMPY"

_CENTERS_HINT = "e.g. --set data.centers=[[0,0],[1,1]]"


def _short(value: object, limit: int = 60) -> str:
    """A one-line repr of ``value``, cut to ``limit`` characters."""
    text = " ".join(repr(value).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _is_number(value: object) -> bool:
    """True for real numbers (int, float, numpy scalars), False for bools and everything else."""
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def ring_centers(n_modes: int = 8, radius: float = 1.0) -> Tensor:
    """Centres of ``n_modes`` modes evenly spaced on a circle: angle 2*pi*i/n_modes, i = 0..n-1.

    Returns a float32 tensor [n_modes, 2]; centre 0 is at (radius, 0).
    """
    if not isinstance(n_modes, numbers.Integral) or isinstance(n_modes, bool) or n_modes < 1:
        raise DataError(
            f"data.n_modes must be a whole number >= 1, got {_short(n_modes)}; "
            "e.g. --set data.n_modes=8"
        )
    if not _is_number(radius) or not math.isfinite(radius) or radius <= 0:
        raise DataError(
            f"data.radius must be a finite number > 0, got {_short(radius)}; "
            "e.g. --set data.radius=1.0"
        )
    angles = torch.arange(int(n_modes), dtype=torch.float64) * (2 * math.pi / int(n_modes))
    centers = float(radius) * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)
    return centers.to(torch.float32)


def grid_centers(values: Sequence[float] = (-4, -2, 0, 2, 4)) -> Tensor:
    """Centres on the product grid ``values`` x ``values`` (25 modes for the default 5 values).

    Returns a float32 tensor [len(values) ** 2, 2], ordered by x then y.
    """
    if (
        isinstance(values, (str, bytes))
        or not isinstance(values, Iterable)
        or not (vals := list(values))
        or not all(_is_number(v) and math.isfinite(v) for v in vals)
    ):
        raise DataError(
            f"grid values must be a non-empty list of finite numbers, got {_short(values)}; "
            "e.g. grid_centers((-4, -2, 0, 2, 4))"
        )
    axis = torch.tensor([float(v) for v in vals], dtype=torch.float32)
    return torch.cartesian_prod(axis, axis).reshape(-1, 2)


def sample_mixture(
    centers: Tensor, std: float, n: int, generator: torch.Generator | None = None
) -> Tensor:
    """Draw ``n`` points from the equal-weight mixture of isotropic Gaussians at ``centers``.

    Each point picks a component uniformly at random, then adds N(0, std^2) noise per coordinate.
    All randomness comes from ``generator`` (the global RNG if None), so restoring the
    generator's state reproduces the stream exactly. Returns float32 [n, D] for centres [M, D].
    """
    if centers.ndim != 2 or centers.shape[0] < 1:
        raise DataError(
            f"mixture centres must be a [modes, dims] tensor with at least one mode, "
            f"got shape {tuple(centers.shape)}; {_CENTERS_HINT}"
        )
    if not _is_number(std) or not math.isfinite(std) or std < 0:
        raise DataError(
            f"data.std must be a finite number >= 0, got {_short(std)}; e.g. --set data.std=0.02"
        )
    if not isinstance(n, numbers.Integral) or isinstance(n, bool) or n < 0:
        raise DataError(
            f"number of samples must be a whole number >= 0, got {_short(n)}; e.g. 2500"
        )
    out_device = centers.device
    device = generator.device if generator is not None else out_device
    centers = centers.to(device=device, dtype=torch.float32)
    n = int(n)
    component = torch.randint(
        0, centers.shape[0], (n,), generator=generator, device=device, dtype=torch.long
    )
    noise = torch.randn(n, centers.shape[1], generator=generator, device=device)
    return (centers[component] + float(std) * noise).to(out_device)


def check_mixture(centers: object, std: object) -> Tensor:
    """Validate a user-described mixture and return its centres as float32 [M, 2].

    ``centers`` is a list of [x, y] pairs (at least one, finite numbers) and ``std`` a finite
    number > 0. Raises DataError with a one-line fix otherwise.
    """
    if hasattr(centers, "tolist") and not isinstance(centers, (str, bytes)):
        centers = centers.tolist()  # a tensor or numpy array
    bad = DataError(
        f"data.centers must be a list of [x, y] pairs of finite numbers, got {_short(centers)}; "
        f"{_CENTERS_HINT}"
    )
    if isinstance(centers, (str, bytes)) or not isinstance(centers, Sequence):
        raise bad
    pairs = []
    for pair in centers:
        if (
            isinstance(pair, (str, bytes))
            or not isinstance(pair, Sequence)
            or len(pair) != 2
            or not all(_is_number(v) and math.isfinite(v) for v in pair)
        ):
            raise bad
        pairs.append([float(pair[0]), float(pair[1])])
    if not pairs:
        raise DataError(f"data.centers must hold at least one [x, y] pair, got []; {_CENTERS_HINT}")
    if not _is_number(std) or not math.isfinite(std) or std <= 0:
        raise DataError(
            f"data.std must be a finite number > 0, got {_short(std)}; e.g. --set data.std=0.02"
        )
    return torch.tensor(pairs, dtype=torch.float32)


def _load_npy(path: Path) -> np.ndarray:
    """Read a .npy file without ever unpickling; DataError on anything but a plain array."""
    try:
        with path.open("rb") as fh:
            magic = fh.read(len(_NPY_MAGIC))
    except OSError as exc:
        raise DataError(
            f"cannot read data file {path} ({_oserror_reason(exc)}); check that you may read it"
        ) from None
    if magic != _NPY_MAGIC:
        kind = "an .npz archive" if magic.startswith(b"PK") else "not a .npy file"
        raise DataError(
            f"data file {path} is {kind} (no .npy header); save one array of shape (N, D) with "
            "numpy.save(path, points), or rename a comma-separated text file to .csv"
        )
    try:
        loaded = np.load(path, allow_pickle=False)
    except Exception as exc:  # numpy raises ValueError, OSError or EOFError for bad content
        if "pickle" in str(exc):
            reason = "it holds Python objects, which are never unpickled"
        elif isinstance(exc, OSError) and exc.strerror:
            reason = exc.strerror.lower()
        else:
            reason = "it is truncated or not a valid .npy"
        raise DataError(
            f"cannot read data file {path}: {reason}; save the points with "
            "numpy.save(path, points) where points is a float array of shape (N, D)"
        ) from None
    return loaded


def _oserror_reason(exc: BaseException) -> str:
    """A short one-line reason for an I/O failure."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return _short(str(exc) or type(exc).__name__)


def _csv_fields_are_numbers(line: str) -> bool:
    """True if every comma-separated field of ``line`` parses as a float."""
    try:
        for field in line.split(","):
            float(field)
    except ValueError:
        return False
    return True


def _csv_problem(lines: list[str], first: int) -> str:
    """Describe the first malformed row of a CSV (``lines[first:]`` are data rows)."""
    width = None
    for number, line in enumerate(lines[first:], start=first + 1):
        content = line.split("#", 1)[0].strip()
        if not content:
            continue
        fields = content.split(",")
        if not _csv_fields_are_numbers(content):
            bad = next(f for f in fields if not _csv_fields_are_numbers(f))
            return f"line {number} has a non-number {_short(bad.strip(), 30)}"
        if width is None:
            width = len(fields)
        elif len(fields) != width:
            return f"line {number} has {len(fields)} values but earlier lines have {width}"
    return "it is not a comma-separated table of numbers"


def _load_csv(path: Path) -> np.ndarray:
    """Read a comma-separated table of numbers with an optional single header line."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(
            f"cannot read data file {path}: it is not UTF-8 text; write the points as plain text, "
            "one 'x,y' row per point"
        ) from None
    except OSError as exc:
        raise DataError(
            f"cannot read data file {path} ({_oserror_reason(exc)}); check that you may read it"
        ) from None
    lines = text.splitlines()
    first = 0
    if lines and lines[0].strip() and not lines[0].lstrip().startswith("#"):
        if not _csv_fields_are_numbers(lines[0]):
            first = 1  # a header line such as "x,y"
    body = lines[first:]
    if not any(line.split("#", 1)[0].strip() for line in body):
        raise DataError(
            f"data file {path} holds no points; write one 'x,y' row per point "
            "(an optional single header line is allowed)"
        )
    try:
        return np.loadtxt(io.StringIO("\n".join(body)), delimiter=",", dtype=np.float64, ndmin=2)
    except Exception:
        raise DataError(
            f"cannot read data file {path}: {_csv_problem(lines, first)}; write one row of "
            "comma-separated numbers per point, all rows the same length"
        ) from None


def load_points(path: str | Path) -> Tensor:
    """Read a user's points from a ``.npy`` (2-D array) or ``.csv`` file as float32 [N, D].

    A CSV holds comma-separated numbers, one point per row, with an optional single header line.
    Raises DataError with a one-line message naming the path and the fix on any problem;
    ``.npy`` files are loaded with ``allow_pickle=False``, so loading never runs code.
    """
    path = Path(path).expanduser()
    try:
        if not path.exists():
            raise DataError(
                f"data file {path} does not exist; check the path (relative paths start at "
                f"{Path.cwd()})"
            )
        if path.is_dir():
            raise DataError(
                f"data path {path} is a directory; give a file such as {path / 'points.npy'}"
            )
        suffix = path.suffix.lower()
        if suffix not in ACCEPTED_SUFFIXES:
            raise DataError(
                f"data file {path} has unknown extension {suffix or '(none)'!r}; use a .npy file "
                "(a 2-D array saved by numpy.save) or a .csv file (one 'x,y' row per point)"
            )
        size = path.stat().st_size
    except OSError as exc:
        raise DataError(
            f"cannot read data file {path} ({_oserror_reason(exc)}); check the path and that you "
            "may read it"
        ) from None
    if size == 0:
        raise DataError(
            f"data file {path} is empty; write the points into it (a .npy of shape (N, D) or a "
            ".csv with one row per point)"
        )

    array = _load_npy(path) if suffix == ".npy" else _load_csv(path)

    if array.dtype.kind not in "iuf":
        raise DataError(
            f"data file {path} holds values of type {array.dtype}, not numbers; save a float "
            "array of shape (N, D)"
        )
    if array.ndim != 2:
        raise DataError(
            f"data file {path} holds an array of shape {array.shape}, expected 2-D (points, dims); "
            "reshape it to (N, D), e.g. points.reshape(-1, 2)"
        )
    if array.shape[0] < 2 or array.shape[1] < 1:
        raise DataError(
            f"data file {path} holds an array of shape {array.shape}, expected at least 2 points "
            "with at least 1 coordinate each; add more rows"
        )
    with np.errstate(over="ignore", invalid="ignore"):  # too-large values become inf below
        points = array.astype(np.float32)
    finite = np.isfinite(points)
    if not finite.all():
        bad_rows = np.flatnonzero(~finite.all(axis=1))
        raise DataError(
            f"data file {path} has {bad_rows.size} row(s) with NaN, inf or values too large for "
            f"float32 (first: row {int(bad_rows[0])}, counting from 0); remove or fix those rows"
        )
    return torch.from_numpy(np.ascontiguousarray(points))
