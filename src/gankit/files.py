"""Small file helpers shared by the run folder, the report and the command line."""

from __future__ import annotations

from pathlib import Path

# the files of a run folder that more than one layer reads (training writes them, viz reads them)
CONFIG = "config.yaml"
METRICS = "metrics.jsonl"
RESUMES = "resumes.jsonl"  # one row per resume: kept apart, so resumed and straight runs log alike
TRAINING = "training.json"  # there while a trainer works on the run: its pid, host and start


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
