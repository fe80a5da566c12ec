"""terminal-image/init-mt5gw.sh (the container's start-up one-shot) and harden-base.sh (an
image build step) as plain processes on a temp tree laid out like the container."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from terminal_fakes import IMAGE, FakeWindows, fake_windows

RPYC_SECRET = "0123456789abcdef0123456789abcdef"
MT5_PASSWORD = "Pa55-word;with=odd chars%"
VNC_PASSWORD = "vnc-secret-passw0rd"


@pytest.fixture
def container(tmp_path: Path) -> FakeWindows:
    fake = fake_windows(tmp_path)
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "terminal_secret").write_text(RPYC_SECRET + "\n")
    fake.env.update(
        MT5GW_SECRETS=str(secrets),
        MT5GW_PREFIX_TEMPLATE=str(tmp_path / "template"),
        MT5GW_AUTOSTART=str(tmp_path / "config" / "autostart"),
        PASSWORD=VNC_PASSWORD,
    )
    return fake


def secrets_dir(fake: FakeWindows) -> Path:
    return Path(fake.env["MT5GW_SECRETS"])


def with_mt5_account(fake: FakeWindows) -> None:
    for name, value in (
        ("mt5_login", "5012345"),
        ("mt5_password", MT5_PASSWORD),
        ("mt5_server", "MetaQuotes-Demo"),
    ):
        (secrets_dir(fake) / name).write_text(value + "\n")


def read_ini(path: Path) -> str:
    raw = path.read_bytes()
    assert raw[:2] == b"\xff\xfe", "UTF-16LE with a byte-order mark"
    return raw[2:].decode("utf-16-le")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_writes_the_startup_configuration_privately(container: FakeWindows) -> None:
    with_mt5_account(container)
    result = container.run("init-mt5gw.sh")
    assert result.returncode == 0, result.stderr
    ini = container.run_dir / "startup.ini"
    assert mode(ini) == 0o600 and mode(container.run_dir) == 0o700
    lines = read_ini(ini).split("\r\n")
    common, experts = lines.index("[Common]"), lines.index("[Experts]")
    assert {
        "Login=5012345",
        f"Password={MT5_PASSWORD}",
        "Server=MetaQuotes-Demo",
        "ProxyEnable=0",
        "KeepPrivate=1",
    } <= set(lines[common:experts])
    # Algo trading on, and kept on when the gateway switches accounts.
    assert {"Enabled=1", "AllowLiveTrading=1", "Account=0"} <= set(lines[experts:])
    secret = container.run_dir / "terminal_secret"
    assert mode(secret) == 0o600 and secret.read_text().strip() == RPYC_SECRET


def test_never_prints_the_passwords(container: FakeWindows) -> None:
    with_mt5_account(container)
    result = container.run("init-mt5gw.sh")
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    files = [p for p in container.logs.rglob("*") if p.is_file()]
    logged = "".join(p.read_text(errors="replace") for p in files)
    for secret in (MT5_PASSWORD, RPYC_SECRET, VNC_PASSWORD, "5012345"):
        assert secret not in output and secret not in logged
    assert "MetaQuotes-Demo" in output  # it does say what it configured


def test_algo_trading_can_be_left_off(container: FakeWindows) -> None:
    with_mt5_account(container)
    result = container.run("init-mt5gw.sh", MT5_ALGO_TRADING="0")
    assert result.returncode == 0, result.stderr
    lines = read_ini(container.run_dir / "startup.ini").split("\r\n")
    assert "Enabled=0" in lines and "AllowLiveTrading=0" in lines


def test_without_an_account_the_terminal_waits_for_a_vnc_login(container: FakeWindows) -> None:
    result = container.run("init-mt5gw.sh")
    assert result.returncode == 0, result.stderr
    assert not (container.run_dir / "startup.ini").exists()
    assert "log in once over VNC" in result.stderr


def test_an_incomplete_account_is_ignored(container: FakeWindows) -> None:
    (secrets_dir(container) / "mt5_login").write_text("5012345")
    (secrets_dir(container) / "mt5_server").write_text("MetaQuotes-Demo")
    result = container.run("init-mt5gw.sh")
    assert result.returncode == 0, result.stderr
    assert not (container.run_dir / "startup.ini").exists()
    assert "must all be set" in result.stderr


def test_refuses_to_start_without_a_vnc_password(container: FakeWindows) -> None:
    result = container.run("init-mt5gw.sh", PASSWORD="")
    assert result.returncode == 66
    assert "no KasmVNC password" in result.stderr


def test_refuses_to_start_without_its_rpyc_secret(container: FakeWindows) -> None:
    (secrets_dir(container) / "terminal_secret").unlink()
    result = container.run("init-mt5gw.sh")
    assert result.returncode == 66 and "no RPyC secret" in result.stderr


def test_refuses_a_short_rpyc_secret(container: FakeWindows) -> None:
    (secrets_dir(container) / "terminal_secret").write_text("short\n")
    result = container.run("init-mt5gw.sh")
    assert result.returncode == 65 and "shorter than 16" in result.stderr


def test_mutual_tls_files_are_handed_to_the_server(container: FakeWindows, tmp_path: Path) -> None:
    for name in ("cert.pem", "key.pem", "ca.pem"):
        (tmp_path / name).write_text(f"-----{name}-----\n")
    result = container.run(
        "init-mt5gw.sh",
        TERMINAL_TLS_CERT=str(tmp_path / "cert.pem"),
        TERMINAL_TLS_KEY=str(tmp_path / "key.pem"),
        TERMINAL_TLS_CA=str(tmp_path / "ca.pem"),
    )
    assert result.returncode == 0, result.stderr
    for name in ("tls.crt", "tls.key", "tls.ca"):
        assert mode(container.run_dir / name) == 0o600
    missing = container.run("init-mt5gw.sh", TERMINAL_TLS_CERT=str(tmp_path / "cert.pem"))
    assert missing.returncode == 66 and "TERMINAL_TLS_KEY" in missing.stderr


def test_seeds_the_wine_prefix_on_first_start_only(container: FakeWindows, tmp_path: Path) -> None:
    template = tmp_path / "template"
    (template / "drive_c").mkdir(parents=True)
    (template / "system.reg").write_text("template")
    assert container.run("init-mt5gw.sh").returncode == 0
    assert (container.prefix / "system.reg").read_text() == "template"
    (container.prefix / "system.reg").write_text("used")
    assert container.run("init-mt5gw.sh").returncode == 0
    assert (container.prefix / "system.reg").read_text() == "used"


def test_retires_the_old_autostart_entry(container: FakeWindows) -> None:
    autostart = Path(container.env["MT5GW_AUTOSTART"])
    autostart.write_text("xset s off\n/opt/mt5gw/start-terminal.sh\n")
    assert container.run("init-mt5gw.sh").returncode == 0
    assert autostart.read_text() == "xset s off\n"


# --- harden-base.sh ---------------------------------------------------------------------------

# The lines of the KasmVNC base image (debianbookworm) that harden-base.sh edits.
BASE_FILES = {
    "etc/s6-overlay/s6-rc.d/svc-kasmvnc/run": (
        "#!/usr/bin/with-contenv bash\nexec s6-setuidgid abc /usr/local/bin/Xvnc $DISPLAY \\\n"
        "    -SecurityTypes None \\\n    -websocketPort 6901 \\\n    -interface 0.0.0.0 \\\n"
        "    -Log *:stdout:10\n"
    ),
    "kclient/index.js": "// Spin up application on 6900\napp.use(SUBFOLDER, baseRouter);\n"
    "http.listen(6900);\n",
    "defaults/default.conf": (
        "server {\n  listen 3000 default_server;\n  listen [::]:3000 default_server;\n}\n"
        "server {\n  listen 3001 ssl;\n  listen [::]:3001 ssl;\n}\n"
    ),
    "defaults/autostart": "xterm\n",
}


def base_tree(root: Path) -> Path:
    for name, text in BASE_FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_harden_base_keeps_vnc_internals_on_loopback(tmp_path: Path) -> None:
    import subprocess

    root = base_tree(tmp_path / "root")
    result = subprocess.run(
        ["bash", str(IMAGE / "harden-base.sh"), str(root)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    xvnc = (root / "etc/s6-overlay/s6-rc.d/svc-kasmvnc/run").read_text()
    assert "-interface 127.0.0.1" in xvnc and "0.0.0.0" not in xvnc
    assert 'http.listen(6900, "127.0.0.1")' in (root / "kclient/index.js").read_text()
    nginx = (root / "defaults/default.conf").read_text()
    assert "listen 127.0.0.1:3001 ssl;" in nginx and "[::]:3001" not in nginx
    assert "listen 3000 default_server;" in nginx  # the one way in stays
    assert (root / "defaults/autostart").read_text() == ""


@pytest.mark.parametrize("changed", sorted(set(BASE_FILES) - {"defaults/autostart"}))
def test_harden_base_fails_the_build_when_the_base_image_changed(
    tmp_path: Path, changed: str
) -> None:
    import subprocess

    root = base_tree(tmp_path / "root")
    (root / changed).write_text("# something else\n")
    result = subprocess.run(
        ["bash", str(IMAGE / "harden-base.sh"), str(root)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1 and "review this script" in result.stderr
