"""Small data files shipped inside the package, so the data sets built on them need nothing but
gankit itself. README.md in this folder gives each file's content, format, origin and licence."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from gankit.errors import DataError

LABEL = "gankit/data/files"  # how results name a bundled file: the same on every install


def bundled(name: str) -> Path:
    """The path of the bundled file `name` (gankit installs as files, never as a zip)."""
    return Path(str(files(__name__).joinpath(name)))


def find(given: str, name: str, what: str, key: str = "data.path") -> Path:
    """`given` made absolute, or the bundled file `name` when `given` is empty; a missing file
    is a DataError naming it (`what` says what it should hold, `key` where to give another)."""
    path = Path(given).expanduser().resolve() if given else bundled(name)
    if not path.is_file():
        raise DataError(f"data file {path} does not exist ({what}); check {key}")
    return path


def data_file(cfg, key: str, name: str, what: str) -> Path:
    """`find` for the config field `cfg.<key>`, writing a given path back absolute so the run
    resumes from any folder. The bundled file leaves the field empty: a config then never holds
    the install's own path, and a run still resumes after gankit is reinstalled elsewhere."""
    path = find(getattr(cfg, key), name, what, f"data.{key}")
    if getattr(cfg, key):
        setattr(cfg, key, str(path))
    return path


def label(path: Path) -> str:
    """`path` as results show it: a bundled file by its place in the package, not the install's."""
    return f"{LABEL}/{path.name}" if path == bundled(path.name) else str(path)
