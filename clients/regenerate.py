"""Regenerate the clients' schema from the gateway: ``.venv/bin/python clients/regenerate.py``.

Writes ``clients/openapi.json`` (the gateway's /openapi.json), then the Python models
(datamodel-codegen, options in clients/python/pyproject.toml) and the TypeScript types
(openapi-typescript, ``npm run generate`` in clients/typescript). Commit all three;
tests/clients/test_generated_clients.py fails when they drift from a live gateway.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def document_text(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def live_document() -> dict[str, Any]:
    """The document of the app as ``create_app`` builds it."""
    from gateway.config import Settings
    from gateway.main import create_app

    return create_app(Settings(_env_file=None)).openapi()  # type: ignore[call-arg]


def main() -> None:
    (HERE / "openapi.json").write_text(document_text(live_document()))
    codegen = Path(sys.executable).with_name("datamodel-codegen")
    subprocess.run([str(codegen), "--input", "../openapi.json"], cwd=HERE / "python", check=True)
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("npm not found: the TypeScript types were not regenerated")
    subprocess.run([npm, "run", "--silent", "generate"], cwd=HERE / "typescript", check=True)


if __name__ == "__main__":
    main()
