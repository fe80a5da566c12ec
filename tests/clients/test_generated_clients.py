"""The clients' generated code matches the live gateway: its /openapi.json equals the committed
clients/openapi.json, and regenerating the Python models (datamodel-codegen) and the TypeScript
types (openapi-typescript) from it gives the committed files byte for byte. When the API
changes, run ``.venv/bin/python clients/regenerate.py`` and commit the three files."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from client_support import REPO, LiveGateway
from node_support import TS, built, require

CLIENTS = REPO / "clients"
HINT = "the API changed: run `.venv/bin/python clients/regenerate.py` and commit the result"


def document_text(document: object) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"  # as regenerate.py


@pytest.fixture(scope="module")
def live_schema(gateway: LiveGateway, tmp_path_factory: pytest.TempPathFactory) -> Path:
    document = httpx.get(f"{gateway.url}/openapi.json", timeout=30).json()
    path = tmp_path_factory.mktemp("schema") / "openapi.json"
    path.write_text(document_text(document))
    return path


def test_committed_schema_is_the_live_one(live_schema: Path) -> None:
    assert live_schema.read_text() == (CLIENTS / "openapi.json").read_text(), HINT


def test_python_models_regenerate_identically(live_schema: Path) -> None:
    codegen = Path(sys.executable).with_name("datamodel-codegen")
    assert codegen.exists(), "datamodel-codegen (the dev extra) is not installed"
    # Inside clients/python (build/ is ignored by git), so ruff formats it with that config.
    out = CLIENTS / "python" / "build" / "drift-check" / "models.py"
    out.parent.mkdir(parents=True, exist_ok=True)
    run = subprocess.run(
        [str(codegen), "--input", str(live_schema), "--output", str(out)],
        cwd=CLIENTS / "python",  # its pyproject.toml holds the generator's options
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    committed = CLIENTS / "python" / "src" / "mt5gw_client" / "models.py"
    assert out.read_text() == committed.read_text(), HINT


@pytest.mark.needs_binary("node")
def test_typescript_types_regenerate_identically(live_schema: Path, tmp_path: Path) -> None:
    require("node")
    built()  # node_modules in place
    script = json.loads((TS / "package.json").read_text())["scripts"]["generate"]
    args = shlex.split(script)
    args[args.index("../openapi.json")] = str(live_schema)
    args[args.index("src/schema.ts")] = str(tmp_path / "schema.ts")
    args[0] = str(TS / "node_modules" / ".bin" / args[0])
    run = subprocess.run(args, cwd=TS, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert (tmp_path / "schema.ts").read_text() == (TS / "src" / "schema.ts").read_text(), HINT
