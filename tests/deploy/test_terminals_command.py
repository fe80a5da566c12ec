"""deploy/terminals.sh: one command for N terminals (and the simulator's ports), checked through
the real Docker Compose binary on the files it generates."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
from deploy_support import REPO
from test_compose_and_images import compose_binary

COMMAND = REPO / "deploy" / "terminals.sh"


@pytest.fixture
def site(tmp_path: Path) -> Path:
    shutil.copy(REPO / "docker-compose.yml", tmp_path / "docker-compose.yml")
    return tmp_path


def terminals(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(COMMAND), *args, "--dir", str(site)],
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if not k.startswith(("MT5_", "SIM_"))},
    )


def model(site: Path, *profiles: str) -> dict[str, Any]:
    """The resolved compose model as plain `docker compose` sees it in `site` (.env included)."""
    flags = [arg for p in profiles for arg in ("--profile", p)]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MT5_", "SIM_", "COMPOSE_"))}
    result = subprocess.run(
        [str(compose_binary()), *flags, "config", "--format", "json"],
        capture_output=True,
        text=True,
        cwd=site,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    model: dict[str, Any] = json.loads(result.stdout)
    return model


def test_three_terminals_with_their_own_ports_volumes_and_secrets(site: Path) -> None:
    result = terminals(site, "3")
    assert result.returncode == 0, result.stderr
    assert "TERMINALS=mt5-1=127.0.0.1:8001,mt5-2=127.0.0.1:8002,mt5-3=127.0.0.1:8003" in (
        result.stdout.splitlines()
    )
    services = model(site)["services"]
    assert set(services) == {"terminal", "terminal-2", "terminal-3"}
    seen_ports: set[str] = set()
    for n, name in enumerate(("terminal", "terminal-2", "terminal-3"), start=1):
        service = services[name]
        ports = {p["target"]: (p["host_ip"], p["published"]) for p in service["ports"]}
        assert ports == {
            3000: ("127.0.0.1", str(3000 + 10 * (n - 1))),
            8001: ("127.0.0.1", str(8000 + n)),
        }
        seen_ports |= {p for _, p in ports.values()}
        assert [v["source"] for v in service["volumes"]] == [str(site / f"data/terminal-{n}")]
        assert {s["target"]: s["source"] for s in service["secrets"]}["terminal_secret"] == (
            f"terminal_{n}_rpyc_secret"
        )
        # Everything else comes from the one definition in docker-compose.yml.
        assert service["mem_limit"] == services["terminal"]["mem_limit"]
        assert service["logging"] == services["terminal"]["logging"]
        assert "no-new-privileges:true" in service["security_opt"]
    assert len(seen_ports) == 6


def test_secrets_are_private_random_and_kept(site: Path) -> None:
    assert terminals(site, "2").returncode == 0
    secrets = {n: (site / f"secrets/terminal-{n}/rpyc_secret").read_text() for n in (1, 2)}
    assert secrets[1] != secrets[2] and all(len(s) == 64 for s in secrets.values())
    for path in (site / "secrets").rglob("*"):
        expected = 0o700 if path.is_dir() else 0o600
        assert stat.S_IMODE(path.stat().st_mode) == expected, path
    (site / "secrets/terminal-2/mt5_login").write_text("5012345")
    again = terminals(site, "2")
    assert again.returncode == 0 and "created" not in again.stdout
    assert (site / "secrets/terminal-2/rpyc_secret").read_text() == secrets[2]
    assert (site / "secrets/terminal-2/mt5_login").read_text() == "5012345"


def test_the_old_shared_secret_becomes_terminal_1s(site: Path) -> None:
    (site / "secrets").mkdir()
    (site / "secrets/terminal_secret").write_text("a" * 64)
    assert terminals(site, "1").returncode == 0
    assert (site / "secrets/terminal-1/rpyc_secret").read_text() == "a" * 64


def test_sim_ports_follow_the_number_of_simulated_terminals(site: Path) -> None:
    result = terminals(site, "1", "--sim", "4")
    assert result.returncode == 0, result.stderr
    sim = model(site, "sim")["services"]["sim"]
    assert sim["environment"]["SIM_TERMINALS"] == "4"
    assert [(p["host_ip"], p["published"], p["target"]) for p in sim["ports"]] == [
        ("127.0.0.1", str(8100 + n), 8000 + n) for n in range(1, 5)
    ]
    assert "TERMINALS=sim-1=127.0.0.1:8101" in result.stdout


def test_one_terminal_needs_no_override_services(site: Path) -> None:
    assert terminals(site, "1").returncode == 0
    assert set(model(site)["services"]) == {"terminal"}
    assert "COMPOSE_FILE=docker-compose.yml:docker-compose.terminals.yml" in (
        (site / ".env").read_text()
    )


@pytest.mark.parametrize("args", [(), ("0",), ("x",), ("2", "--sim", "17"), ("2", "--bogus")])
def test_bad_arguments_are_refused(site: Path, args: tuple[str, ...]) -> None:
    result = terminals(site, *args)
    assert result.returncode == 64
    assert not (site / "docker-compose.terminals.yml").exists()


def test_ten_or_more_simulated_terminals_go_through_the_command(site: Path) -> None:
    """docker-compose.yml follows SIM_TERMINALS alone up to 9 (its range ends are N appended to
    810/800); terminals.sh --sim's override publishes any count it accepts."""
    assert terminals(site, "1", "--sim", "12").returncode == 0
    sim = model(site, "sim")["services"]["sim"]
    assert sim["environment"]["SIM_TERMINALS"] == "12"
    assert [p["published"] for p in sim["ports"]] == [str(8100 + n) for n in range(1, 13)]
