"""The package's import graph: layers whose imports only point down, and no cycles.

Every import, even one inside a function, goes to the same layer or one below, so a model or a
data set can be used without the Trainer, and a change high up never breaks what is below it.
The one exception is the registry, which finds the built-in entries by importing the packages
that register them (as entry points would). Module-level imports form no cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import gankit

ROOT = Path(gankit.__file__).parent
# from the bottom up; a module belongs to the longest prefix that names it
LAYERS = [
    ("gankit.errors", "gankit.files", "gankit.options", "gankit.batch", "gankit.engine"),
    ("gankit.registry", "gankit.config"),
    ("gankit.losses", "gankit.nn"),
    ("gankit.data",),
    ("gankit.models",),
    ("gankit.metrics",),
    ("gankit.viz",),
    ("gankit.training",),
    ("gankit.api", "gankit.translate"),
    ("gankit.cli", "gankit.__main__", "gankit"),
]
DISCOVERY = {"gankit.registry": {"gankit.data", "gankit.metrics", "gankit.models"}}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, top_level_only: bool) -> set[str]:
    """The gankit modules a file imports (`from gankit.x import y` counts gankit.x.y when that
    is a module, else gankit.x)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("gankit")}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("gankit"):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in MODULES else node.module)
    return found


FILES = {module_name(p): p for p in ROOT.rglob("*.py")}
MODULES = set(FILES)


def layer(module: str) -> int:
    owners = [(len(prefix), i) for i, names in enumerate(LAYERS) for prefix in names
              if module == prefix or module.startswith(prefix + ".")]  # fmt: skip
    assert owners, f"{module} is in no layer: add it to LAYERS"
    return max(owners)[1]


def test_every_import_points_to_the_same_layer_or_below():
    wrong = [
        f"{mod} -> {dep}"
        for mod, path in FILES.items()
        for dep in imports(path, top_level_only=False) & MODULES
        if layer(dep) > layer(mod) and dep not in DISCOVERY.get(mod, ())
    ]
    assert not wrong, "imports that run up a layer: " + "; ".join(sorted(wrong))


def test_module_level_imports_form_no_cycle():
    graph = {mod: imports(path, top_level_only=True) & MODULES for mod, path in FILES.items()}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(mod: str) -> list[str] | None:
        state[mod] = 1
        path.append(mod)
        for dep in sorted(graph[mod]):
            if state.get(dep) == 1:
                return path[path.index(dep) :] + [dep]
            if dep not in state and (cycle := visit(dep)):
                return cycle
        state[mod] = 2
        path.pop()
        return None

    for mod in sorted(graph):
        if mod not in state and (cycle := visit(mod)):
            raise AssertionError("import cycle: " + " -> ".join(cycle))
