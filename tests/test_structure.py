"""The house's shape: no import circles in ``gateway/`` or ``simulator/``, and no module past
450 lines unless it says in its first line that it is pure data or a table."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("gateway", "simulator")
MAX_LINES = 450
DATA_MARK = "pure data"  # a longer module's first line must say so, with the reason


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> dict[str, Path]:
    return {
        _module_name(p): p
        for package in PACKAGES
        for p in sorted((REPO / package).rglob("*.py"))
        if "migrations" not in p.parts
    }


def _imports(module: str, path: Path, known: set[str]) -> set[str]:
    """Modules of ours that ``module`` imports anywhere: a lazy import inside a function is a
    circle deferred, and one under ``TYPE_CHECKING`` is a circle of ideas; both count."""
    found: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]

    def resolve(name: str) -> None:
        while name and name not in known:
            name = name.rpartition(".")[0]
        if name and name != module:
            found.add(name)

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                for alias in child.names:
                    resolve(alias.name)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - child.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                for alias in child.names:
                    full = f"{base}.{alias.name}"
                    resolve(full if full in known else base)
            visit(child)

    visit(ast.parse(path.read_text(), filename=str(path)))
    return {m for m in found if m not in PACKAGES}  # empty package roots carry no code


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return found


def test_the_circle_finder_finds_circles() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circles() -> None:
    sources = _sources()
    known = set(sources)
    graph = {m: _imports(m, p, known) for m, p in sources.items()}
    assert graph["gateway.main"], "the import reader found nothing: it is broken"
    assert _cycles(graph) == []


@pytest.mark.parametrize("module", sorted(_sources()))
def test_module_size(module: str) -> None:
    path = _sources()[module]
    lines = path.read_text().splitlines()
    if len(lines) > MAX_LINES:
        assert lines and DATA_MARK in lines[0].lower(), (
            f"{path.relative_to(REPO)} has {len(lines)} lines (> {MAX_LINES}); split it, or "
            f"say on its first line that it is {DATA_MARK} and why"
        )
