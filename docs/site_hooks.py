"""Builds the site from the repository as it stands (mkdocs.yml names this file under `hooks`).

- README.md is the home page, and every repository file outside docs/ that a page links to
  (benchmarks/results/*.md and their pictures, src/.../README.md, ...) joins the site at its
  repository path, found by following links; links are rewritten where a file's place in the
  site differs from its place in the repository (README.md -> index.md, docs/X -> X), so each
  link works both on the repository's web view and in the site, and `mkdocs build --strict`
  checks every one.
- Every course notebook (docs/course/NN_*.py) joins the course's section of the nav, found by
  glob, so a new notebook needs no edit here.
- A notebook with an executed copy (docs/course/executed/NN_name.ipynb, written by
  docs/execute_course.py) is shown from that copy, with its outputs; the site never runs one.

Why hooks rather than mkdocs-gen-files or mkdocs-include-markdown: mkdocs (>= 1.6) adds a file to
a build by itself (`File.generated`, backed by the file where it lies), so nothing is copied and
no plugin is needed for that; and swapping a notebook for its executed copy needs a hook anyway.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

REPO = Path(__file__).resolve().parent.parent
COURSE = REPO / "docs" / "course"
EXECUTED = COURSE / "executed"
NOTEBOOK = "[0-9][0-9]_*.py"
HOME = "README.md"
# the target of a markdown link or image, up to an #anchor: ](target#anchor)
LINK = re.compile(r"(\]\()([^)\s#]+)")


def is_notebook(src_uri: str) -> bool:
    """Whether a file of the site is a course notebook (course/NN_name.py)."""
    folder, name = posixpath.split(src_uri)
    return folder == "course" and fnmatch.fnmatch(name, NOTEBOOK)


def site_path(repo_path: str) -> str:
    """Where a repository file sits in the site: docs/ is its root, README.md its home page,
    any other file keeps its repository path."""
    if repo_path == HOME:
        return "index.md"
    return repo_path.removeprefix("docs/")


def link_target(page: str, link: str) -> str | None:
    """The repository file (a path from the repository's root) that a link on the page at
    repository path `page` names, or None if it names none (a web address, a folder, a file
    that does not exist, a path outside the repository)."""
    if "://" in link or link.startswith(("/", "mailto:")):
        return None
    target = posixpath.normpath(posixpath.join(posixpath.dirname(page), link))
    if target.startswith("../") or not (REPO / target).is_file():
        return None
    return target


def linked_files(pages: list[str]) -> set[str]:
    """Every repository file outside docs/ that the pages link to, following the links of the
    markdown files found on the way (benchmarks/results/toy2d.md links to its pictures)."""
    found, todo = {HOME}, list(pages)
    while todo:
        page = todo.pop()
        text = (REPO / page).read_text(encoding="utf-8")
        for match in LINK.finditer(text):
            target = link_target(page, match.group(2))
            if target is None or target.startswith("docs/") or target in found:
                continue
            found.add(target)
            if target.endswith(".md"):
                todo.append(target)
    return found - {HOME}


def on_config(config: MkDocsConfig) -> None:
    """Appends every course notebook, in order, to the nav section that holds course/index.md."""
    notebooks = [f"course/{p.name}" for p in sorted(COURSE.glob(NOTEBOOK))]
    for section in config.nav:
        pages = next(iter(section.values())) if isinstance(section, dict) else None
        if isinstance(pages, list) and "course/index.md" in pages:
            pages += [n for n in notebooks if n not in pages]  # one may be listed by hand


# after mkdocs-jupyter's on_files, which wraps each notebook in a File of its own that
# works out its path itself: the executed copy's path must be set on that wrapper
@event_priority(-100)
def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Adds the home page and the files pages link to; points notebooks at executed copies."""
    pages = [HOME] + [f"docs/{f.src_uri}" for f in files if f.src_uri.endswith(".md")]
    for repo_path in sorted(linked_files(pages)) + [HOME]:
        src = str(REPO / repo_path)
        files.append(File.generated(config, site_path(repo_path), abs_src_path=src))
    for file in files:
        if is_notebook(file.src_uri):
            executed = EXECUTED / f"{posixpath.basename(file.src_uri)[:-3]}.ipynb"
            if executed.is_file():
                file.abs_src_path = str(executed)
    return files


def on_page_markdown(markdown: str, page: Page, **kwargs) -> str:
    """Rewrites the links of a markdown page so that each names its target's place in the site."""
    if not page.file.src_uri.endswith(".md"):
        return markdown  # a notebook: mkdocs-jupyter renders it from its file, not this text
    here = Path(page.file.abs_src_path).relative_to(REPO).as_posix()
    folder = posixpath.dirname(site_path(here)) or "."

    def relink(match: re.Match) -> str:
        target = link_target(here, match.group(2))
        if target is None:
            return match.group(0)  # left as it is: strict mode reports it if it is broken
        return match.group(1) + posixpath.relpath(site_path(target), folder)

    return LINK.sub(relink, markdown)
