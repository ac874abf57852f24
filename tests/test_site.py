"""The documentation site (mkdocs.yml, docs/site_hooks.py) and the course as students open it.

The site builds in strict mode (every link and reference resolves) with a page for the README,
every notebook and the API; a notebook with an executed copy is shown from that copy, and a copy
whose cells differ from its notebook's fails here, so the site never shows stale outputs.
Notebooks open in JupyterLab through jupytext's contents manager and save back unchanged.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest

from .conftest import course_runner

REPO = Path(__file__).resolve().parents[1]
course = course_runner()


def cells(nb: nbformat.NotebookNode) -> list[tuple[str, str]]:
    return [(c.cell_type, c.source) for c in nb.cells]


def test_every_executed_copy_has_its_notebooks_cells():
    # the site shows the copy whole, text included: a copy older than its .py is stale
    for copy in sorted(course.EXECUTED.glob("*.ipynb")):
        source = course.COURSE / f"{copy.stem}.py"
        assert source.is_file(), f"{copy.name} is the copy of no notebook; delete it"
        assert cells(nbformat.read(copy, as_version=4)) == cells(jupytext.read(source)), (
            f"{copy.name} is stale: run `python docs/execute_course.py {copy.stem}`"
        )


def test_every_notebook_has_a_row_in_the_course_index():
    index = (course.COURSE / "index.md").read_text(encoding="utf-8")
    linked = set(re.findall(r"\]\(([0-9][0-9]_\w+\.py)\)", index))
    missing = [p.name for p in course.NOTEBOOKS if p.name not in linked]
    assert not missing, f"docs/course/index.md has no row for {missing}"


def test_notebooks_open_and_save_back_unchanged_as_in_jupyterlab(tmp_path):
    # `jupyter lab` serves files through this contents manager (jupytext's server extension)
    from jupyter_server.services.contents.filemanager import FileContentsManager
    from jupytext.sync_contentsmanager import build_sync_jupytext_contents_manager_class

    for path in course.NOTEBOOKS:
        shutil.copy(path, tmp_path)
    manager = build_sync_jupytext_contents_manager_class(FileContentsManager)(
        root_dir=str(tmp_path)
    )
    for path in course.NOTEBOOKS:
        model = manager.get(path.name, type="notebook")
        nb = model["content"]
        assert any("parameters" in c.metadata.get("tags", []) for c in nb.cells), path.name
        # what a session in JupyterLab adds: the kernel, outputs, a cell's view state
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
        code = next(c for c in nb.cells if c.cell_type == "code")
        code.outputs = [nbformat.v4.new_output("stream", name="stdout", text="42\n")]
        code.metadata["scrolled"] = True
        manager.save({"type": "notebook", "format": "json", "content": nb}, path.name)
        assert (tmp_path / path.name).read_bytes() == path.read_bytes(), path.name


def site_sources(root: Path) -> None:
    """What the site is built from, under `root`: docs/, README.md and mkdocs.yml copied (so an
    executed copy can be added there), src/ and benchmarks/ linked."""
    shutil.copytree(REPO / "docs", root / "docs", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("README.md", "mkdocs.yml"):
        shutil.copy(REPO / name, root / name)
    for name in ("src", "benchmarks"):
        (root / name).symlink_to(REPO / name, target_is_directory=True)


@pytest.mark.slow
def test_site_builds_strict_with_every_page(tmp_path):
    site_sources(tmp_path)
    first = course.NOTEBOOKS[0]
    executed = jupytext.read(first)
    code = next(c for c in executed.cells if c.cell_type == "code")
    code.outputs = [nbformat.v4.new_output("stream", name="stdout", text="from-the-copy\n")]
    (tmp_path / "docs/course/executed").mkdir(exist_ok=True)
    nbformat.write(executed, tmp_path / f"docs/course/executed/{first.stem}.ipynb")

    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", "site"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stderr[-3000:]

    site = tmp_path / "site"
    home = (site / "index.html").read_text(encoding="utf-8")
    assert "Quick start" in home and 'href="own-dataset/"' in home  # README, links rewritten
    assert (site / "benchmarks/results/toy2d/index.html").is_file()  # a page README links to
    for path in course.NOTEBOOKS:
        page = (site / "course" / path.stem / "index.html").read_text(encoding="utf-8")
        assert ("from-the-copy" in page) == (path == first), path.name
    api = (site / "reference/api/index.html").read_text(encoding="utf-8")
    assert "gankit.api.train" in api
    losses = (site / "reference/losses/index.html").read_text(encoding="utf-8")
    assert "g_loss_nonsaturating" in losses
