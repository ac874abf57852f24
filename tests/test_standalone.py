"""gankit needs nothing outside its repository: no file names a path outside it, and the data sets
whose files ship inside the package build from an empty config path."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from gankit.config import resolve_config
from gankit.data import build_data
from gankit.errors import DataError

ROOT = Path(__file__).resolve().parents[1]
# joined here, so this file does not hold the very strings it looks for
OUTSIDE = re.compile(
    "|".join(
        re.escape(a + b)
        for a, b in [
            ("../", "shared"),
            ("/wo", "rk/"),
            ("/tmp/", "pytest"),
            ("/ro", "ot/"),
            ("/ho", "me/"),
            ("GANKIT_", "DATA_DIR"),
        ]
    )
)


def repository_files() -> list[Path]:
    """Tracked files, and new ones not ignored (so a file is checked before its first commit)."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():  # e.g. an unpacked sdist
        skip = {".git", "runs", "build", "dist", "__pycache__", ".pytest_cache", ".ruff_cache"}
        return [p for p in ROOT.rglob("*") if not skip & set(p.relative_to(ROOT).parts)]
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout  # fmt: skip
    return [ROOT / name for name in out.decode().split("\0") if name]


def test_no_file_names_a_path_outside_the_repository():
    offending = []
    for path in repository_files():
        if not path.is_file():  # deleted in the working tree, not yet in the index
            continue
        raw = path.read_bytes()
        if b"\0" in raw[:8000]:  # binary, as git decides it
            continue
        for k, line in enumerate(raw.decode("utf-8", "replace").splitlines(), 1):
            for m in OUTSIDE.finditer(line):
                context = line[max(m.start() - 30, 0) : m.end() + 30]
                offending.append(f"{path.relative_to(ROOT)}:{k}: ...{context}")
    assert not offending, "paths outside the repository:\n" + "\n".join(offending)


def _jsb(data):
    assert data.info()["pieces"] == {"train": 229, "valid": 76, "test": 77}


def _lines(n: int):
    def check(data):
        assert len(data.train) + len(data.test) == n

    return check


def _oracle(data):
    assert len(data.vocab) == 5000 and data.train.shape == (100, 20)


def _usps(data):
    usps = data.domain("B")
    assert len(usps.images) == 7291 and len(usps.test[0]) == 2007


BUNDLED = {  # data set -> (its path key, overrides, a check of the sizes)
    "jsb-chorales": ("path", [], _jsb),
    "chinese-poems": ("path", [], _lines(16_394)),  # every poem, before the split
    "shakespeare": ("path", [], _lines(32_777)),  # every non-empty line
    "oracle": ("path", ["data.n_train=100"], _oracle),  # drawing 10,000 takes a while
    "mnist-usps": ("usps_path", [], _usps),
}


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_data_set_builds_from_an_empty_path(name, monkeypatch):
    monkeypatch.delenv("GANKIT_" + "DATA_DIR", raising=False)  # the old way must not be needed
    key, overrides, check = BUNDLED[name]
    cfg = resolve_config(data=name, overrides=overrides)
    assert getattr(cfg.data, key) == ""
    check(build_data(cfg.data, seed=0))
    assert getattr(cfg.data, key) == ""  # no install path in the config: the run stays portable


@pytest.mark.parametrize("name", BUNDLED)
def test_a_missing_given_file_is_a_one_line_error_naming_it(name, tmp_path):
    key, overrides, _ = BUNDLED[name]
    missing = tmp_path / "nope.dat"
    cfg = resolve_config(data=name, overrides=[*overrides, f"data.{key}={missing}"])
    with pytest.raises(DataError, match=re.escape(f"{missing} does not exist")) as e:
        build_data(cfg.data, seed=0)
    assert "\n" not in str(e.value)
