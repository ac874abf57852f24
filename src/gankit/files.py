"""Small file helpers shared by the run folder, the report and the command line."""

from __future__ import annotations

from pathlib import Path


def write_atomic(path: Path, text: str) -> None:
    """Writes through a temporary file and a rename: a crash leaves the old file whole."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def free_path(path: Path) -> Path:
    """`path` if nothing is there, else the first free PATH-2, PATH-3 ... (suffix kept)."""
    candidate, k = path, 1
    while candidate.exists():
        k += 1
        candidate = path.with_name(f"{path.stem}-{k}{path.suffix}")
    return candidate
