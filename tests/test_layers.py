"""The shape of the code: publications builds on stats, never the reverse; no module
imports a private name of another; the project's modules import each other without a
cycle (imports inside functions included, so none can be used to dodge one)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("config", "stats", "publications")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found = {}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" not in path.parts:
                found[_module_name(path)] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> list[tuple[str, list[str], int]]:
    """(imported module, names taken from it, line) for every import of the module."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.extend((alias.name, [], node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = [alias.name for alias in node.names]
            found.append((base, names, node.lineno))
            # ``from . import tasks``: the names may be modules themselves.
            found.extend(
                (f"{base}.{n}", [], node.lineno) for n in names if f"{base}.{n}" in MODULES
            )
    return found


def _project(module: str) -> str | None:
    """The project module an import names (a package's __init__ for a package)."""
    while module and module not in MODULES:
        module = module.rpartition(".")[0]
    return module or None


def test_stats_imports_nothing_of_publications():
    upward = [
        f"{path.relative_to(ROOT)}:{line} imports {imported}"
        for name, path in MODULES.items()
        if name.split(".")[0] == "stats"
        for imported, _names, line in _imports(name, path)
        if imported.split(".")[0] == "publications"
    ]
    assert upward == []


def test_no_module_imports_a_private_name_of_another():
    private = [
        f"{path.relative_to(ROOT)}:{line} takes {n} from {imported}"
        for name, path in MODULES.items()
        for imported, names, line in _imports(name, path)
        if _project(imported)
        for n in names
        if n.startswith("_") and not n.startswith("__")
    ]
    assert private == []


def test_the_modules_import_each_other_without_a_cycle():
    edges: dict[str, set[str]] = {name: set() for name in MODULES}
    for name, path in MODULES.items():
        for imported, _names, _line in _imports(name, path):
            target = _project(imported)
            # A module's own package __init__ is imported by Python anyway, not by choice.
            if target and target != name and not name.startswith(f"{target}."):
                edges[name].add(target)
    # Depth-first search for a back edge; the cycle found is reported whole.
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    assert cycles == []


def test_the_walk_sees_the_imports_it_checks():
    """The checks above are only as good as the import walk: it resolves relative
    imports and finds imports made inside functions."""
    imports = dict(
        (imported, names)
        for imported, names, _ in _imports("publications.apps", MODULES["publications.apps"])
    )
    assert "publications.tasks" in imports  # ``from . import tasks`` inside ready()
    assert "stats.extensions" in imports
