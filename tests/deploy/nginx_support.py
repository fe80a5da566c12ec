"""The shipped nginx site as users install it, run by the real distro nginx on loopback.

A copy of the distribution's own /etc/nginx (its nginx.conf, mime.types, snippets, the stock
"default" site) is made in a temporary directory, with its absolute paths moved there.  Our
site goes in with nginx/install.sh, as the runbook installs it.  Then only the listen
addresses and the upstream port change (each change checked to have matched), so the file that
ships is the file that runs, inside the http block of the distro's nginx.conf."""

from __future__ import annotations

import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from deploy_support import REPO, free_port, wait_for_port
from websockets.sync.client import ClientConnection
from websockets.sync.client import connect as ws_connect

NGINX_DIR = REPO / "nginx"
DISTRO_ETC = Path("/etc/nginx")
DOMAIN = "localhost"  # the site's server_name in tests (the test certificate's name)
SITES = ("mt5-gateway-http.conf", "mt5-gateway.conf")


@dataclass
class Site:
    http_port: int
    https_port: int
    webroot: Path
    cert: Path
    etc: Path  # the copy of /etc/nginx

    def tls_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert))

    def websocket(self, path: str) -> ClientConnection:
        """A WebSocket to wss://localhost:PORT/path over a socket to 127.0.0.1 itself: resolving
        "localhost" may try ::1 first, where another process of the test run can listen on the
        same port number (nginx listens on 127.0.0.1 only)."""
        raw = socket.create_connection(("127.0.0.1", self.https_port), timeout=10)
        return ws_connect(
            f"wss://{DOMAIN}:{self.https_port}{path}",
            sock=raw,
            ssl=self.tls_context(),
            server_hostname=DOMAIN,
            open_timeout=10,
        )

    def client(self, source: str = "127.0.0.1") -> httpx.Client:
        """HTTPS client for https://localhost:PORT whose TCP source address is `source`
        (any 127.x address is local, so nginx sees a distinct $remote_addr per test)."""
        transport = httpx.HTTPTransport(verify=self.tls_context(), local_address=source)
        return httpx.Client(
            transport=transport, base_url=f"https://localhost:{self.https_port}", timeout=30
        )


def swap(
    text: str, old: str, new: str | Callable[[re.Match[str]], str], *, regex: bool = False
) -> str:
    result, count = re.subn(old if regex else re.escape(old), new, text)
    assert count, f"render: {old!r} not found (did the file change?)"
    return result


def make_cert(openssl: str, directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for `DOMAIN`, named as Let's Encrypt names its files."""
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / "fullchain.pem", directory / "privkey.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", f"/CN={DOMAIN}", "-addext", f"subjectAltName=DNS:{DOMAIN}",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def copy_distro_etc(root: Path) -> Path:
    """/etc/nginx copied to root/etc, its absolute paths (config, pid, logs) moved under root.

    The compiled-in temp paths (/var/lib/nginx) are moved by a conf.d file, which the distro's
    nginx.conf includes at http level, so nginx.conf itself changes only by those paths."""
    etc = root / "etc"
    shutil.copytree(DISTRO_ETC, etc, symlinks=True)
    for link in etc.rglob("*"):  # e.g. sites-enabled/default -> /etc/nginx/sites-available/...
        if link.is_symlink() and str(target := Path(os.readlink(link))).startswith("/etc/nginx/"):
            link.unlink()
            link.symlink_to(etc / target.relative_to(DISTRO_ETC))
    (root / "log").mkdir()
    moves = {"/etc/nginx/": f"{etc}/", "/run/nginx.pid": f"{root}/nginx.pid",
             "/var/log/nginx/": f"{root}/log/"}  # fmt: skip
    main = (etc / "nginx.conf").read_text()
    for old, new in moves.items():
        main = swap(main, old, new)
    (etc / "nginx.conf").write_text(main)
    for path in etc.rglob("*"):
        if path.is_file() and not path.is_symlink() and path.name != "nginx.conf":
            text = path.read_text(errors="surrogateescape")
            for old, new in moves.items():
                text = text.replace(old, new)
            path.write_text(text, errors="surrogateescape")
    temp = root / "tmp"
    temp.mkdir()
    (etc / "conf.d" / "test-temp-paths.conf").write_text(
        "".join(f"{kind}_temp_path {temp}/{kind};\n" for kind in
                ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    )  # fmt: skip
    return etc


def install_site(root: Path, etc: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """nginx/install.sh [args] DOMAIN against the copy, as the runbook runs it."""
    env = {**os.environ, "NGINX_ETC": str(etc), "ACME_ROOT": str(root / "webroot"),
           "LETSENCRYPT_LIVE": str(root / "live")}  # fmt: skip
    return subprocess.run(
        ["bash", str(NGINX_DIR / "install.sh"), *args, DOMAIN],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip


def bind_to_loopback(etc: Path, http_port: int, https_port: int, upstream_port: int) -> None:
    """The installed site's listen lines and upstream moved to loopback test ports."""
    for name in SITES:
        path = etc / "sites-available" / name
        if not path.exists():
            continue
        text = swap(path.read_text(), r"\n\s*listen \[::\]:\d+[^;]*;", "", regex=True)
        text = swap(text, r"listen (80|443)\b",
                    lambda m: f"listen 127.0.0.1:{http_port if m[1] == '80' else https_port}",
                    regex=True)  # fmt: skip
        if name == "mt5-gateway.conf":
            text = swap(text, "server 127.0.0.1:8000;", f"server 127.0.0.1:{upstream_port};")
        path.write_text(text)


def nginx_test(nginx: str, etc: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [nginx, "-t", "-c", str(etc / "nginx.conf")], capture_output=True, text=True, check=False
    )


def warnings_of(result: subprocess.CompletedProcess[str]) -> list[str]:
    """[warn]/[emerg] lines of `nginx -t`, except the one a non-root run must get (`user`)."""
    return [
        line
        for line in result.stderr.splitlines()
        if re.search(r"\[(warn|emerg|alert|crit)\]", line)
        and not (os.geteuid() != 0 and '"user" directive makes sense only' in line)
    ]


@contextmanager
def distro_root() -> Iterator[Path]:
    """A world-traversable temp dir: the distro's workers run as www-data and read the webroot."""
    root = Path(tempfile.mkdtemp(prefix="mt5gw-nginx-"))
    root.chmod(0o755)
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def running_site(nginx: str, openssl: str, upstream_port: int) -> Iterator[Site]:
    """The full site (both files) installed into a distro copy and served on loopback."""
    with distro_root() as root:
        etc = copy_distro_etc(root)
        cert, _ = make_cert(openssl, root / "live" / DOMAIN)
        installed = install_site(root, etc)
        assert installed.returncode == 0, installed.stderr
        http_port, https_port = free_port(), free_port()
        bind_to_loopback(etc, http_port, https_port, upstream_port)
        checked = nginx_test(nginx, etc)
        assert checked.returncode == 0 and not warnings_of(checked), checked.stderr
        conf = str(etc / "nginx.conf")
        subprocess.run([nginx, "-c", conf], check=True)
        try:
            wait_for_port(https_port)
            wait_for_port(http_port)
            yield Site(http_port, https_port, root / "webroot", cert, etc)
        finally:
            subprocess.run([nginx, "-c", conf, "-s", "stop"], check=False, capture_output=True)
            pid_file = root / "nginx.pid"
            for _ in range(200):  # bounded wait for the master to exit (it removes its pid)
                if not pid_file.exists():
                    break
                time.sleep(0.05)
