"""Runs the course notebooks in a Jupyter kernel and keeps what they show.

    python docs/execute_course.py                    # every notebook, at its stated settings
    python docs/execute_course.py 04_mode_collapse   # only the ones named
    python docs/execute_course.py --tiny             # tiny settings, into a temporary folder

At its stated settings each notebook is written with its outputs to
docs/course/executed/NN_name.ipynb, and the site (docs/site_hooks.py) shows that copy instead of
the bare .py, so readers see real pictures and numbers. Commit the copies; a copy whose cells no
longer equal its .py fails tests/test_site.py, so re-run this script for a notebook you change.

`--tiny` puts a cell after each notebook's `parameters` cell that shrinks what it names (steps,
samples): tests/test_course.py runs every notebook that way. Such copies are not the notebooks'
real outputs, so they never go to docs/course/executed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient

COURSE = Path(__file__).resolve().parent / "course"
EXECUTED = COURSE / "executed"
NOTEBOOKS = sorted(COURSE.glob("[0-9][0-9]_*.py"))
# values a notebook's parameters may take at tiny settings; only those it defines are set
TINY = {"STEPS": 20, "N_SAMPLES": 200, "SEEDS": [0], "ADV_STEPS": 2}


def tiny_cell() -> str:
    return (
        "# injected by docs/execute_course.py --tiny: tiny settings\n"
        "TINY = True\n"
        f"globals().update({{k: v for k, v in {TINY!r}.items() if k in globals()}})"
    )


def read_notebook(path: Path, tiny: bool = False) -> nbformat.NotebookNode:
    """The notebook of a jupytext .py file; with `tiny`, the tiny cell follows `parameters`."""
    nb = jupytext.read(path)
    if tiny:
        at = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
        nb.cells.insert(at + 1, nbformat.v4.new_code_cell(tiny_cell()))
    return nb


def execute(nb: nbformat.NotebookNode, workdir: Path, timeout: int = 3600) -> None:
    """Runs `nb` in place, cell by cell, in a python3 kernel started in `workdir` (where runs/
    and anything else it writes land). The kernel inherits this process's environment."""
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        record_timing=False,  # timestamps would change every copy on every run
        resources={"metadata": {"path": str(workdir)}},
    )
    client.execute()


def run(path: Path, out_dir: Path, tiny: bool) -> Path:
    """Executes one notebook and writes it, outputs and all, to out_dir/NN_name.ipynb."""
    nb = read_notebook(path, tiny)
    with tempfile.TemporaryDirectory(prefix="gankit-course-") as workdir:
        execute(nb, Path(workdir))
    out = out_dir / f"{path.stem}.ipynb"
    out_dir.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out)
    return out


def chosen(names: list[str]) -> list[Path]:
    """The notebooks named (by stem, e.g. 04_mode_collapse), or all of them."""
    if not names:
        return NOTEBOOKS
    by_stem = {p.stem: p for p in NOTEBOOKS}
    unknown = [n for n in names if n not in by_stem]
    if unknown:
        sys.exit(f"no notebook {unknown} in {COURSE}; there are {sorted(by_stem)}")
    return [by_stem[n] for n in names]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="notebook stems (default: all)")
    parser.add_argument("--tiny", action="store_true", help="tiny settings, temporary folder")
    args = parser.parse_args(argv)
    # the kernel's own inline backend draws the figures into the copies; a backend set in the
    # shell (Agg on a server) would leave them without pictures
    os.environ.pop("MPLBACKEND", None)
    out_dir = Path(tempfile.mkdtemp(prefix="gankit-course-tiny-")) if args.tiny else EXECUTED
    for path in chosen(args.names):
        start = time.perf_counter()
        out = run(path, out_dir, args.tiny)
        print(f"{path.name}: {time.perf_counter() - start:.0f} s -> {out}", flush=True)


if __name__ == "__main__":
    main()
