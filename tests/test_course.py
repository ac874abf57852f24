"""The course notebooks (docs/course/*.py, jupytext percent format) run from top to bottom in a
Jupyter kernel at tiny settings: docs/execute_course.py's tiny cell, injected after each
notebook's `parameters` cell, shrinks what it names (steps, samples), so a broken notebook fails
CI in seconds, not minutes.
"""

from __future__ import annotations

import pytest

from .conftest import course_runner

pytestmark = pytest.mark.slow

course = course_runner()


def test_every_notebook_has_parameters_what_to_look_at_and_an_exercise():
    import jupytext

    assert course.NOTEBOOKS
    for path in course.NOTEBOOKS:
        nb = jupytext.read(path)
        tags = [c.metadata.get("tags", []) for c in nb.cells]
        text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
        assert sum("parameters" in t for t in tags) == 1, path.name
        assert "What to look at" in text and "Try this" in text, path.name


@pytest.mark.parametrize("path", course.NOTEBOOKS, ids=[p.stem for p in course.NOTEBOOKS])
def test_notebook_runs_at_tiny_settings(path, tmp_path, monkeypatch):
    nb = course.read_notebook(path, tiny=True)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    course.execute(nb, tmp_path, timeout=600)  # raises on the first cell that fails
