"""deploy/RUNBOOK.md against the files it installs: every repository path it names exists, its
shell blocks parse, and the paths and names it shares with the site, the units and the scripts
agree (a runbook that says one webroot while the site serves another breaks renewals)."""

from __future__ import annotations

import re
import subprocess

import pytest
from deploy_support import REPO

RUNBOOK = (REPO / "deploy" / "RUNBOOK.md").read_text()
SH_BLOCKS = re.findall(r"```sh\n(.*?)```", RUNBOOK, flags=re.S)


def test_every_repository_path_it_names_exists() -> None:
    named = set(re.findall(r"(?<![/\w.-])((?:deploy|nginx|terminal-image)/[\w./-]+\w)", RUNBOOK))
    assert "nginx/install.sh" in named and "deploy/mt5-gateway-backup.sh" in named
    missing = sorted(p for p in named if "*" not in p and not (REPO / p).exists())
    assert not missing, missing


@pytest.mark.parametrize("block", SH_BLOCKS, ids=lambda b: b.split("\n", 1)[0][:40])
def test_shell_blocks_parse(block: str) -> None:
    script = re.sub(r"<[^<>\n]+>", "PLACEHOLDER", block)  # <release tag>, <time>, ...
    result = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_certbot_uses_the_sites_acme_root_and_reloads_nginx() -> None:
    site = (REPO / "nginx" / "mt5-gateway-http.conf").read_text()
    (root,) = re.findall(r"root (\S+);", site)
    assert f"certbot certonly --webroot -w {root} -d api.example.com" in RUNBOOK
    assert '--deploy-hook "systemctl reload nginx"' in RUNBOOK
    assert "--standalone" not in RUNBOOK.split("older runbook", 1)[0]


def test_it_installs_what_the_units_and_scripts_need() -> None:
    apt = next(line for line in RUNBOOK.splitlines() if line.startswith("apt-get install -y git"))
    assert "sqlite3" in apt.split() and "certbot" in apt.split()
    assert "docker-compose-plugin" in RUNBOOK
    assert "systemctl enable --now mt5-gateway-backup.timer" in RUNBOOK
    for name in ("alerts.yml", "prometheus.yml"):
        assert f"deploy/monitoring/{name}" in RUNBOOK
    backup_unit = (REPO / "deploy" / "mt5-gateway-backup.service").read_text()
    assert "BACKUP_DIR=/var/lib/mt5-gateway-backups" in backup_unit
    assert "/var/lib/mt5-gateway-backups" in RUNBOOK


def test_terminal_health_and_logs_are_described_as_they_are() -> None:
    """The health probe reads terminal_info through the MT5 session only the gateway opens
    (the server never calls initialize by itself), so section 4's terminals stay unhealthy
    until section 6; and only the terminal server's log lines are JSON."""
    probe = (REPO / "terminal-image" / "healthcheck.py").read_text()
    service = (REPO / "terminal-image" / "terminal_server" / "service.py").read_text()
    assert '"call", "terminal_info"' in probe and "MT5 not attached" in probe
    assert 'env("HEALTH_REQUIRE_BROKER", "1")' in probe
    assert not re.search(r"\.initialize\(", service)  # no session of its own
    terminals = RUNBOOK.split("## 4. Terminals", 1)[1].split("\n## 5.", 1)[0]
    ps = next(line for line in terminals.splitlines() if line.startswith("docker compose ps"))
    assert "unhealthy" in ps and "section 6" in ps, ps
    assert "MT5 not attached" in terminals and "healthcheck.py --no-require-broker" in terminals
    gateway = RUNBOOK.split("## 6. The gateway service", 1)[1].split("\n## 7.", 1)[0]
    assert "docker compose ps)" in gateway and '"healthy" now' in gateway
    for line in RUNBOOK.splitlines():
        if "docker compose" in line and "logs" in line:
            assert "JSON lines" not in line, line
    # The scripts' own lines are plain text, as the runbook says.
    lib = (REPO / "terminal-image" / "mt5gw-lib.sh").read_text()
    assert "printf '[%s] %s\\n'" in lib and "`[init-mt5gw] ready`" in terminals
