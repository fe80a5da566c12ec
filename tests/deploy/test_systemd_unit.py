"""deploy/mt5-gateway.service: real `systemd-analyze verify` and offline security scoring."""

from __future__ import annotations

import itertools
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from deploy_support import REPO

UNIT = REPO / "deploy" / "mt5-gateway.service"
UVICORN = "/opt/mt5-gateway/.venv/bin/uvicorn"


def directives(text: str) -> dict[str, list[str]]:
    """Unit file → {key: [values]} (continuation lines joined, comments dropped)."""
    out: dict[str, list[str]] = {}
    for line in text.replace("\\\n", " ").splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            out.setdefault(key.strip(), []).append(value.strip())
    return out


@pytest.fixture
def checkable_unit(tmp_path: Path) -> Path:
    """The unit with ExecStart pointing at this machine's uvicorn (verify resolves it)."""
    text = UNIT.read_text()
    assert UVICORN in text
    local = Path(sys.executable).with_name("uvicorn")
    assert local.exists()
    path = tmp_path / "mt5-gateway.service"
    path.write_text(text.replace(UVICORN, str(local)))
    return path


def test_unit_verifies_cleanly(systemd_analyze_bin: str, checkable_unit: Path) -> None:
    result = subprocess.run(
        [systemd_analyze_bin, "verify", str(checkable_unit)],
        capture_output=True,
        text=True,
        cwd=checkable_unit.parent,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == ""  # no warnings either


def test_only_the_install_path_differs_from_this_machine(
    systemd_analyze_bin: str, tmp_path: Path
) -> None:
    """The shipped file fails here only because /opt/mt5-gateway is not installed."""
    copy = tmp_path / UNIT.name
    copy.write_text(UNIT.read_text())
    result = subprocess.run(
        [systemd_analyze_bin, "verify", str(copy)], capture_output=True, text=True, cwd=tmp_path
    )
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and UVICORN in lines[0] and "not executable" in lines[0], lines


def test_sandbox_exposure_is_low(systemd_analyze_bin: str, checkable_unit: Path) -> None:
    # --threshold compares against the overall exposure x10: 20 means "2.0 or better".
    result = subprocess.run(
        [systemd_analyze_bin, "security", "--offline=yes", "--threshold=20", str(checkable_unit)],
        capture_output=True,
        text=True,
        cwd=checkable_unit.parent,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr


def test_uvicorn_runs_one_worker_on_loopback_trusting_only_nginx() -> None:
    d = directives(UNIT.read_text())
    argv = shlex.split(d["ExecStart"][0])
    assert argv[0] == UVICORN and argv[1:3] == ["--factory", "gateway.main:create_app"]
    opts = dict(itertools.pairwise(argv))
    assert opts["--host"] == "127.0.0.1" and opts["--port"] == "8000"
    assert opts["--workers"] == "1"
    assert "--proxy-headers" in argv and opts["--forwarded-allow-ips"] == "127.0.0.1"


def test_runs_unprivileged_with_env_file_and_state_dir() -> None:
    d = directives(UNIT.read_text())
    assert d["User"] == ["mt5gw"] and d["Group"] == ["mt5gw"]
    assert "SupplementaryGroups" not in d  # never the docker group: it is root-equivalent
    assert d["EnvironmentFile"] == ["/etc/mt5-gateway/gateway.env"]
    assert d["Restart"] == ["on-failure"]
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "PrivateTmp": "yes",
        "ProtectHome": "yes",
    }.items():
        assert d[key] == [value], key
    assert d["ReadWritePaths"] == ["/var/lib/mt5-gateway"]
    assert d["CapabilityBoundingSet"] == [""]
