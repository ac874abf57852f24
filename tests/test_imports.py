"""The import arrows of the low modules point down: data, nn, losses and the registry import
nothing of the models, the training loop, the pictures or the command line (imports inside
functions count too)."""

from __future__ import annotations

import ast
from pathlib import Path

import gankit

SRC = Path(gankit.__file__).parent
LOW = [*sorted((SRC / "data").rglob("*.py")), *sorted((SRC / "nn").rglob("*.py"))]
LOW += [SRC / "losses.py", SRC / "registry.py", SRC / "batch.py"]
UPPER = ("gankit.models", "gankit.training", "gankit.viz", "gankit.cli", "gankit.api")
# the registry imports the built-in packages so that their @register decorators run
ALLOWED = {("registry.py", "_load_builtins")}


def imports(path: Path) -> list[tuple[str, str]]:
    """(module imported, enclosing function or "") of every import in a file."""
    found = []

    def visit(node: ast.AST, func: str) -> None:
        for child in ast.iter_child_nodes(node):
            name = child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else func
            if isinstance(child, ast.Import):
                found.extend((a.name, name) for a in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module:
                found.append((child.module, name))
                found.extend((f"{child.module}.{a.name}", name) for a in child.names)
            visit(child, name)

    visit(ast.parse(path.read_text()), "")
    return found


def test_low_modules_import_nothing_above_them():
    wrong = [
        f"{path.relative_to(SRC)} imports {module}" + (f" (in {func})" if func else "")
        for path in LOW
        if path.exists()
        for module, func in imports(path)
        if module.startswith(UPPER) and (path.name, func) not in ALLOWED
    ]
    assert not wrong, "; ".join(wrong)
