"""deploy/mt5-gateway.service: real `systemd-analyze verify` and offline security scoring."""

from __future__ import annotations

import ipaddress
import itertools
import re
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from deploy_support import REPO, unit_directives

UNIT = REPO / "deploy" / "mt5-gateway.service"
UVICORN = "/opt/mt5-gateway/.venv/bin/uvicorn"


directives = unit_directives


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


def test_sandbox_exposure_is_at_most_1_5(
    systemd_analyze_bin: str,
    checkable_unit: Path,
    report_figure: Callable[[str, str], None],
    record_property: object,
) -> None:
    # --threshold compares against the overall exposure x10: 15 means "1.5 or better".
    result = subprocess.run(
        [systemd_analyze_bin, "security", "--offline=yes", "--threshold=15", str(checkable_unit)],
        capture_output=True,
        text=True,
        cwd=checkable_unit.parent,
    )
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert found, result.stdout[-2000:] + result.stderr
    # In the run's closing "figures" section (tests/conftest.py), with or without xdist.
    report_figure(
        "systemd-exposure-mt5-gateway",
        f"systemd-analyze security deploy/mt5-gateway.service: exposure {found[1]} (at most 1.5)",
    )
    record_property("systemd_exposure", found[1])  # type: ignore[operator]
    assert result.returncode == 0 and float(found[1]) <= 1.5, result.stdout[-2000:]


METADATA = [
    "169.254.169.254",
    "100.100.100.200",
    "fd00:ec2::254",
    "fd20:ce::254",
    "fd00:c1::a9fe:a9fe",
]
KEEP_REACHABLE = ["127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]


def test_link_local_and_cloud_metadata_are_denied_nothing_else_private() -> None:
    d = directives(UNIT.read_text())
    denied = [ipaddress.ip_network(n) for v in d["IPAddressDeny"] for n in v.split()]
    assert "IPAddressAllow" not in d  # an allow entry would win over these denies
    for net in ("169.254.0.0/16", "fe80::/10"):
        assert ipaddress.ip_network(net) in denied
    for address in map(ipaddress.ip_address, METADATA):
        assert any(address in net for net in denied), address
    for keep in map(ipaddress.ip_network, [*KEEP_REACHABLE, "fc00::/7"]):
        for net in denied:
            if net.version == keep.version and net.overlaps(keep):
                # only single metadata addresses inside private space (IPv6 ULA endpoints)
                assert net.num_addresses == 1 and str(net.network_address) in METADATA, net


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
    # not /opt/mt5-gateway, where compose's root-only .env would be read by the gateway
    assert d["WorkingDirectory"] == ["/var/lib/mt5-gateway"]
    assert d["CapabilityBoundingSet"] == [""]
