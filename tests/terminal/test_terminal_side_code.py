"""The terminal-side code runs under Windows Python 3.12 (the Wine image) and Linux Python 3.11
(the simulator image) with only stdlib, rpyc, numpy and MetaTrader5: check its syntax against
the lowest of those interpreters, its imports, and (with vermin) its library use."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
IMAGE = REPO / "terminal-image"
ALLOWED_TOP_LEVEL = {"rpyc", "numpy", "MetaTrader5", "terminal_server"}
# The simulator may be imported only inside these functions (the sim backend) of backends.py.
SIMULATOR_IMPORT_SITES = {("backends.py", "sim_backend"), ("backends.py", "serve_classic_compat")}
SOURCES = sorted(IMAGE.rglob("*.py"))
# The lowest interpreter that runs terminal_server (the simulator image; Wine runs 3.12).
LOWEST = (3, 11)


def test_there_is_terminal_side_code() -> None:
    assert IMAGE / "terminal_server" / "service.py" in SOURCES


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(IMAGE)))
def test_parses_with_the_lowest_supported_grammar(path: Path) -> None:
    ast.parse(path.read_text(), filename=str(path), feature_version=LOWEST)


def _imports(tree: ast.AST) -> list[tuple[str, str | None]]:
    """(top-level module, enclosing function or None) for every import in ``tree``."""
    found: list[tuple[str, str | None]] = []

    def visit(node: ast.AST, function: str | None) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                visit(child, child.name)
                continue
            if isinstance(child, ast.Import):
                found.extend((alias.name.split(".")[0], function) for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                found.append((child.module.split(".")[0], function))
            visit(child, function)

    visit(tree, None)
    return found


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(IMAGE)))
def test_imports_only_stdlib_rpyc_numpy_metatrader5(path: Path) -> None:
    tree = ast.parse(path.read_text(), feature_version=LOWEST)
    for module, function in _imports(tree):
        if module == "simulator":
            assert (path.name, function) in SIMULATOR_IMPORT_SITES, (
                f"{path.name}: simulator imported outside the sim backend ({function})"
            )
            continue
        assert module in sys.stdlib_module_names or module in ALLOWED_TOP_LEVEL, (
            f"{path.name} imports {module}"
        )


def test_the_import_check_catches_offenders() -> None:
    tree = ast.parse("import simulator.world\ndef sim_backend():\n    import yaml\n")
    assert _imports(tree) == [("simulator", None), ("yaml", "sim_backend")]


def _vermin(*paths: Path) -> subprocess.CompletedProcess[str]:
    vermin = shutil.which("vermin", path=str(Path(sys.executable).parent))
    assert vermin, "vermin is a dev dependency"
    target = f"-t={LOWEST[0]}.{LOWEST[1]}-"
    args = [vermin, target, "--no-tips", "--violations", *map(str, paths)]
    return subprocess.run(args, capture_output=True, text=True)


def test_vermin_finds_nothing_newer_than_the_lowest_interpreter() -> None:
    result = _vermin(*SOURCES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_syntax_check_rejects_newer_grammar() -> None:
    with pytest.raises(SyntaxError):  # PEP 695 type parameters: Python 3.12
        ast.parse(
            "def first[T](items: list[T]) -> T:\n    return items[0]\n", feature_version=LOWEST
        )


def test_vermin_flags_newer_library_use(tmp_path: Path) -> None:
    newer = tmp_path / "newer.py"
    newer.write_text("from itertools import batched\nprint(list(batched([1, 2, 3], 2)))\n")
    assert _vermin(newer).returncode != 0
