"""The simulator package's shape: no import circle, no module past 450 lines.

Every import counts, wherever it is written: at the top, inside a function or under
``if TYPE_CHECKING``. A circle hidden behind TYPE_CHECKING is still a circle for a reader.
"""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "simulator"
MAX_LINES = 450


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The simulator modules ``path`` imports (``from simulator import x`` names module x)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in found if name in modules}


def import_graph() -> dict[str, set[str]]:
    paths = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    modules = set(paths)
    return {name: _imports(path, modules) - {name} for name, path in paths.items()}


def test_no_import_circle_in_the_simulator():
    graph = import_graph()
    assert "simulator.terminal" in graph and "simulator.controls" in graph
    try:
        tuple(TopologicalSorter(graph).static_order())
    except CycleError as error:
        pytest.fail(f"import circle: {' -> '.join(error.args[1])}")


def test_the_checker_sees_a_type_checking_circle(tmp_path):
    (tmp_path / "a.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                   "    from simulator.b import B\n")  # fmt: skip
    (tmp_path / "b.py").write_text("import simulator.a\n")
    modules = {"simulator.a", "simulator.b"}
    assert _imports(tmp_path / "a.py", modules) == {"simulator.b"}
    assert _imports(tmp_path / "b.py", modules) == {"simulator.a"}


def test_controls_do_not_know_the_terminal():
    assert "simulator.terminal" not in import_graph()["simulator.controls"]


def test_no_module_past_450_lines():
    long = {
        path.name: n
        for path in PACKAGE.rglob("*.py")
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}
