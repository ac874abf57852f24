"""The course notebooks (docs/course/*.py, jupytext percent format) run from top to bottom in a
Jupyter kernel at tiny settings: a cell injected after each notebook's `parameters` cell
shrinks what it names (steps, samples), so a broken notebook fails CI in seconds, not minutes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

COURSE = Path(__file__).resolve().parent.parent / "docs" / "course"
NOTEBOOKS = sorted(COURSE.glob("[0-9][0-9]_*.py"))
# values a notebook's parameters may take at tiny settings; only those it defines are set
TINY = {"STEPS": 20, "N_SAMPLES": 200, "SEEDS": [0], "ADV_STEPS": 2}


def tiny_cell() -> str:
    return (
        "# injected by tests/test_course.py: tiny settings\n"
        "TINY = True\n"
        f"globals().update({{k: v for k, v in {TINY!r}.items() if k in globals()}})"
    )


def test_every_notebook_has_parameters_what_to_look_at_and_an_exercise():
    import jupytext

    assert NOTEBOOKS
    for path in NOTEBOOKS:
        nb = jupytext.read(path)
        tags = [c.metadata.get("tags", []) for c in nb.cells]
        text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
        assert sum("parameters" in t for t in tags) == 1, path.name
        assert "What to look at" in text and "Try this" in text, path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_at_tiny_settings(path, tmp_path, monkeypatch):
    import jupytext
    import nbformat
    from nbclient import NotebookClient

    nb = jupytext.read(path)
    at = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    nb.cells.insert(at + 1, nbformat.v4.new_code_cell(tiny_cell()))
    monkeypatch.chdir(tmp_path)  # runs/ and anything else a notebook writes land here
    monkeypatch.setenv("MPLBACKEND", "Agg")
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # the kernel inherits this process's environment
